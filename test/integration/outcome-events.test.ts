import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqsEvent, sqsRecord, stopEvent } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { OUTCOME_EVENT_DETAIL_TYPE, OUTCOME_EVENT_SOURCE } from '../../src/adapters/outcome-events.ts';
import { type Harness, startHarness } from '../support/harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    policy: { allow: [{ database: 'sales', tables: ['*'] }], dryRun: false, costGuards: [] },
  });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  h.local.glue.reset();
  h.local.eventBridge.reset();
  h.outcomes.length = 0;
  await h.takeDeadLetters();
});

const published = (): Record<string, unknown>[] =>
  h.local.eventBridge.events.map((e) => ({
    ...(e.detail as Record<string, unknown>),
    source: e.source,
    detailType: e.detailType,
  }));

describe('outcome events', () => {
  it('publishes every final outcome once, with the documented source, detail-type and fields', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'running_mv' });
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'stopping_mv', stopping: true });
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'done_mv', status: 'SUCCEEDED' });
    h.local.glue.seedRun({
      databaseName: 'sales',
      tableName: 'newer_mv',
      startTime: new Date('2026-11-29T03:00:00Z'),
    });
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'dry_mv' });
    const requests = [
      { DatabaseName: 'sales', TableName: 'running_mv', RequestedBy: 'ops', Reason: 'budget' },
      { DatabaseName: 'sales', TableName: 'stopping_mv' },
      { DatabaseName: 'sales', TableName: 'done_mv' },
      { DatabaseName: 'sales', TableName: 'newer_mv', IssuedAt: '2026-11-29T02:00:00Z' },
      { DatabaseName: 'sales', TableName: 'dry_mv', DryRun: true },
      { DatabaseName: 'sales', TableNames: ['nothing_*'] },
      { DatabaseName: 'hr', TableName: 'salaries_mv' },
      { DatabaseName: 'sales' },
    ];

    for (const request of requests) await h.eventHandler(stopEvent(request), lambdaContext());

    const events = published();
    expect(events.map((e) => e.outcome)).toEqual([
      'stop-requested',
      'already-stopping',
      'not-running',
      'skipped',
      'dry-run',
      'expanded',
      'not-allowed',
      'rejected',
    ]);
    expect(
      events.every((e) => e.source === OUTCOME_EVENT_SOURCE && e.detailType === OUTCOME_EVENT_DETAIL_TYPE),
    ).toBe(true);
    expect(events[0]).toMatchObject({
      version: '1',
      trigger: 'eventbridge',
      target: { CatalogId: '123456789012', DatabaseName: 'sales', TableName: 'running_mv' },
      requestedBy: 'ops',
      requestReason: 'budget',
      replayed: false,
      dryRun: false,
    });
    expect(typeof events[0]?.durationMs).toBe('number');
    expect(events[0]?.idempotencyKey).toMatch(/^event:/);
    expect(events[6]).toMatchObject({ reason: 'database-not-allowed' });
    expect(events[7]).toMatchObject({ reason: 'invalid-request' });
    expect(h.local.eventBridge.events.every((e) => e.eventBusName === 'default')).toBe(true);
  });

  it('publishes nothing for a retry (not final), and the final outcome once it comes', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.injectFault({ operation: 'StopMaterializedViewRefreshTaskRun', kind: 'operation-timeout' });
    const event = stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' });

    await expect(h.eventHandler(event, lambdaContext())).rejects.toThrow();
    await h.eventHandler(event, lambdaContext());

    expect(published().map((e) => e.outcome)).toEqual(['stop-requested']);
  });

  it('publishes nothing for a stop task handed on unstarted; the task publishes its views when it runs', async () => {
    await h.takeStopQueue(); // what earlier tests left there
    for (let i = 0; i < 40; i++) {
      h.local.glue.seedRun({ databaseName: 'sales', tableName: `view_${String(i).padStart(2, '0')}_mv` });
    }
    // A share of 5 calls/s makes tasks of a few views (200 ms each): a batch keeps the tasks it starts
    // within 2 s and hands the rest on.
    const { queueHandler } = h.handlers({ config: { glueMaxRequestsPerSecond: 5, stopQueueBatchSize: 10 } });
    await queueHandler(
      sqsEvent(sqsRecord({ DatabaseName: 'sales', TableNames: ['view_*'] })),
      lambdaContext(),
    );
    const tasks = await h.takeStopQueue();
    expect(tasks.length).toBeGreaterThan(3);
    h.local.eventBridge.reset();
    h.outcomes.length = 0;

    const answer = await queueHandler(sqsEvent(...tasks.map((task) => sqsRecord(task))), lambdaContext());

    expect(answer.batchItemFailures).toEqual([]);
    const handedOn = h.outcomes.filter((o) => o.outcome === 'expanded' && o.handedOn === true);
    const kept = tasks.length - handedOn.length;
    expect([kept, handedOn.length].every((n) => n > 0)).toBe(true);
    const events = published();
    // The kept tasks publish their views and their own outcomes; the tasks handed on, nothing.
    // A batch keeps its first tasks, in order.
    const viewsOf = (task: unknown) => (task as { ScopeTask: { Views: unknown[] } }).ScopeTask.Views.length;
    const stopped = h.outcomes.filter((o) => o.outcome === 'stop-requested');
    expect(stopped.length).toBe(tasks.slice(0, kept).reduce((sum: number, task) => sum + viewsOf(task), 0));
    expect(events.filter((e) => e.outcome === 'stop-requested')).toHaveLength(stopped.length);
    expect(events.filter((e) => e.outcome === 'expanded')).toHaveLength(kept);
    expect(events.some((e) => 'handedOn' in e || String(e.detail).startsWith('handed on'))).toBe(false);
    expect(await h.takeStopQueue()).toHaveLength(handedOn.length);
  });

  it('keeps the outcome when publishing fails', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.eventBridge.injectFault({ kind: 'internal-error', times: Number.POSITIVE_INFINITY });

    const outcome = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' }),
      lambdaContext(),
    );

    expect(outcome.outcome).toBe('stop-requested');
    expect(h.local.glue.getRun(runId)?.status).toBe('STOPPED');
    expect(h.local.eventBridge.events).toHaveLength(0);
    expect(h.local.eventBridge.calls.length).toBeGreaterThan(0);
  });
});
