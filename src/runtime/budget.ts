/**
 * The time budget of one invocation, computed in one place from the SDK clients' retry settings.
 *
 * Each SDK call is bounded: `maxAttempts` attempts, each cut off after `requestTimeout` (connection
 * included; `throwOnRequestTimeout` makes the handler throw instead of only warning), with the standard
 * mode's back-off between attempts (`retry-strategy.ts`: at most `min(1 s × 2^i, 20 s)` before retry i+1,
 * the throttling base, the larger of the two bases).
 *
 * A record's worst case is the longest path one request can take through those calls: idempotency record
 * written, the view's runs listed (run guard), the stop, the record deleted after a refusal, the refusal
 * parked. The invocation's deadline (the time Lambda gives it, less `FINISH_RESERVE_MS`) cuts off what is
 * still running, waits for the Glue rate limiter included, so the function always answers its trigger;
 * the function timeout must leave room for one worst-case record, the finish and a start margin.
 * `test/template` checks `REQUIRED_FUNCTION_TIMEOUT_SECONDS` against the timeout in serverless.yml.
 */

export interface CallSettings {
  readonly maxAttempts: number;
  /** Connection phase only; the request timeout below covers it too. */
  readonly connectionTimeout: number;
  /** Whole attempt, connection to last byte. */
  readonly requestTimeout: number;
}

export const SDK_CALL_SETTINGS = {
  glue: { maxAttempts: 3, connectionTimeout: 1_000, requestTimeout: 3_000 },
  dynamoDb: { maxAttempts: 3, connectionTimeout: 1_000, requestTimeout: 2_000 },
  sqs: { maxAttempts: 3, connectionTimeout: 1_000, requestTimeout: 2_000 },
  // Outcome events are best effort (the stops stand without them): fewer attempts, a shorter finish.
  eventBridge: { maxAttempts: 2, connectionTimeout: 1_000, requestTimeout: 2_000 },
} as const satisfies Record<string, CallSettings>;

/** The SDK's standard retry mode: throttling errors back off from 1 s, capped at 20 s per wait. */
const THROTTLING_BACKOFF_BASE_MS = 1_000;
const MAX_BACKOFF_MS = 20_000;

/** The longest one SDK call can take: every attempt timing out, every back-off at its maximum. */
export const callWorstCaseMs = (settings: CallSettings): number => {
  let backoff = 0;
  for (let retry = 0; retry < settings.maxAttempts - 1; retry++) {
    backoff += Math.min(THROTTLING_BACKOFF_BASE_MS * 2 ** retry, MAX_BACKOFF_MS);
  }
  return settings.maxAttempts * settings.requestTimeout + backoff;
};

const worst = {
  glue: callWorstCaseMs(SDK_CALL_SETTINGS.glue),
  dynamoDb: callWorstCaseMs(SDK_CALL_SETTINGS.dynamoDb),
  sqs: callWorstCaseMs(SDK_CALL_SETTINGS.sqs),
  eventBridge: callWorstCaseMs(SDK_CALL_SETTINGS.eventBridge),
};

/**
 * One exact, guarded request that is refused by Glue after its run was listed: idempotency PutItem, List,
 * Stop, idempotency DeleteItem, SendMessage to the dead-letter queue. Every other path is shorter.
 */
export const RECORD_WORST_CASE_MS = worst.dynamoDb + worst.glue + worst.glue + worst.dynamoDb + worst.sqs;

/** Kept back at the end of every invocation: outcome events (PutEvents) and the metrics flush. */
export const FINISH_RESERVE_MS = worst.eventBridge + 1_000;

/** Time taken before the first record starts (cold start, parsing), kept out of the record budget. */
export const START_MARGIN_MS = 2_000;

export const REQUIRED_FUNCTION_TIMEOUT_SECONDS = Math.ceil(
  (START_MARGIN_MS + RECORD_WORST_CASE_MS + FINISH_RESERVE_MS) / 1_000,
);

/**
 * Kept back by a scope's expansion before the deadline: one more List page and one SendMessageBatch of
 * what is left, at their worst. Work that would start later goes to a follow-up task instead.
 */
export const FAN_OUT_RESERVE_MS = worst.glue + worst.sqs;

/**
 * The time an invocation has for the stop tasks of one batch in the normal case: half of what is left of the
 * function timeout after the start margin, the finish and the fan-out reserve (the other half absorbs slow
 * calls and CPU). Stop tasks are sized so that a full batch of them fits (`fanOutSettings`).
 */
export const STOP_TASK_BATCH_PLAN_MS =
  (REQUIRED_FUNCTION_TIMEOUT_SECONDS * 1_000 - START_MARGIN_MS - FINISH_RESERVE_MS - FAN_OUT_RESERVE_MS) / 2;

/**
 * How much stop-task work an invocation of the queue function keeps from its batch: the tasks it expects to
 * start within this time at its Glue share (the first task always). The rest go back to the stop queue at
 * once, as they are, for instances whose share would otherwise idle: shares are fixed per instance, so a
 * batch worked through on one instance while others wait leaves budget unused, most of all at the end of
 * a fan-out.
 */
export const STOP_TASK_HOLD_MS = 2_000;
