/**
 * The SDK clients' retries: the standard mode's attempts and back-off, without its retry budget.
 *
 * The SDK's standard mode keeps a per-client budget of 500 tokens and spends 5 (10 for a timeout) on
 * every retry, earning 1 back per success. Under a sustained fault rate a long-lived execution environment
 * spends it all within about 150 failing calls and then makes a single attempt per call, for good. That
 * budget guards against retry storms; here the Glue rate limiter already paces every call, the invocation
 * deadline bounds every request, and the trigger redelivers what still fails, so every call keeps its
 * `maxAttempts`. Back-off is the standard mode's: full jitter over `base × 2^retry`, capped at 20 s, with
 * a 1 s base for throttling and 50 ms for other transient errors; only throttling and transient errors
 * (5xx, timeouts, resets) are retried.
 *
 * `THROTTLING_ONLY` is for calls that must not be sent again blindly: a Stop that timed out or failed with
 * a 5xx may have been carried out, and the same Stop sent again would stop whatever run the view has by
 * then. A throttled call was refused before it was carried out, so it alone is retried.
 */
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

const THROTTLING_BASE_MS = 1_000;
const TRANSIENT_BASE_MS = 50;
const MAX_DELAY_MS = 20_000;

const tokenOf = (retryCount: number, delay: number): RetryToken => ({
  getRetryCount: () => retryCount,
  getRetryDelay: () => delay,
});

/** Which errors are retried: throttling and transient ones (the default), or throttling only. */
export type RetryOn = 'throttling-and-transient' | 'throttling-only';
export const THROTTLING_ONLY: RetryOn = 'throttling-only';

export class AttemptsRetryStrategy implements RetryStrategyV2 {
  /** Reported in the SDK's user agent, like the built-in strategies. */
  readonly mode = 'standard';
  readonly #maxAttempts: number;
  readonly #random: () => number;
  readonly #retryOn: RetryOn;

  constructor(
    maxAttempts: number,
    random: () => number = Math.random,
    retryOn: RetryOn = 'throttling-and-transient',
  ) {
    this.#maxAttempts = maxAttempts;
    this.#random = random;
    this.#retryOn = retryOn;
  }

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return tokenOf(0, 0);
  }

  async refreshRetryTokenForRetry(token: RetryToken, errorInfo: RetryErrorInfo): Promise<RetryToken> {
    const retry = token.getRetryCount();
    const retryable =
      errorInfo.errorType === 'THROTTLING' ||
      (errorInfo.errorType === 'TRANSIENT' && this.#retryOn === 'throttling-and-transient');
    if (!retryable || retry + 1 >= this.#maxAttempts)
      throw new Error('no retry: not retryable, or no attempts left');
    const base = errorInfo.errorType === 'THROTTLING' ? THROTTLING_BASE_MS : TRANSIENT_BASE_MS;
    // The middleware waits this long (and gives up waiting when the invocation's deadline aborts it).
    return tokenOf(retry + 1, Math.floor(this.#random() * Math.min(base * 2 ** retry, MAX_DELAY_MS)));
  }

  recordSuccess(): void {}
}
