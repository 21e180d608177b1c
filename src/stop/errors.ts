import type { RejectionReason, RetryReason } from './outcome.ts';

/** What a Glue call failure looks like once the SDK's exception has been reduced to plain data. */
export interface GlueFailure {
  /** The service's error code (`MaterializedViewRefreshTaskStoppingException`, ...) or a network error code. */
  readonly code: string;
  readonly message: string;
  /** Absent when no HTTP answer came back (connection reset, refused, timed out). */
  readonly httpStatusCode?: number;
}

/** Thrown by the Glue adapter: the call failed; the core decides what that means. */
export class GlueCallError extends Error {
  override readonly name = 'GlueCallError';
  readonly failure: GlueFailure;
  constructor(failure: GlueFailure, options?: ErrorOptions) {
    super(`${failure.code}: ${failure.message}`, options);
    this.failure = failure;
  }
}

/** The request can never succeed as it is: park it with its reason, never retry. */
export class PermanentStopError extends Error {
  override readonly name = 'PermanentStopError';
  readonly reason: RejectionReason;
  constructor(reason: RejectionReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** The request may succeed later: hand it back to the trigger for another attempt. */
export class TransientStopError extends Error {
  override readonly name = 'TransientStopError';
  readonly reason: RetryReason;
  constructor(reason: RetryReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/**
 * Thrown by a handler to hand a request back to its trigger (an SQS batch item failure, a failed async
 * invocation). Carries the outcome that was already logged and counted.
 */
export class StopRetryError extends Error {
  override readonly name = 'StopRetryError';
  readonly outcome: { readonly reason?: string; readonly detail?: string };
  constructor(outcome: { readonly reason?: string; readonly detail?: string }) {
    super(
      `stop will be retried: ${outcome.reason ?? 'unknown reason'}${outcome.detail ? ` (${outcome.detail})` : ''}`,
    );
    this.outcome = outcome;
  }
}
