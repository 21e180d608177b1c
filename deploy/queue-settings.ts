/**
 * The stop queue's visibility timeout, derived from the function timeout and the batching window so that
 * the three cannot drift apart.
 *
 * AWS asks for at least six times the function timeout plus the maximum batching window when a queue
 * feeds a Lambda function, so that a message is not handed out again while a (throttled, retried)
 * invocation may still be working on it:
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */

const SQS_MAX_VISIBILITY_TIMEOUT = 43_200;

/** Seconds in, seconds out. */
export const visibilityTimeoutFor = ({
  functionTimeout,
  maximumBatchingWindow,
}: {
  readonly functionTimeout: unknown;
  readonly maximumBatchingWindow: unknown;
}): number => {
  const timeout = Number(functionTimeout);
  const window = Number(maximumBatchingWindow ?? 0);
  if (!Number.isInteger(timeout) || timeout < 1) {
    throw new Error(`function timeout must be a whole number of seconds, got "${String(functionTimeout)}"`);
  }
  if (!Number.isInteger(window) || window < 0) {
    throw new Error(
      `maximumBatchingWindow must be a whole number of seconds, got "${String(maximumBatchingWindow)}"`,
    );
  }
  const seconds = 6 * timeout + window;
  if (seconds > SQS_MAX_VISIBILITY_TIMEOUT) {
    throw new Error(
      `visibility timeout ${seconds} s exceeds the SQS maximum of ${SQS_MAX_VISIBILITY_TIMEOUT} s`,
    );
  }
  return seconds;
};
