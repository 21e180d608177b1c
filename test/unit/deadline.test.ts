import { describe, expect, it, vi } from 'vitest';
import {
  deadlineExceeded,
  deadlineIn,
  hasPassed,
  isDeadlineExceeded,
  NO_DEADLINE,
  withinDeadline,
} from '../../src/stop/deadline.ts';
import { StopError } from '../../src/stop/errors.ts';

const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** A deadline at `at` whose signal the test aborts by hand. */
const manualDeadline = (at = Date.now() + 60_000) => {
  const controller = new AbortController();
  return { deadline: { at, signal: controller.signal }, abort: () => controller.abort() };
};

/** A signal that records its listeners by event type, to see what withinDeadline leaves behind. */
const recordingSignal = () => {
  const listeners: [type: string, listener: unknown][] = [];
  const signal = {
    aborted: false,
    addEventListener: vi.fn((type: string, listener: unknown) => {
      listeners.push([type, listener]);
    }),
    removeEventListener: vi.fn((type: string, listener: unknown) => {
      const index = listeners.findIndex(([t, l]) => t === type && l === listener);
      if (index >= 0) listeners.splice(index, 1);
    }),
  } as unknown as AbortSignal;
  return { signal, listeners };
};

describe('deadlineExceeded and isDeadlineExceeded', () => {
  it('makes a retry StopError with reason deadline-exceeded, and recognises it', () => {
    const error = deadlineExceeded();

    expect(error).toBeInstanceOf(StopError);
    expect(error).toMatchObject({
      message: 'the invocation deadline passed',
      failure: { kind: 'retry', reason: 'deadline-exceeded' },
    });
    expect(isDeadlineExceeded(error)).toBe(true);
    expect(deadlineExceeded('no slot left').message).toBe('no slot left');
  });

  it('recognises nothing else: another retry reason, a plain error, a look-alike object', () => {
    expect(isDeadlineExceeded(StopError.retry('glue-throttled', 'slow down'))).toBe(false);
    expect(isDeadlineExceeded(new Error('deadline-exceeded'))).toBe(false);
    expect(isDeadlineExceeded({ failure: { kind: 'retry', reason: 'deadline-exceeded' } })).toBe(false);
  });
});

describe('deadlineIn', () => {
  it('ends ms from the injected now, whole milliseconds, at once for a negative wait', () => {
    const now = () => 1_000_000;

    expect(deadlineIn(2_500.9, now).at).toBe(1_002_500);
    expect(deadlineIn(-50, now).at).toBe(1_000_000);
    expect(deadlineIn(LONGEST_TIMER_MS, now).at).toBe(1_000_000 + LONGEST_TIMER_MS);
  });

  it('is no deadline for NaN, Infinity or a wait past what a timer can take', () => {
    expect(deadlineIn(Number.NaN)).toBe(NO_DEADLINE);
    expect(deadlineIn(Number.POSITIVE_INFINITY)).toBe(NO_DEADLINE);
    expect(deadlineIn(LONGEST_TIMER_MS + 1)).toBe(NO_DEADLINE);
  });

  it('aborts its signal when the time is up', async () => {
    const deadline = deadlineIn(10);

    expect(deadline.signal.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(deadline.signal.aborted).toBe(true);
  });
});

describe('hasPassed', () => {
  it('passes at the deadline itself and after it, not before', () => {
    const { deadline } = manualDeadline(5_000);

    expect(hasPassed(deadline, () => 4_999)).toBe(false);
    expect(hasPassed(deadline, () => 5_000)).toBe(true);
    expect(hasPassed(deadline, () => 5_001)).toBe(true);
  });

  it('passes as soon as the signal aborts, whatever the clock says', () => {
    const { deadline, abort } = manualDeadline(5_000);

    abort();

    expect(hasPassed(deadline, () => 0)).toBe(true);
  });

  it('never passes for NO_DEADLINE', () => {
    expect(hasPassed(NO_DEADLINE)).toBe(false);
    expect(NO_DEADLINE.signal.aborted).toBe(false);
  });
});

describe('withinDeadline', () => {
  it('hands back the work itself when there is no deadline', () => {
    const work = Promise.resolve('done');

    expect(withinDeadline(work, NO_DEADLINE)).toBe(work);
  });

  it('settles as the work does when it finishes in time', async () => {
    const { deadline } = manualDeadline();

    await expect(withinDeadline(Promise.resolve('done'), deadline)).resolves.toBe('done');
    await expect(withinDeadline(Promise.reject(new Error('boom')), deadline)).rejects.toThrow('boom');
  });

  it('rejects with deadline-exceeded when the deadline passes first', async () => {
    const { deadline, abort } = manualDeadline();
    const pending = withinDeadline(new Promise(() => undefined), deadline);

    abort();

    await expect(pending).rejects.toSatisfy(isDeadlineExceeded);
  });

  it('rejects at once when the deadline has already passed, even if the work would succeed', async () => {
    const { deadline, abort } = manualDeadline();
    abort();

    await expect(withinDeadline(Promise.resolve('late'), deadline)).rejects.toSatisfy(isDeadlineExceeded);
  });

  it('leaves no listener on the invocation’s signal once the work has settled', async () => {
    const { signal, listeners } = recordingSignal();
    const deadline = { at: Date.now() + 60_000, signal };

    await withinDeadline(Promise.resolve(1), deadline);
    await withinDeadline(Promise.reject(new Error('boom')), deadline).catch(() => undefined);

    expect(signal.addEventListener).toHaveBeenCalledTimes(2);
    expect(listeners).toEqual([]);
  });
});
