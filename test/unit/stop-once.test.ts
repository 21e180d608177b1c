import { describe, expect, it } from 'vitest';
import type { StopTarget } from '../../src/request/contract.ts';
import { GlueCallError, PermanentStopError, TransientStopError } from '../../src/stop/errors.ts';
import type { RefreshStopper, StopCommand } from '../../src/stop/ports.ts';
import { stopOnce } from '../../src/stop/stop-once.ts';
import { deepFreeze, glueFailure, stopTarget } from './support/records.ts';

const DECIDED_AT = new Date('2026-11-29T02:00:07.000Z');
const fixedNow = () => DECIDED_AT;

/** A stopper that records what it was asked and then answers with `answer` (resolves, or throws it). */
const fakeStopper = (answer?: unknown) => {
  const calls: StopTarget[] = [];
  const stopper: RefreshStopper = {
    async stopRefresh(target) {
      calls.push(target);
      if (answer !== undefined) throw answer;
    },
  };
  return { stopper, calls };
};

const command = (): StopCommand =>
  deepFreeze({ idempotencyKey: 'event:e-1', target: stopTarget({ TableName: 'daily_mv' }) });

const glueError = (code: string, httpStatusCode?: number) =>
  new GlueCallError(glueFailure(code, httpStatusCode));

/** What the promise rejected with; fails the test if it resolved. */
const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the stop to fail, but it resolved');
};

describe('stopOnce', () => {
  it('records stop-requested, at the injected time, when Glue accepts the stop', async () => {
    const { stopper, calls } = fakeStopper();

    const recorded = await stopOnce(command(), stopper, fixedNow);

    expect(recorded).toEqual({ result: 'stop-requested', decidedAt: '2026-11-29T02:00:07.000Z' });
    expect(calls).toEqual([command().target]);
  });

  it.each([
    ['MaterializedViewRefreshTaskStoppingException', 'already-stopping'],
    ['MaterializedViewRefreshTaskNotRunningException', 'not-running'],
  ] as const)('records %s as the result %s, not as an error', async (code, result) => {
    const { stopper } = fakeStopper(glueError(code, 400));

    const recorded = await stopOnce(command(), stopper, fixedNow);

    expect(recorded).toEqual({ result, decidedAt: DECIDED_AT.toISOString() });
  });

  it.each([
    ['InvalidInputException', 'glue-invalid-input'],
    ['AccessDeniedException', 'glue-access-denied'],
    ['EntityNotFoundException', 'table-not-found'],
  ] as const)(
    'throws %s as a PermanentStopError with reason %s and the Glue error as cause',
    async (code, reason) => {
      const failure = glueError(code, 400);
      const { stopper } = fakeStopper(failure);

      const error = await rejectionOf(stopOnce(command(), stopper, fixedNow));

      expect(error).toBeInstanceOf(PermanentStopError);
      expect(error).toMatchObject({
        name: 'PermanentStopError',
        reason,
        message: failure.message,
        cause: failure,
      });
    },
  );

  it.each([
    ['ThrottlingException', 400, 'glue-throttled'],
    ['OperationTimeoutException', 400, 'glue-operation-timeout'],
    ['InternalServiceException', 500, 'glue-server-error'],
    ['ECONNRESET', undefined, 'network-error'],
    ['ExpiredTokenException', 403, 'glue-unexpected-error'],
  ] as const)('throws %s as a TransientStopError with reason %s', async (code, status, reason) => {
    const failure = glueError(code, status);
    const { stopper } = fakeStopper(failure);

    const error = await rejectionOf(stopOnce(command(), stopper, fixedNow));

    expect(error).toBeInstanceOf(TransientStopError);
    expect(error).toMatchObject({ name: 'TransientStopError', reason, cause: failure });
  });

  it('throws anything that is not a GlueCallError as a TransientStopError unexpected-error, keeping the cause', async () => {
    const bug = new TypeError('stopper blew up');
    const { stopper } = fakeStopper(bug);

    const error = await rejectionOf(stopOnce(command(), stopper, fixedNow));

    expect(error).toBeInstanceOf(TransientStopError);
    expect(error).toMatchObject({
      reason: 'unexpected-error',
      message: 'Glue call failed unexpectedly: TypeError: stopper blew up',
      cause: bug,
    });
  });

  it('calls Glue exactly once with the target, and leaves the frozen command untouched', async () => {
    const frozen = command();
    const { stopper, calls } = fakeStopper();

    await stopOnce(frozen, stopper, fixedNow);

    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual({ CatalogId: '123456789012', DatabaseName: 'sales', TableName: 'daily_mv' });
    expect(frozen).toEqual(command());
  });

  it('returns plain JSON that survives a round trip (what the idempotency store keeps)', async () => {
    const { stopper } = fakeStopper();

    const recorded = await stopOnce(command(), stopper, fixedNow);

    expect(JSON.parse(JSON.stringify(recorded))).toStrictEqual(recorded);
  });
});
