/**
 * The clients' retry strategy against the Glue emulator: every call keeps its attempts however many calls
 * failed before it (the SDK's standard mode stops retrying once its per-client budget is spent).
 */
import { GlueClient, ListMaterializedViewRefreshTaskRunsCommand } from '@aws-sdk/client-glue';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GlueEmulator, startGlueEmulator } from '../../local/glue-emulator.ts';
import { AttemptsRetryStrategy } from '../../src/runtime/retry-strategy.ts';

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
