/**
 * A token bucket shared by the calls of one function instance: `acquire()` resolves when the call may go.
 * Glue throttles per API operation and account; with N concurrent instances each holding an equal share,
 * the stack stays under the configured rate instead of burning retries on ThrottlingException.
 */
export interface RateLimiter {
  acquire(): Promise<void>;
}

export const unlimited: RateLimiter = { acquire: async () => undefined };

export const createRateLimiter = (
  requestsPerSecond: number,
  options: { burst?: number; now?: () => number; sleep?: (ms: number) => Promise<void> } = {},
): RateLimiter => {
  if (!(requestsPerSecond > 0))
    throw new RangeError(`requestsPerSecond must be positive, got ${requestsPerSecond}`);
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // No burst by default: calls are spaced evenly, so several instances starting together never add up to
  // more than their shares at any moment.
  const capacity = Math.max(1, options.burst ?? 1);
  let tokens = capacity;
  let last = now();
  // Calls wait in arrival order: each takes the next slot in time.
  let queue: Promise<void> = Promise.resolve();
  const refill = () => {
    const at = now();
    tokens = Math.min(capacity, tokens + ((at - last) / 1000) * requestsPerSecond);
    last = at;
  };
  const take = async (): Promise<void> => {
    refill();
    // A hair under 1 after floating-point refills counts as 1: no extra millisecond waits.
    while (tokens < 1 - 1e-9) {
      await sleep(((1 - tokens) / requestsPerSecond) * 1000);
      refill();
    }
    tokens = Math.max(0, tokens - 1);
  };
  return {
    acquire() {
      const turn = queue.then(take);
      queue = turn.catch(() => undefined);
      return turn;
    },
  };
};
