/**
 * Outcome classification: what a Glue failure means for the request. Pure data in, pure data out.
 * Error codes are those the StopMaterializedViewRefreshTaskRun API page lists, plus the common errors.
 */
import type { GlueFailure, StopFailure } from './errors.ts';
import type { RejectionReason, RetryReason } from './outcome.ts';

/** A Glue failure is a terminal outcome (the stop is done), or the same verdict a `StopError` carries. */
export type StopFailureClass =
  | { readonly kind: 'terminal'; readonly outcome: 'already-stopping' | 'not-running' }
  | StopFailure;

const terminal = (outcome: 'already-stopping' | 'not-running'): StopFailureClass => ({
  kind: 'terminal',
  outcome,
});
const permanent = (reason: RejectionReason): StopFailureClass => ({ kind: 'rejected', reason });
const transient = (reason: RetryReason): StopFailureClass => ({ kind: 'retry', reason });

const BY_CODE: Readonly<Record<string, StopFailureClass>> = {
  MaterializedViewRefreshTaskStoppingException: terminal('already-stopping'),
  MaterializedViewRefreshTaskNotRunningException: terminal('not-running'),
  InvalidInputException: permanent('glue-invalid-input'),
  AccessDeniedException: permanent('glue-access-denied'),
  EntityNotFoundException: permanent('table-not-found'),
  ThrottlingException: transient('glue-throttled'),
  TooManyRequestsException: transient('glue-throttled'),
  RequestLimitExceeded: transient('glue-throttled'),
  // The SDK does not retry OperationTimeoutException (a 400). Retrying it here is safe: if the first
  // attempt did stop the run, the repeat ends in already-stopping or not-running.
  OperationTimeoutException: transient('glue-operation-timeout'),
  InternalServiceException: transient('glue-server-error'),
  ServiceUnavailableException: transient('glue-server-error'),
};

/**
 * @example classifyGlueFailure({ code: 'MaterializedViewRefreshTaskStoppingException', message: '', httpStatusCode: 400 })
 *   // → { kind: 'terminal', outcome: 'already-stopping' }
 */
export const classifyGlueFailure = (failure: GlueFailure): StopFailureClass => {
  // Own properties only: a code such as "constructor" must not find Object.prototype's members.
  const known = Object.hasOwn(BY_CODE, failure.code) ? BY_CODE[failure.code] : undefined;
  if (known) return known;
  if (failure.httpStatusCode === undefined) return transient('network-error');
  if (failure.httpStatusCode === 429) return transient('glue-throttled');
  if (failure.httpStatusCode >= 500) return transient('glue-server-error');
  // An unknown 4xx (expired credentials, a code added to the API later): retrying is harmless and the
  // redrive policy parks the request after maxReceiveCount attempts, so nothing is lost.
  return transient('glue-unexpected-error');
};
