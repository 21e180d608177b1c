import type { NotAllowedReason } from '../policy/allow-list.ts';
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
  | 'idempotency-key-reused'
  | 'retries-exhausted';

/** Why a request was parked as `not-allowed`: it lies outside the stage's allow-list (the policy's word). */
export type { NotAllowedReason } from '../policy/allow-list.ts';

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

/** What every outcome says, whatever it is. */
interface OutcomeBase {
  readonly trigger: Trigger;
  readonly dryRun: boolean;
  /** True when the outcome was answered from the idempotency store without calling Glue. */
  readonly replayed: boolean;
  readonly durationMs: number;
  readonly messageId?: string;
  readonly eventId?: string;
  readonly idempotencyKey?: string;
  readonly parentIdempotencyKey?: string;
  readonly requestedBy?: string;
  readonly requestReason?: string;
}

/** What the request named: one view (exact requests) or a scope; known once the request could be read. */
export type Subject =
  | { readonly target: StopTarget; readonly scope?: never }
  | { readonly scope: ScopeTarget; readonly target?: never };
/** A refusal or a retry may come before the request could be read: then it names nothing. */
export type MaybeSubject = Subject | { readonly target?: never; readonly scope?: never };

/** A stop that is done for one view: stopped, already stopping, not running, skipped or rehearsed. */
export type TableOutcome = OutcomeBase & {
  readonly outcome: Exclude<RecordedOutcomeName, 'expanded'>;
  readonly target: StopTarget;
  readonly scope?: never;
  /** The run that was stopped, skipped or would have been stopped, when known. */
  readonly runId?: string;
  /** Which run was skipped and why, what Glue said, what a dry run would have stopped. */
  readonly detail?: string;
};

/** A scope, expanded into `queued` exact requests. */
export type ExpandedOutcome = OutcomeBase & {
  readonly outcome: 'expanded';
  readonly scope: ScopeTarget;
  readonly target?: never;
  readonly queued: number;
  readonly detail: string;
  /**
   * A stop task sent back to the stop queue unstarted, for an instance with Glue budget to spare: moved, not
   * done. Logged and counted (`HandedOn`), not published as an outcome event, as retries are not.
   */
  readonly handedOn?: true;
};

/** Whether an outcome only moved a stop task on (see `ExpandedOutcome.handedOn`). */
export const isHandOn = (outcome: StopOutcome): boolean =>
  outcome.outcome === 'expanded' && outcome.handedOn === true;

/** Parked in the dead-letter queue: outside the allow-list. */
export type NotAllowedOutcome = OutcomeBase &
  Subject & { readonly outcome: 'not-allowed'; readonly reason: NotAllowedReason; readonly detail: string };

/** Parked in the dead-letter queue: it can never succeed as it is (which field broke which rule, what Glue said). */
export type RejectedOutcome = OutcomeBase &
  MaybeSubject & { readonly outcome: 'rejected'; readonly reason: RejectionReason; readonly detail: string };

/** Handed back to its trigger to be delivered again. */
export type RetryOutcome = OutcomeBase &
  MaybeSubject & { readonly outcome: 'retry'; readonly reason: RetryReason; readonly detail: string };

/**
 * The plain-data account of one request: logged once, counted once, published once, returned. Each variant
 * carries exactly its fields, tagged by `outcome` (the name logs and outcome events use).
 */
export type StopOutcome = TableOutcome | ExpandedOutcome | NotAllowedOutcome | RejectedOutcome | RetryOutcome;

/** The reason code of a refusal or a retry; `undefined` for the outcomes that finish a request. */
export const reasonOf = (
  outcome: StopOutcome,
): RejectionReason | NotAllowedReason | RetryReason | undefined =>
  'reason' in outcome ? outcome.reason : undefined;

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
