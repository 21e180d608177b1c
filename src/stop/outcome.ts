import type { StopTarget } from '../request/contract.ts';

/**
 * Every stop request ends in exactly one of these. The first three are terminal successes: Glue either
 * accepted the stop or told us there is nothing (left) to stop.
 */
export const OUTCOMES = ['stop-requested', 'already-stopping', 'not-running', 'rejected', 'retry'] as const;
export type OutcomeName = (typeof OUTCOMES)[number];

/** The outcomes that finish a request without it being parked or retried. */
export type TerminalOutcomeName = Extract<OutcomeName, 'stop-requested' | 'already-stopping' | 'not-running'>;

export type Trigger = 'sqs' | 'eventbridge';

/** Why a request was parked in the dead-letter queue. Never retried: retrying cannot change the answer. */
export type RejectionReason =
  | 'invalid-request'
  | 'glue-invalid-input'
  | 'glue-access-denied'
  | 'table-not-found'
  | 'idempotency-key-reused';

/** Why a request will be tried again (SQS redelivery or Lambda's async retries). */
export type RetryReason =
  | 'glue-throttled'
  | 'glue-operation-timeout'
  | 'glue-server-error'
  | 'glue-unexpected-error'
  | 'network-error'
  | 'duplicate-in-progress'
  | 'idempotency-store-unavailable'
  | 'dead-letter-queue-unavailable'
  | 'unexpected-error';

/** What a terminal stop left in the idempotency store; replays of the same request return it unchanged. */
export interface RecordedStop {
  readonly result: TerminalOutcomeName;
  /** ISO-8601 time Glue answered. */
  readonly decidedAt: string;
}

/** The plain-data account of one request: logged once, counted once, returned to the caller. */
export interface StopOutcome {
  readonly outcome: OutcomeName;
  readonly trigger: Trigger;
  /** `rejected` / `retry` only: a stable code. */
  readonly reason?: RejectionReason | RetryReason;
  /** Human-readable detail: which field broke which rule, or what the service said. */
  readonly detail?: string;
  readonly target?: StopTarget;
  readonly idempotencyKey?: string;
  /** True when the outcome was answered from the idempotency store without calling Glue. */
  readonly replayed: boolean;
  readonly requestedBy?: string;
  readonly requestReason?: string;
  readonly messageId?: string;
  readonly eventId?: string;
  readonly durationMs: number;
}
