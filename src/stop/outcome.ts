import type { ScopeTarget, StopTarget } from '../request/contract.ts';

/** Outcomes that finish a request and are kept in the idempotency record. */
export const RECORDED_OUTCOMES = [
  'stop-requested',
  'already-stopping',
  'not-running',
  'skipped',
  'dry-run',
  'expanded',
] as const;
export type RecordedOutcomeName = (typeof RECORDED_OUTCOMES)[number];

/**
 * Every request ends in exactly one of these. The recorded ones finish the request; `not-allowed` and
 * `rejected` park it in the dead-letter queue; `retry` hands it back to its trigger.
 */
export const OUTCOMES = [...RECORDED_OUTCOMES, 'not-allowed', 'rejected', 'retry'] as const;
export type OutcomeName = (typeof OUTCOMES)[number];

/** How the request reached the functions. */
export type Trigger = 'sqs' | 'eventbridge' | 'alarm' | 'schedule';

/** Why a request was parked as `rejected`. Never retried: retrying cannot change the answer. */
export type RejectionReason =
  | 'invalid-request'
  | 'glue-invalid-input'
  | 'glue-access-denied'
  | 'table-not-found'
  | 'idempotency-key-reused';

/** Why a request was parked as `not-allowed`: it lies outside the stage's allow-list. */
export type NotAllowedReason = 'catalog-not-allowed' | 'database-not-allowed' | 'table-not-allowed';

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
  | 'fan-out-incomplete'
  | 'deadline-exceeded'
  | 'unexpected-error';

/** What a finished request left in the idempotency store; replays of the same request return it unchanged. */
export interface RecordedStop {
  readonly result: RecordedOutcomeName;
  /** ISO-8601 time the result was decided. */
  readonly decidedAt: string;
  /** The run that was stopped, skipped or would have been stopped, when known. */
  readonly runId?: string;
  readonly runStartedAt?: string;
  /** `expanded`: how many exact stop requests were queued. */
  readonly queued?: number;
  readonly detail?: string;
}

/** The plain-data account of one request: logged once, counted once, published once, returned. */
export interface StopOutcome {
  readonly outcome: OutcomeName;
  readonly trigger: Trigger;
  /** `not-allowed`, `rejected` and `retry` only: a stable code. */
  readonly reason?: RejectionReason | NotAllowedReason | RetryReason;
  /** Human-readable detail: which field broke which rule, what Glue said, which run was skipped. */
  readonly detail?: string;
  /** One view (exact requests) ... */
  readonly target?: StopTarget;
  /** ... or a scope (scope requests). */
  readonly scope?: ScopeTarget;
  readonly runId?: string;
  readonly queued?: number;
  readonly dryRun: boolean;
  readonly idempotencyKey?: string;
  readonly parentIdempotencyKey?: string;
  /** True when the outcome was answered from the idempotency store without calling Glue. */
  readonly replayed: boolean;
  readonly requestedBy?: string;
  readonly requestReason?: string;
  readonly messageId?: string;
  readonly eventId?: string;
  readonly durationMs: number;
}

const isRecordedOutcome = (value: unknown): value is RecordedOutcomeName =>
  RECORDED_OUTCOMES.some((name) => name === value);

/** Checks a value read back from the idempotency store before it is trusted as a result. */
export const toRecordedStop = (value: unknown): RecordedStop | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const { result, decidedAt, runId, runStartedAt, queued, detail } = value as Record<string, unknown>;
  if (!isRecordedOutcome(result) || typeof decidedAt !== 'string') return undefined;
  const optionalString = (v: unknown) => v === undefined || typeof v === 'string';
  if (!optionalString(runId) || !optionalString(runStartedAt) || !optionalString(detail)) return undefined;
  if (queued !== undefined && typeof queued !== 'number') return undefined;
  return {
    result,
    decidedAt,
    ...(typeof runId === 'string' ? { runId } : {}),
    ...(typeof runStartedAt === 'string' ? { runStartedAt } : {}),
    ...(typeof queued === 'number' ? { queued } : {}),
    ...(typeof detail === 'string' ? { detail } : {}),
  };
};
