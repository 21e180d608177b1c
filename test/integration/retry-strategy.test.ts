/**
 * The clients' retry strategy against the Glue emulator: every call keeps its attempts however many calls
 * failed before it (the SDK's standard mode stops retrying once its per-client budget is spent).
 */
import {
  GlueClient,
  ListMaterializedViewRefreshTaskRunsCommand,
  StopMaterializedViewRefreshTaskRunCommand,
} from '@aws-sdk/client-glue';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GlueEmulator, startGlueEmulator } from '../../local/glue-emulator.ts';
import { AttemptsRetryStrategy, THROTTLING_ONLY } from '../../src/runtime/retry-strategy.ts';

const LIST = 'ListMaterializedViewRefreshTaskRuns';
const CALLS = 150;
let glue: GlueEmulator;
beforeAll(async () => {
  glue = await startGlueEmulator();
});
afterAll(async () => {
  await glue?.close();
});
beforeEach(() => {
  glue.reset();
  glue.injectFault({ operation: LIST, kind: 'internal-error', times: Number.POSITIVE_INFINITY });
});

const clientWith = (retryStrategy: AttemptsRetryStrategy | ConfiguredRetryStrategy) =>
  new GlueClient({
    endpoint: glue.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    retryStrategy,
  });

/** Attempts each of `CALLS` failing calls made, in order. */
const attemptsPerCall = async (client: GlueClient): Promise<number[]> => {
  const attempts: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const before = glue.callCount(LIST);
    await client
      .send(new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: '123456789012' }))
      .catch(() => {});
    attempts.push(glue.callCount(LIST) - before);
  }
  return attempts;
};

describe('the clients’ retry strategy', () => {
  it('gives every failing call all its attempts, the last ones as much as the first', async () => {
    const attempts = await attemptsPerCall(clientWith(new AttemptsRetryStrategy(3, () => 0)));

    expect(new Set(attempts)).toEqual(new Set([3]));
  });

  it('is needed: the SDK’s standard strategy with the same attempts stops retrying part-way', async () => {
    const attempts = await attemptsPerCall(clientWith(new ConfiguredRetryStrategy(3, 0)));

    expect(attempts[0]).toBe(3);
    expect(attempts.at(-1)).toBe(1);
  });

  it('does not retry a client error, and waits a back-off that grows from its base', async () => {
    const strategy = new AttemptsRetryStrategy(3, () => 1);
    const token = await strategy.acquireInitialRetryToken();

    const first = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING' });
    const second = await strategy.refreshRetryTokenForRetry(first, { errorType: 'TRANSIENT' });

    expect([first.getRetryCount(), first.getRetryDelay()]).toEqual([1, 1_000]);
    expect([second.getRetryCount(), second.getRetryDelay()]).toEqual([2, 100]);
    await expect(strategy.refreshRetryTokenForRetry(second, { errorType: 'TRANSIENT' })).rejects.toThrow();
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'CLIENT_ERROR' })).rejects.toThrow();
  });
});

describe('the Stop client’s retry strategy (throttling only)', () => {
  const STOP = 'StopMaterializedViewRefreshTaskRun';
  const stopOnce = async (client: GlueClient) => {
    const before = glue.callCount(STOP);
    const error = await client
      .send(
        new StopMaterializedViewRefreshTaskRunCommand({
          CatalogId: '123456789012',
          DatabaseName: 'sales',
          TableName: 'daily_mv',
        }),
      )
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    return { attempts: glue.callCount(STOP) - before, error };
  };

  it('sends a Stop that failed with a 5xx once: it may have been carried out', async () => {
    glue.injectFault({ operation: STOP, kind: 'internal-error', times: Number.POSITIVE_INFINITY });
    const { attempts, error } = await stopOnce(
      clientWith(new AttemptsRetryStrategy(3, () => 0, THROTTLING_ONLY)),
    );
    expect(attempts).toBe(1);
    expect(error).toMatchObject({ name: 'InternalServiceException' });
  });

  it('sends a throttled Stop again, with all its attempts: Glue refused it before acting', async () => {
    glue.injectFault({ operation: STOP, kind: 'throttle', times: Number.POSITIVE_INFINITY });
    const { attempts } = await stopOnce(clientWith(new AttemptsRetryStrategy(3, () => 0, THROTTLING_ONLY)));
    expect(attempts).toBe(3);
  });

  it('gives up on a transient error at once, a throttle after its attempts', async () => {
    const strategy = new AttemptsRetryStrategy(3, () => 1, THROTTLING_ONLY);
    const token = await strategy.acquireInitialRetryToken();
    await expect(strategy.refreshRetryTokenForRetry(token, { errorType: 'TRANSIENT' })).rejects.toThrow();
    const first = await strategy.refreshRetryTokenForRetry(token, { errorType: 'THROTTLING' });
    expect(first.getRetryCount()).toBe(1);
  });
});
