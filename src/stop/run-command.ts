/**
 * The idempotent unit of work, for every kind of command: stop one view (with run guard and dry-run),
 * expand a scope (or hand it to the stop queue to be expanded there), or run one task of an expansion. This is what the idempotency layer wraps:
 * it returns plain JSON and never mutates its input.
 */
import { createHash } from 'node:crypto';
import type { AllowRule } from '../policy/stack-config.ts';
import type { StopTarget } from '../request/contract.ts';
import { classifyGlueFailure } from './classify.ts';
import { GlueCallError, ReadTooOldError, StopError } from './errors.ts';
import type { RecordedStop } from './outcome.ts';
import type {
  ActiveRun,
  RefreshStopper,
  RunLister,
  RunPageReader,
  StopCommand,
  StopRequestQueue,
  TableStopCommand,
  ViewLedger,
} from './ports.ts';
import type { RecentPages } from './recent-pages.ts';
import { checkRunGuard } from './run-guard.ts';
import {
  type ExpansionContext,
  expandScope,
  type FanOutSettings,
  handOffScope,
  runScopeTask,
} from './scope-expansion.ts';

export interface CommandDependencies {
  readonly stopper: RefreshStopper;
  readonly runs: RunLister & RunPageReader;
  readonly queue: StopRequestQueue;
  /**
   * What stop tasks settled, view by view: read before a task settles its views, written after. Absent: a
   * task answers no view from a record, and records none (a view settled again is then decided from
   * Glue's state alone: see `src/stop/scope-expansion.ts`).
   */
  readonly ledger?: ViewLedger;
  /** Pages this instance read lately, for the next stop task of the same page (`recent-pages.ts`). */
  readonly recentPages?: RecentPages;
  readonly allow: readonly AllowRule[];
  /** How this function expands scopes; default `DEFAULT_FAN_OUT` (in place, as the queue function does). */
  readonly fanOut?: FanOutSettings;
  readonly now?: () => Date;
}

/** Turns a failed Glue call that has no terminal meaning into the `StopError` its classification says. */
export const failureOf = (error: unknown): StopError => {
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

export const listActive = async (
  runs: RunLister,
  query: Parameters<RunLister['activeRuns']>[0],
): Promise<readonly ActiveRun[]> => {
  try {
    return await runs.activeRuns(query);
  } catch (error) {
    throw failureOf(error);
  }
};

export const runFields = (run: ActiveRun | undefined) =>
  run ? { runId: run.runId, ...(run.startedAt ? { runStartedAt: run.startedAt } : {}) } : {};

/** How long a List answer may vouch for a Stop: the first attempt of the Stop goes out within this. */
export const GUARD_READ_MAX_AGE_MS = 5_000;

/**
 * Reads a view at most this often for one Stop: a budget so busy that no slot comes in time gives up, and
 * a Stop that failed in a way that may have carried it out is tried again only after a new read.
 */
const MAX_READS_PER_STOP = 3;

/**
 * A Stop that failed this way may have been carried out (Glue's 5xx, a timeout, a lost connection): the
 * client does not send it again (`THROTTLING_ONLY`), the request reads the view again and decides anew.
 */
const UNCERTAIN_STOP_FAILURES: ReadonlySet<string> = new Set(['glue-server-error', 'network-error']);
const isUncertainStopFailure = (error: unknown): boolean =>
  error instanceof StopError &&
  error.failure.kind === 'retry' &&
  UNCERTAIN_STOP_FAILURES.has(error.failure.reason);

/**
 * Decides on one view from a read of its runs, and stops it when the guard allows: the run guard, dry
 * run and the Stop call with its classification. The Stop goes out within `GUARD_READ_MAX_AGE_MS` of
 * `readAt` (the moment the read was answered), or not at all (`ReadTooOldError`, and the caller reads again).
 */
export const stopFromRead = async (
  command: TableStopCommand,
  runs: readonly ActiveRun[],
  readAt: number,
  deps: Pick<CommandDependencies, 'stopper' | 'now'>,
): Promise<RecordedStop> => {
  const now = deps.now ?? (() => new Date());
  const decided = () => ({ decidedAt: now().toISOString() });
  const { guard, target } = command;
  const verdict = checkRunGuard(guard, runs);
  if (verdict.kind === 'not-running') {
    return { result: 'not-running', ...decided(), detail: 'no refresh of this view is running' };
  }
  if (verdict.kind === 'skip')
    return { result: 'skipped', ...decided(), ...runFields(verdict.run), detail: verdict.detail };
  const { run } = verdict;
  if (command.dryRun) {
    return {
      result: 'dry-run',
      ...decided(),
      ...runFields(run),
      detail: `dry run: would stop run ${run.runId}`,
    };
  }
  return stopNow(target, { sendBy: readAt + GUARD_READ_MAX_AGE_MS }, deps, runFields(run));
};

const stopNow = async (
  target: StopTarget,
  options: { readonly sendBy?: number },
  deps: Pick<CommandDependencies, 'stopper' | 'now'>,
  fields: { runId?: string; runStartedAt?: string },
): Promise<RecordedStop> => {
  const now = deps.now ?? (() => new Date());
  try {
    await deps.stopper.stopRefresh(target, options);
    return { result: 'stop-requested', decidedAt: now().toISOString(), ...fields };
  } catch (error) {
    if (error instanceof ReadTooOldError) throw error;
    if (error instanceof GlueCallError) {
      const verdict = classifyGlueFailure(error.failure);
      if (verdict.kind === 'terminal')
        return { result: verdict.outcome, decidedAt: now().toISOString(), ...fields };
    }
    throw failureOf(error);
  }
};

/**
 * Stops one view. With a run guard or in dry-run, the table's current run is looked up first (one List
 * call), so the outcome can name the run and a newer run is never stopped; the Stop then goes out within
 * `GUARD_READ_MAX_AGE_MS` of that read, or the view is read again.
 */
export const stopTable = async (
  command: TableStopCommand,
  deps: CommandDependencies,
): Promise<RecordedStop> => {
  const { guard, target } = command;
  if (guard.runId === undefined && guard.issuedAt === undefined && !command.dryRun) {
    // No guard: the request asks for whatever runs to be stopped, so the Stop may simply be sent again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await stopNow(target, {}, deps, {});
      } catch (error) {
        if (!isUncertainStopFailure(error) || attempt === MAX_READS_PER_STOP) throw error;
      }
    }
  }
  for (let read = 1; ; read++) {
    const runs = await listActive(deps.runs, target);
    const readAt = Date.now();
    try {
      return await stopFromRead(command, runs, readAt, deps);
    } catch (error) {
      // The Stop may have been carried out: the next read shows it (not running, or another run).
      if (isUncertainStopFailure(error) && read < MAX_READS_PER_STOP) continue;
      if (!(error instanceof ReadTooOldError)) throw error;
      if (read === MAX_READS_PER_STOP) {
        throw StopError.retry(
          'glue-throttled',
          `the Glue budget had no slot within ${GUARD_READ_MAX_AGE_MS} ms of reading the view, ${read} times`,
          { cause: error },
        );
      }
    }
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

export const runStopCommand = (
  command: StopCommand,
  deps: CommandDependencies,
  context?: ExpansionContext,
): Promise<RecordedStop> => {
  switch (command.kind) {
    case 'table':
      return stopTable(command, deps);
    case 'scope':
      return deps.fanOut?.expansion === 'hand-off'
        ? handOffScope(command, deps)
        : expandScope(command, deps, context);
    case 'task':
      return runScopeTask(command, deps, context);
  }
};
