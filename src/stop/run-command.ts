/**
 * The idempotent unit of work, for both kinds of command: stop one view (with run guard and dry-run), or
 * expand a scope into exact stop requests on the stop queue. This is what the idempotency layer wraps:
 * it returns plain JSON and never mutates its input.
 */
import { createHash } from 'node:crypto';
import { checkAllowed } from '../policy/allow-list.ts';
import { contractText } from '../policy/contract-text.ts';
import { matchesGlob } from '../policy/glob.ts';
import type { AllowRule } from '../policy/stack-config.ts';
import { PARENT_KEY_MAX_LENGTH, type TableStopRequest } from '../request/contract.ts';
import { classifyGlueFailure } from './classify.ts';
import { GlueCallError, StopError } from './errors.ts';
import type { RecordedStop } from './outcome.ts';
import type {
  ActiveRun,
  RefreshStopper,
  RunLister,
  ScopeStopCommand,
  StopCommand,
  StopRequestQueue,
  TableStopCommand,
} from './ports.ts';
import { checkRunGuard, currentRun } from './run-guard.ts';

export interface CommandDependencies {
  readonly stopper: RefreshStopper;
  readonly runs: RunLister;
  readonly queue: StopRequestQueue;
  readonly allow: readonly AllowRule[];
  readonly now?: () => Date;
}

/** Turns a failed Glue call that has no terminal meaning into the `StopError` its classification says. */
const failureOf = (error: unknown): StopError => {
  if (error instanceof StopError) return error;
  if (!(error instanceof GlueCallError)) {
    return StopError.retry('unexpected-error', `Glue call failed unexpectedly: ${String(error)}`, {
      cause: error,
    });
  }
  const verdict = classifyGlueFailure(error.failure);
  // A terminal answer to a List call (no such code is listed for it) is not a result: retry.
  const failure =
    verdict.kind === 'terminal' ? ({ kind: 'retry', reason: 'glue-unexpected-error' } as const) : verdict;
  return new StopError(failure, error.message, { cause: error });
};

const listActive = async (
  runs: RunLister,
  query: Parameters<RunLister['activeRuns']>[0],
): Promise<readonly ActiveRun[]> => {
  try {
    return await runs.activeRuns(query);
  } catch (error) {
    throw failureOf(error);
  }
};

const runFields = (run: ActiveRun | undefined) =>
  run ? { runId: run.runId, ...(run.startedAt ? { runStartedAt: run.startedAt } : {}) } : {};

/**
 * Stops one view. With a run guard or in dry-run, the table's current run is looked up first (one List
 * call), so the outcome can name the run and a newer run is never stopped.
 */
export const stopTable = async (
  command: TableStopCommand,
  deps: CommandDependencies,
): Promise<RecordedStop> => {
  const now = deps.now ?? (() => new Date());
  const decided = () => ({ decidedAt: now().toISOString() });
  const { guard, target } = command;
  let run: ActiveRun | undefined;
  if (guard.runId !== undefined || guard.issuedAt !== undefined || command.dryRun) {
    const verdict = checkRunGuard(guard, await listActive(deps.runs, target));
    if (verdict.kind === 'not-running') {
      return { result: 'not-running', ...decided(), detail: 'no refresh of this view is running' };
    }
    if (verdict.kind === 'skip')
      return { result: 'skipped', ...decided(), ...runFields(verdict.run), detail: verdict.detail };
    run = verdict.run;
    if (command.dryRun) {
      return {
        result: 'dry-run',
        ...decided(),
        ...runFields(run),
        detail: `dry run: would stop run ${run.runId}`,
      };
    }
  }
  try {
    await deps.stopper.stopRefresh(target);
    return { result: 'stop-requested', ...decided(), ...runFields(run) };
  } catch (error) {
    if (error instanceof GlueCallError) {
      const verdict = classifyGlueFailure(error.failure);
      if (verdict.kind === 'terminal') return { result: verdict.outcome, ...decided(), ...runFields(run) };
    }
    throw failureOf(error);
  }
};

/**
 * The idempotency key of a request derived from a scope: the same parent and table always give the same
 * key, so a redelivered scope request never stops a table twice.
 */
export const derivedIdempotencyKey = (
  parentKey: string,
  target: { CatalogId: string; DatabaseName: string; TableName: string },
) =>
  `scope-${createHash('sha256').update([parentKey, target.CatalogId, target.DatabaseName, target.TableName].join('\n')).digest('hex')}`;

/**
 * Expands a scope: every STARTING or RUNNING refresh of a matching, allowed table becomes an exact stop
 * request on the stop queue, carrying the run's id and the parent's issue time as its run guard.
 */
export const expandScope = async (
  command: ScopeStopCommand,
  deps: CommandDependencies,
): Promise<RecordedStop> => {
  const now = deps.now ?? (() => new Date());
  const { target } = command;
  const single =
    target.TableNames.length === 1 && !/[*?]/.test(target.TableNames[0] ?? '*')
      ? target.TableNames[0]
      : undefined;
  const active = await listActive(deps.runs, {
    CatalogId: target.CatalogId,
    DatabaseName: target.DatabaseName,
    ...(single !== undefined ? { TableName: single } : {}),
  });
  const byTable = new Map<string, ActiveRun[]>();
  for (const run of active) {
    if (run.target.DatabaseName !== target.DatabaseName) continue;
    if (!target.TableNames.some((pattern) => matchesGlob(pattern, run.target.TableName))) continue;
    byTable.set(run.target.TableName, [...(byTable.get(run.target.TableName) ?? []), run]);
  }
  const matched = [...byTable.values()].flatMap((runs) => {
    const run = currentRun(runs);
    return run ? [run] : [];
  });
  const allowed = matched.filter(
    (run) =>
      checkAllowed(deps.allow, command.accountId, {
        CatalogId: target.CatalogId,
        DatabaseName: target.DatabaseName,
        TableName: run.target.TableName,
      }).kind === 'allowed',
  );
  const requests: TableStopRequest[] = allowed
    .sort((a, b) => a.target.TableName.localeCompare(b.target.TableName))
    .map((run) => {
      const table = {
        CatalogId: target.CatalogId,
        DatabaseName: target.DatabaseName,
        TableName: run.target.TableName,
      };
      return {
        ...table,
        RunId: run.runId,
        IssuedAt: command.issuedAt,
        IdempotencyKey: derivedIdempotencyKey(command.idempotencyKey, table),
        // Metadata only (the child's own key is a hash): made to fit the contract whatever the parent's was.
        ParentIdempotencyKey: contractText(command.idempotencyKey, PARENT_KEY_MAX_LENGTH),
        ...(command.reason !== undefined ? { Reason: command.reason } : {}),
        ...(command.requestedBy !== undefined ? { RequestedBy: command.requestedBy } : {}),
        ...(command.dryRun ? { DryRun: true } : {}),
      };
    });
  await deps.queue.enqueue(requests);
  const outside = matched.length - allowed.length;
  return {
    result: 'expanded',
    decidedAt: now().toISOString(),
    queued: requests.length,
    detail:
      `${requests.length} running refresh${requests.length === 1 ? '' : 'es'} queued to be stopped` +
      (outside > 0 ? `; ${outside} outside the allow-list left alone` : '') +
      (command.dryRun ? ' (dry run)' : ''),
  };
};

export const runStopCommand = (command: StopCommand, deps: CommandDependencies): Promise<RecordedStop> =>
  command.kind === 'table' ? stopTable(command, deps) : expandScope(command, deps);
