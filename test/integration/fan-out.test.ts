import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alarmStateChange } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import type { StopOutcome } from '../../src/stop/outcome.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/** Glue's emulated limit, for every operation together, and the concurrency of the stop queue's event source. */
const GLUE_REQUESTS_PER_SECOND = 250;
const MAXIMUM_CONCURRENCY = 5;
const RUNS = 1000;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    glue: { rateLimit: { requestsPerSecond: GLUE_REQUESTS_PER_SECOND, scope: 'global' } },
    // Each concurrent instance takes an equal share of the one budget, as the deployment configures it.
    glueMaxRequestsPerSecond: GLUE_REQUESTS_PER_SECOND / MAXIMUM_CONCURRENCY,
    policy: {
      allow: [{ database: 'sales', tables: ['*'] }],
      dryRun: false,
      costGuards: [{ alarmName: 'sales-glue-dpu-spend', scope: { database: 'sales', tables: ['*'] } }],
    },
  });
});
afterAll(async () => {
  await h?.close();
});

describe('a cost guard over 1,000 running refreshes', () => {
  it('stops every one exactly once, inside one shared budget, with few List calls', {
    timeout: 120_000,
  }, async () => {
    const runs = Array.from({ length: RUNS }, (_, i) =>
      h.local.glue.seedRun({ databaseName: 'sales', tableName: `view_${String(i).padStart(4, '0')}_mv` }),
    );

    const expansion = (await h.alarmHandler(
      alarmStateChange('sales-glue-dpu-spend', { from: 'OK', to: 'ALARM' }),
      lambdaContext(),
    )) as StopOutcome;
    // A visibility timeout well above a batch's time, as the stack sets it (6 × the function timeout).
    const report = await h.drainStopQueue({
      maximumConcurrency: MAXIMUM_CONCURRENCY,
      visibilityTimeoutSeconds: 60,
      timeoutMs: 100_000,
    });

    // The alarm function hands the scope to the stop queue; the queue function expands it.
    expect(expansion).toMatchObject({ outcome: 'expanded', queued: 1 });
    const stopCalls = h.local.glue.calls.filter((c) => c.operation === 'StopMaterializedViewRefreshTaskRun');
    expect(new Set(stopCalls.map((c) => c.input.TableName)).size).toBe(RUNS);
    expect(stopCalls).toHaveLength(RUNS);
    expect(h.local.glue.calls.filter((c) => c.errorCode === 'ThrottlingException')).toHaveLength(0);
    expect(runs.filter((id) => h.local.glue.getRun(id)?.status !== 'STOPPED')).toEqual([]);
    expect(report).toMatchObject({ batchItemFailures: 0, deadLettered: 0 });
    // One Stop per view, and the scope's pages read twice (the expansion, each stop task): far fewer
    // than one List per view.
    const listCalls = h.local.glue.calls.filter((c) => c.operation === 'ListMaterializedViewRefreshTaskRuns');
    const callsPerStop = (stopCalls.length + listCalls.length) / RUNS;
    expect(callsPerStop).toBeLessThanOrEqual(1.15);
    expect(listCalls.length).toBeGreaterThan(1);
    expect(await h.takeDeadLetters()).toHaveLength(0);
  });
});
