/**
 * The narrow ports the core talks through. Adapters in `src/adapters` implement them with the AWS SDK;
 * tests implement them with plain functions.
 */
import type { StopTarget } from '../request/contract.ts';
import type { Violation } from '../request/parse.ts';
import type { RecordedStop, RejectionReason, StopOutcome, Trigger } from './outcome.ts';

/** Asks Glue to stop the refresh of one table. Resolves when Glue accepted; throws `GlueCallError` otherwise. */
export interface RefreshStopper {
  stopRefresh(target: StopTarget): Promise<void>;
}

/** The idempotent unit of work: what the idempotency store keys, validates and records. Plain JSON. */
export interface StopCommand {
  readonly idempotencyKey: string;
  readonly target: StopTarget;
}

/**
 * Runs the stop for a command at most once per idempotency key. Resolves with the recorded result
 * (`replayed` when it came from the store); throws `PermanentStopError` or `TransientStopError`.
 */
export type StopExecutor = (command: StopCommand) => Promise<RecordedStop & { readonly replayed: boolean }>;

/** A refused request, kept whole for an operator to read, fix and redrive. */
export interface RejectedRequest {
  /** The message exactly as it arrived (SQS body, or the EventBridge event as JSON). */
  readonly original: string;
  readonly trigger: Trigger;
  readonly reason: RejectionReason;
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
