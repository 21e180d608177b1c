/**
 * The invocation's deadline: the moment by which a request must have finished or given up, so that the
 * function answers its trigger before Lambda's own timeout kills it mid-call. Plain data and the web
 * platform's AbortSignal: the core knows no SDK; the runtime hands the same signal to every SDK call.
 */
import { StopError } from './errors.ts';

export interface Deadline {
  /** Epoch milliseconds after which no work may go on. */
  readonly at: number;
  /** Aborts when the deadline passes. */
  readonly signal: AbortSignal;
}

/** Work cut off, or never started, because the invocation's deadline passed: retry it later. */
export const deadlineExceeded = (
  message = 'the invocation deadline passed',
  options?: ErrorOptions,
): StopError => StopError.retry('deadline-exceeded', message, options);

/** Whether an error is the deadline's. */
export const isDeadlineExceeded = (error: unknown): boolean =>
  error instanceof StopError && error.failure.reason === 'deadline-exceeded';

/** A deadline that never passes (work outside an invocation: tests, tools). */
export const NO_DEADLINE: Deadline = { at: Number.POSITIVE_INFINITY, signal: new AbortController().signal };

/** Node's timers take at most 2^31 - 1 ms; a longer wait would fire at once. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/**
 * A deadline `ms` from now (none when `ms` is not finite or beyond a timer's reach, about 24 days).
 * The timer is unref'd: it never keeps a process alive.
 */
export const deadlineIn = (ms: number, now: () => number = Date.now): Deadline => {
  if (Number.isNaN(ms) || ms > LONGEST_TIMER_MS) return NO_DEADLINE;
  const wait = Math.max(0, Math.floor(ms));
  return { at: now() + wait, signal: AbortSignal.timeout(wait) };
};

export const hasPassed = (deadline: Deadline, now: () => number = Date.now): boolean =>
  deadline.signal.aborted || now() >= deadline.at;

/**
 * Settles like `work`, unless the deadline passes first: then rejects with `deadlineExceeded()`.
 * `work` goes on in the background (its SDK calls see the same signal and abort); its result is ignored.
 */
export const withinDeadline = <T>(work: Promise<T>, deadline: Deadline): Promise<T> => {
  if (deadline.at === Number.POSITIVE_INFINITY) return work;
  const { signal } = deadline;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(deadlineExceeded());
    if (signal.aborted) {
      onAbort();
    } else {
      signal.addEventListener('abort', onAbort, { once: true });
    }
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
};
