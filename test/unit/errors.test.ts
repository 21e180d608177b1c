import { describe, expect, it } from 'vitest';
import { GlueCallError, StopError, StopRetryError, toStopError } from '../../src/stop/errors.ts';

describe('GlueCallError', () => {
  it('names itself and says the code and the message', () => {
    const error = new GlueCallError({
      code: 'ThrottlingException',
      message: 'Rate exceeded',
      httpStatusCode: 400,
    });

    expect(error).toMatchObject({ name: 'GlueCallError', message: 'ThrottlingException: Rate exceeded' });
    expect(error.failure).toStrictEqual({
      code: 'ThrottlingException',
      message: 'Rate exceeded',
      httpStatusCode: 400,
    });
  });
});

describe('toStopError', () => {
  it('passes a StopError through unchanged', () => {
    const error = StopError.rejected('glue-access-denied', 'no');

    expect(toStopError(error)).toBe(error);
  });

  it('turns anything else into retry unexpected-error, keeping it as the cause', () => {
    const cause = new TypeError('boom');

    const error = toStopError(cause);

    expect(error).toMatchObject({
      failure: { kind: 'retry', reason: 'unexpected-error' },
      message: 'TypeError: boom',
    });
    expect(error.cause).toBe(cause);
  });
});

describe('StopRetryError', () => {
  it('names itself and says why the request goes back, keeping the outcome', () => {
    const outcome = { outcome: 'retry', reason: 'glue-throttled', detail: 'Rate exceeded' } as const;

    const error = new StopRetryError(outcome as ConstructorParameters<typeof StopRetryError>[0]);

    expect(error).toMatchObject({
      name: 'StopRetryError',
      message: 'stop will be retried: glue-throttled (Rate exceeded)',
    });
    expect(error.outcome).toBe(outcome);
  });
});
