/**
 * The narrow ports the core talks through. Adapters in `src/adapters` implement them with the AWS SDK;
 * tests implement them with plain functions.
 */
import type { ScopeTarget, StopTarget, TableStopRequest } from '../request/contract.ts';
import type { Violation } from '../request/parse.ts';
import type { NotAllowedReason, RecordedStop, RejectionReason, StopOutcome, Trigger } from './outcome.ts';

/** Asks Glue to stop the refresh of one table. Resolves when Glue accepted; throws `GlueCallError` otherwise. */
export interface RefreshStopper {
  stopRefresh(target: StopTarget): Promise<void>;
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

/** Sends exact stop requests to the stop queue. Throws a `retry` `StopError` if any could not be sent. */
export interface StopRequestQueue {
  enqueue(requests: readonly TableStopRequest[]): Promise<void>;
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
    };

export type TableStopCommand = Extract<StopCommand, { kind: 'table' }>;
export type ScopeStopCommand = Extract<StopCommand, { kind: 'scope' }>;

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
