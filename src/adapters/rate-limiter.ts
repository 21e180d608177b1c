/**
 * Paces the Glue calls of one function instance: `acquire()` resolves when the call may go. With N
 * concurrent instances each holding an equal share, the stack stays under the configured rate instead of
 * burning retries on ThrottlingException.
 *
 * Slots are handed out in arrival order, one every `1000 / requestsPerSecond` ms (a generic cell rate
 * algorithm). Its tolerance is the larger of `burst` slots that may be taken at once after a quiet spell
 * and `catchUpMs`: how late a caller may be for its slot and still keep the pace, so that time spent on
 * other work between calls is not lost. Either way no window of T ms holds more than
 * `(T + tolerance) × requestsPerSecond / 1000 + 1` calls, and the long-run rate stays `requestsPerSecond`.
 *
 * A caller with a deadline never reserves a slot it could not use: if the next slot comes after its
 * deadline, `acquire` rejects at once with a `deadline-exceeded` StopError, and the slot stays free for the
 * next caller.
 */
import { type Deadline, deadlineExceeded } from '../stop/deadline.ts';

export interface RateLimiter {
  acquire(deadline?: Deadline): Promise<void>;
}

/** No pacing; a caller whose deadline has already passed is still refused, as by a real limiter. */
export const unlimited: RateLimiter = {
  acquire: async (deadline) => {
    if (deadline && (deadline.signal.aborted || Date.now() >= deadline.at)) throw deadlineExceeded();
  },
};

export interface RateLimiterOptions {
  /** Calls that may go at once after a quiet spell. Default 1: calls are always spaced evenly. */
  readonly burst?: number;
  /**
   * Default 0. A caller up to this many milliseconds late for its slot still gets it: the calls after a
   * pause shorter than this go closer together until they are back on pace. Larger than one slot, it lets
   * `1 + catchUpMs / slot` calls go at once after a quiet spell.
   */
  readonly catchUpMs?: number;
  /** Clock for slot times, epoch-compatible milliseconds (deadlines are compared with it). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const createRateLimiter = (
  requestsPerSecond: number,
  options: RateLimiterOptions = {},
): RateLimiter => {
  if (!(requestsPerSecond > 0) || !Number.isFinite(requestsPerSecond)) {
    throw new RangeError(`requestsPerSecond must be a positive number, got ${requestsPerSecond}`);
  }
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const interval = 1000 / requestsPerSecond;
  // No burst by default: several instances starting together never add up to more than their shares.
  const catchUpMs = options.catchUpMs ?? 0;
  if (!(catchUpMs >= 0) || !Number.isFinite(catchUpMs)) {
    throw new RangeError(`catchUpMs must be a number of milliseconds, 0 or more, got ${catchUpMs}`);
  }
  const tolerance = Math.max((Math.max(1, Math.floor(options.burst ?? 1)) - 1) * interval, catchUpMs);
  // The theoretical time of the next free slot.
  let nextSlot = Number.NEGATIVE_INFINITY;
  return {
    async acquire(deadline) {
      const at = now();
      const slot = Math.max(nextSlot, at - tolerance);
      const goAt = Math.max(at, slot);
      if (deadline && (deadline.signal.aborted || goAt >= deadline.at)) {
        throw deadlineExceeded(
          `no Glue call slot before the invocation deadline (next slot in ${Math.ceil(goAt - at)} ms)`,
        );
      }
      nextSlot = slot + interval;
      if (goAt > at) await sleep(goAt - at);
    },
  };
};
