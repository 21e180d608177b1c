import type { RejectionReason, RetryOutcome, RetryReason } from './outcome.ts';

/** What a Glue call failure looks like once the SDK's exception has been reduced to plain data. */
export interface GlueFailure {
  /** The service's error code (`MaterializedViewRefreshTaskStoppingException`, ...) or a network error code. */
  readonly code: string;
  readonly message: string;
  /** Absent when no HTTP answer came back (connection reset, refused, timed out). */
  readonly httpStatusCode?: number;
}

/**
 * Thrown by the Glue adapter with Glue's answer as plain data; the core classifies it (`classify.ts`) into
 * a terminal outcome or a `StopError`. It is input to the classification, never an outcome of its own.
 */
export class GlueCallError extends Error {
  override readonly name = 'GlueCallError';
  readonly failure: GlueFailure;
  constructor(failure: GlueFailure, options?: ErrorOptions) {
    super(`${failure.code}: ${failure.message}`, options);
    this.failure = failure;
  }
}

/** Why a request cannot finish now: park it (`rejected`, never retried) or hand it back (`retry`). */
export type StopFailure =
  | { readonly kind: 'rejected'; readonly reason: RejectionReason }
  | { readonly kind: 'retry'; readonly reason: RetryReason };

/**
 * The one error the core and its adapters throw for a request that cannot finish now, carrying the typed
 * verdict the outcome is made from. Adapters map their libraries' errors to it at the boundary.
 */
export class StopError extends Error {
  override readonly name = 'StopError';
  readonly failure: StopFailure;
  constructor(failure: StopFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.failure = failure;
  }

  /** The request can never succeed as it is: park it with its reason. */
  static rejected(reason: RejectionReason, message: string, options?: ErrorOptions): StopError {
    return new StopError({ kind: 'rejected', reason }, message, options);
  }

  /** The request may succeed later: hand it back to its trigger. */
  static retry(reason: RetryReason, message: string, options?: ErrorOptions): StopError {
    return new StopError({ kind: 'retry', reason }, message, options);
  }
}

/** Anything thrown, as a `StopError`: unknown errors are `retry` with reason `unexpected-error`. */
export const toStopError = (error: unknown): StopError =>
  error instanceof StopError ? error : StopError.retry('unexpected-error', String(error), { cause: error });

/**
 * Thrown by a trigger to hand a request back (an SQS batch item failure, a failed async invocation).
 * Carries the retry outcome that was already logged and counted.
 */
export class StopRetryError extends Error {
  override readonly name = 'StopRetryError';
  readonly outcome: RetryOutcome;
  constructor(outcome: RetryOutcome) {
    super(`stop will be retried: ${outcome.reason} (${outcome.detail})`);
    this.outcome = outcome;
  }
}

/**
 * The run guard's read is too old to vouch for a Stop: the Glue budget had no slot before the read's
 * `sendBy` time. Thrown by the Glue adapter before calling Glue; the core reads the view again.
 */
export class ReadTooOldError extends Error {
  override readonly name = 'ReadTooOldError';
}
