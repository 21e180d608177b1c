/**
 * What a request would stop right now, worked out with read-only List calls and the stack's own policy
 * code: the allow-list (`policy/allow-list.ts`), the globs (`policy/glob.ts`), the run guard
 * (`stop/run-guard.ts`), and for cost guards and maintenance windows the very functions that turn an alarm
 * or a schedule into a scope request (`policy/cost-guard.ts`, `policy/schedule-payload.ts`). It takes a
 * `RunLister` only: a plan has no way to stop anything.
 */
import * as z from 'zod/mini';
import { checkAllowed } from '../policy/allow-list.ts';
import { decideOnAlarm } from '../policy/cost-guard.ts';
import { isGlob, matchesGlob } from '../policy/glob.ts';
import {
  SCHEDULER_CONTEXT,
  schedulePayloadSchema,
  schedulePayloadTemplate,
  scopeRequestForWindow,
} from '../policy/schedule-payload.ts';
import type { StackConfig } from '../policy/stack-config.ts';
import type { StopRequest } from '../request/contract.ts';
import type { ActiveRun, RunLister } from '../stop/ports.ts';
import { checkRunGuard, currentRun } from '../stop/run-guard.ts';
import { CliFailure } from './errors.ts';

/** A refresh the request would stop (or, in a dry run, report as the one it would have stopped). */
export interface PlannedStop {
  readonly view: string;
  readonly catalogId: string;
  readonly runId: string;
  readonly status: ActiveRun['status'];
  readonly startedAt?: string;
  readonly runningForMs?: number;
}

/** A running refresh the request names but would not stop, and why. */
export interface LeftAlone extends Omit<PlannedStop, 'runId' | 'status'> {
  readonly runId?: string;
  readonly status?: ActiveRun['status'];
  readonly why: 'not-allowed' | 'run-guard' | 'not-current-run';
  readonly detail: string;
}

export interface Plan {
  /** What was planned: `request`, `cost guard <alarm>`, `maintenance window <name>`. */
  readonly origin: string;
  /** The request the stack would act on. */
  readonly request: StopRequest;
  readonly catalogId: string;
  /** Set when nothing would be sent to Glue even for the views below: the outcome would be `dry-run`. */
  readonly dryRun?: string;
  /** Set when the stack would refuse the request as a whole (`not-allowed`), before any Glue call. */
  readonly refused?: { readonly reason: string; readonly detail: string };
  readonly stops: readonly PlannedStop[];
  readonly leftAlone: readonly LeftAlone[];
  /** Running refreshes of the database outside the request's views: not counted above. */
  readonly outsideScope: number;
  readonly notes: readonly string[];
}

export interface PlanContext {
  readonly config: StackConfig;
  /** The stack's own account: the default catalog, and the one allow rules without catalogId cover. */
  readonly accountId: string;
  readonly runs: RunLister;
  readonly now: Date;
}

const runFields = (run: ActiveRun, now: Date) => ({
  view: `${run.target.DatabaseName}.${run.target.TableName}`,
  catalogId: run.target.CatalogId,
  runId: run.runId,
  status: run.status,
  ...(run.startedAt !== undefined
    ? { startedAt: run.startedAt, runningForMs: Math.max(0, now.getTime() - Date.parse(run.startedAt)) }
    : {}),
});

const byView = (a: { view: string }, b: { view: string }) => a.view.localeCompare(b.view);

const dryRunOf = (request: StopRequest, config: StackConfig, origin: string): string | undefined => {
  if (config.dryRun) return 'the stage is in dry-run (dryRun: true in its configuration)';
  if (request.DryRun)
    return origin === 'request' ? 'the request asks for a dry run' : `the ${origin} is a dry run`;
  return undefined;
};

/** Plans one checked request. */
export const planRequest = async (
  request: StopRequest,
  origin: string,
  context: PlanContext,
): Promise<Plan> => {
  const { config, accountId, now } = context;
  const catalogId = request.CatalogId ?? accountId;
  const database = { CatalogId: catalogId, DatabaseName: request.DatabaseName };
  const notes: string[] = [];
  const dryRun = dryRunOf(request, config, origin);
  const names = request.TableNames ?? [request.TableName];
  const single = names.length === 1 && !isGlob(names[0] ?? '*') ? names[0] : undefined;
  const listed = await context.runs.activeRuns({
    ...database,
    ...(single !== undefined ? { TableName: single } : {}),
  });
  const inDatabase = listed.filter((run) => run.target.DatabaseName === request.DatabaseName);
  const named = inDatabase.filter((run) =>
    names.some((pattern) => matchesGlob(pattern, run.target.TableName)),
  );

  // The request as a whole, before any Glue call: as the functions check it.
  const scopeVerdict = checkAllowed(config.allow, accountId, {
    ...database,
    ...(request.TableName !== undefined ? { TableName: request.TableName } : {}),
  });
  let refused: Plan['refused'];
  if (scopeVerdict.kind === 'not-allowed') {
    refused = { reason: scopeVerdict.reason, detail: scopeVerdict.detail };
  } else if (request.TableNames !== undefined && !request.TableNames.some(isGlob)) {
    const anyAllowed = request.TableNames.some(
      (TableName) => checkAllowed(config.allow, accountId, { ...database, TableName }).kind === 'allowed',
    );
    if (!anyAllowed) {
      refused = {
        reason: 'table-not-allowed',
        detail: `no view of the scope is in the allow-list: ${request.TableNames.map((t) => `${request.DatabaseName}.${t}`).join(', ')}`,
      };
    }
  }

  const stops: PlannedStop[] = [];
  const leftAlone: LeftAlone[] = [];
  const views = new Map<string, ActiveRun[]>();
  for (const run of named) views.set(run.target.TableName, [...(views.get(run.target.TableName) ?? []), run]);
  for (const [TableName, runs] of views) {
    const current = currentRun(runs);
    for (const run of runs) {
      if (run === current) continue;
      leftAlone.push({
        ...runFields(run, now),
        why: 'not-current-run',
        detail: `not the view's current run (${current?.runId}): a stop names the view, not a run`,
      });
    }
    if (!current) continue;
    if (refused) {
      leftAlone.push({ ...runFields(current, now), why: 'not-allowed', detail: refused.detail });
      continue;
    }
    const allowed = checkAllowed(config.allow, accountId, { ...database, TableName });
    if (allowed.kind === 'not-allowed') {
      leftAlone.push({ ...runFields(current, now), why: 'not-allowed', detail: allowed.detail });
      continue;
    }
    // A scope guards every view by the time it was issued (for the CLI: now) and by the run it saw.
    const guard =
      request.TableName !== undefined
        ? {
            ...(request.RunId !== undefined ? { runId: request.RunId } : {}),
            ...(request.IssuedAt !== undefined ? { issuedAt: request.IssuedAt } : {}),
          }
        : { issuedAt: request.IssuedAt ?? now.toISOString() };
    const verdict = checkRunGuard(guard, [current]);
    if (verdict.kind === 'skip') {
      leftAlone.push({ ...runFields(current, now), why: 'run-guard', detail: verdict.detail });
      continue;
    }
    stops.push(runFields(current, now));
  }
  if (request.TableName !== undefined && views.size === 0) {
    notes.push(
      `no refresh of ${request.DatabaseName}.${request.TableName} is running: the outcome would be not-running`,
    );
  }
  if (isGlob(request.DatabaseName)) {
    notes.push(
      `the database "${request.DatabaseName}" is a pattern: Glue is asked for it by that name, as the stack would`,
    );
  }
  return {
    origin,
    request,
    catalogId,
    ...(dryRun !== undefined ? { dryRun } : {}),
    ...(refused !== undefined ? { refused } : {}),
    stops: stops.sort(byView),
    leftAlone: leftAlone.sort(byView),
    outsideScope: inDatabase.length - named.length,
    notes,
  };
};

/**
 * The scope request the cost guard of `alarmName` makes when its alarm goes into ALARM now: an
 * OK → ALARM state change run through `decideOnAlarm`, as `stopFromAlarm` does.
 */
export const costGuardRequest = (config: StackConfig, alarmName: string, now: Date): StopRequest => {
  const time = now.toISOString();
  const decision = decideOnAlarm(
    {
      id: `plan-${time}`,
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      time,
      detail: {
        alarmName,
        state: { value: 'ALARM', reason: 'planned with glue-mv-stop plan', timestamp: time },
        previousState: { value: 'OK' },
      },
    },
    config.costGuards,
  );
  if (decision.kind !== 'stop') {
    const known = config.costGuards.map((g) => g.alarmName);
    throw new CliFailure(
      `--alarm ${alarmName}: no cost guard of the stage watches this alarm (${known.length > 0 ? `it has: ${known.join(', ')}` : 'it has none'})`,
    );
  }
  return decision.request;
};

/** The scope request the maintenance window `name` makes when its schedule fires now. */
export const maintenanceWindowRequest = (config: StackConfig, name: string, now: Date): StopRequest => {
  const window = config.maintenanceWindows.find((w) => w.name === name);
  if (!window) {
    const known = config.maintenanceWindows.map((w) => w.name);
    throw new CliFailure(
      `--window ${name}: the stage has no such maintenance window (${known.length > 0 ? `it has: ${known.join(', ')}` : 'it has none'})`,
    );
  }
  // The schedule's Input as the deployment writes it, with Scheduler's placeholders filled in for now.
  const fill: Readonly<Record<string, string>> = {
    [SCHEDULER_CONTEXT.scheduledTime]: now.toISOString(),
    [SCHEDULER_CONTEXT.executionId]: 'glue-mv-stop-plan',
    [SCHEDULER_CONTEXT.scheduleArn]: `schedule/${window.name}`,
    [SCHEDULER_CONTEXT.attemptNumber]: '1',
  };
  const payload = JSON.parse(schedulePayloadTemplate(window), (_key, value: unknown) =>
    typeof value === 'string' ? (fill[value] ?? value) : value,
  );
  return scopeRequestForWindow(z.parse(schedulePayloadSchema, payload));
};
