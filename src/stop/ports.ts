/**
 * The narrow ports the core talks through. Adapters in `src/adapters` implement them with the AWS SDK;
 * tests implement them with plain functions.
 */
import type { ScopeTarget, StopRequest, StopTarget } from '../request/contract.ts';
import type { Violation } from '../request/parse.ts';
import type { SCOPE_TASK_FIELD, ScopeTask } from '../request/scope-task.ts';
import type { NotAllowedReason, RecordedStop, RejectionReason, StopOutcome, Trigger } from './outcome.ts';

/**
 * Asks Glue to stop the refresh of one table. Resolves when Glue accepted; throws `GlueCallError` otherwise.
 * With `sendBy` (epoch milliseconds), the call must go out by then: when it cannot (the Glue budget has no
 * slot that early), it throws `ReadTooOldError` without calling Glue, and the caller reads the view again.
 */
export interface RefreshStopper {
  stopRefresh(target: StopTarget, options?: { readonly sendBy?: number }): Promise<void>;
}

/** A refresh task run that is STARTING or RUNNING, of the view `target` names. */
export interface ActiveRun {
  readonly runId: string;
  readonly target: StopTarget;
  readonly status: 'STARTING' | 'RUNNING';
  /** ISO-8601; absent if Glue did not say. */
  readonly startedAt?: string;
}

/** Lists the active runs of a database, or of one table, across all pages. Throws `GlueCallError`. */
export interface RunLister {
  activeRuns(query: {
    readonly CatalogId: string;
    readonly DatabaseName: string;
    readonly TableName?: string;
  }): Promise<readonly ActiveRun[]>;
}

/** One page of a listing: the active runs on it, every view it named, and the token of the next page. */
export interface RunPage {
  readonly active: readonly ActiveRun[];
  /** The tables of every run on the page, whatever its status: a view missing here was not read. */
  readonly tables: ReadonlySet<string>;
  /** How many runs the page held, finished ones included. */
  readonly listed: number;
  readonly nextToken?: string;
}

/** Reads one page of a database's (or one table's) runs; the first page without `pageToken`. Throws `GlueCallError`. */
export interface RunPageReader {
  page(query: {
    readonly CatalogId: string;
    readonly DatabaseName: string;
    readonly TableName?: string;
    readonly pageToken?: string;
    /** Runs per page (Glue's MaxResults, 1–1,000); a token only continues a listing of the same size. */
    readonly pageSize?: number;
  }): Promise<RunPage>;
}

/** What the stack sends to its own stop queue: stop requests, and the tasks of a scope's expansion. */
export type QueuedMessage = StopRequest | { readonly [SCOPE_TASK_FIELD]: ScopeTask };

/** Sends messages to the stop queue. Throws a `retry` `StopError` if any could not be sent. */
export interface StopRequestQueue {
  enqueue(messages: readonly QueuedMessage[]): Promise<void>;
  /** About how many messages wait to be received (SQS's ApproximateNumberOfMessages). Throws on failure. */
  waiting?(): Promise<number>;
}

/** The idempotent unit of work: what the idempotency store keys, validates (`target`) and records. Plain JSON. */
export type StopCommand =
  | {
      readonly kind: 'table';
      readonly idempotencyKey: string;
      readonly target: StopTarget;
      /** Run guard: stop only this run, or only a run that started at or before `issuedAt`. */
      readonly guard: { readonly runId?: string; readonly issuedAt?: string };
      readonly dryRun: boolean;
    }
  | {
      readonly kind: 'scope';
      readonly idempotencyKey: string;
      readonly target: ScopeTarget;
      /** Becomes every derived request's run guard: no run that started later is stopped. */
      readonly issuedAt: string;
      /** The function's own account: the catalog an allow rule without catalogId covers. */
      readonly accountId: string;
      readonly dryRun: boolean;
      readonly requestedBy?: string;
      readonly reason?: string;
    }
  | {
      /** A part of a scope's expansion (`src/request/scope-task.ts`), keyed by its content. */
      readonly kind: 'task';
      readonly idempotencyKey: string;
      readonly target: ScopeTarget;
      readonly task: ScopeTask;
      readonly accountId: string;
    };

export type TableStopCommand = Extract<StopCommand, { kind: 'table' }>;
export type ScopeStopCommand = Extract<StopCommand, { kind: 'scope' }>;
export type TaskStopCommand = Extract<StopCommand, { kind: 'task' }>;

/** One view a stop task settled, under the view's key (`viewKey`), and how. */
export interface ViewRecord {
  readonly key: string;
  readonly result: RecordedStop;
}

/**
 * What stop tasks settled, view by view, read and written many at a time (a stop task's views have no
 * idempotency records of their own: one read before a task settles its views, one write after). A view a
 * task finds here is answered from its record, as a replay. Both throw a `retry` `StopError`
 * (`idempotency-store-unavailable`) when the store cannot be reached.
 */
export interface ViewLedger {
  /** The recorded results of those of `keys` that have one. */
  read(keys: readonly string[]): Promise<ReadonlyMap<string, RecordedStop>>;
  write(records: readonly ViewRecord[]): Promise<void>;
}

/** A command's result, and whether it came from the idempotency store (a replay) rather than from `work`. */
export type OnceResult = RecordedStop & { readonly replayed: boolean };

/**
 * Idempotency: runs `work` at most once per `command.idempotencyKey`, records its result, and answers a
 * repeat from the record. A key reused for another `target` is refused (`rejected`,
 * `idempotency-key-reused`); a repeat while the first is still running is `retry` (`duplicate-in-progress`);
 * a store that cannot be reached is `retry` (`idempotency-store-unavailable`): all as `StopError`. Errors
 * `work` throws pass through unchanged and leave no record, so a later attempt runs it again.
 */
export type RunOnce = (
  command: StopCommand,
  work: (command: StopCommand) => Promise<RecordedStop>,
) => Promise<OnceResult>;

/** A refused request, kept whole for an operator to read, fix and redrive. */
export interface RejectedRequest {
  /** The message exactly as it arrived (SQS body, or the event as JSON). */
  readonly original: string;
  readonly trigger: Trigger;
  readonly outcome: 'rejected' | 'not-allowed';
  readonly reason: RejectionReason | NotAllowedReason;
  readonly detail: string;
  readonly violations?: readonly Violation[];
  readonly messageId?: string;
  readonly eventId?: string;
  readonly idempotencyKey?: string;
}

export interface RejectedRequestParker {
  park(request: RejectedRequest): Promise<void>;
}

/** Logs and counts an outcome. Must not throw. */
export type OutcomeReporter = (outcome: StopOutcome) => void;

/** Publishes final outcomes as events (the audit trail). May throw; callers log and count the failure. */
export interface OutcomePublisher {
  publish(outcomes: readonly StopOutcome[]): Promise<void>;
}
