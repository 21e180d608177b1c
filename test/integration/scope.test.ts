import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqsEvent, sqsRecord, stopEvent } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { reasonOf } from '../../src/stop/outcome.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const STOP = 'StopMaterializedViewRefreshTaskRun';
const LIST = 'ListMaterializedViewRefreshTaskRuns';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    policy: {
      allow: [
        { database: 'sales', tables: ['*'] },
        { database: 'marketing', tables: ['campaign_*'] },
      ],
      dryRun: false,
      costGuards: [],
    },
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

const stopCallsByTable = () => {
  const counts = new Map<string, number>();
  for (const call of h.local.glue.calls) {
    if (call.operation !== STOP) continue;
    const key = `${String(call.input.DatabaseName)}.${String(call.input.TableName)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
};

describe('scope requests', () => {
  it('expands across every page of runs to the STARTING and RUNNING ones, and stops each once', async () => {
    // 1,500 finished runs push the active ones onto a second page of ListMaterializedViewRefreshTaskRuns.
    for (let i = 0; i < 1500; i++)
      h.local.glue.seedRun({ databaseName: 'sales', tableName: `old_${i}_mv`, status: 'SUCCEEDED' });
    const running = Array.from({ length: 12 }, (_, i) => `view_${i}_mv`);
    for (const [i, table] of running.entries()) {
      h.local.glue.seedRun({
        databaseName: 'sales',
        tableName: table,
        status: i % 2 === 0 ? 'RUNNING' : 'STARTING',
      });
    }

    const expansion = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableNames: ['*'], RequestedBy: 'ops' }),
      lambdaContext(),
    );
    const report = await h.drainStopQueue();

    expect(expansion).toMatchObject({
      outcome: 'expanded',
      queued: 12,
      scope: { DatabaseName: 'sales', TableNames: ['*'] },
    });
    expect(
      h.local.glue.calls.filter((c) => c.operation === LIST && c.input.TableName === undefined).length,
    ).toBe(2);
    expect(report.deadLettered).toBe(0);
    expect([...stopCallsByTable().entries()].sort()).toEqual(running.map((t) => [`sales.${t}`, 1]).sort());
    // A slow batch can outlive the drain's 1 s visibility timeout: a redelivery is answered from the record.
    const children = h.outcomes.filter(
      (o) => o.parentIdempotencyKey === expansion.idempotencyKey && !o.replayed,
    );
    expect(children.map((o) => o.outcome)).toEqual(Array(12).fill('stop-requested'));
    expect(children.every((o) => o.requestedBy === 'ops' && 'runId' in o && o.runId !== undefined)).toBe(
      true,
    );
  });

  it('matches table globs and leaves tables outside the allow-list alone', async () => {
    for (const table of ['campaign_daily', 'campaign_weekly', 'customer_360', 'campaign_x']) {
      h.local.glue.seedRun({ databaseName: 'marketing', tableName: table });
    }

    const expansion = await h.eventHandler(
      stopEvent({ DatabaseName: 'marketing', TableNames: ['campaign_?????', 'customer_*'] }),
      lambdaContext(),
    );
    await h.drainStopQueue();

    expect(expansion).toMatchObject({ outcome: 'expanded', queued: 1 });
    expect(expansion.detail).toContain('1 outside the allow-list left alone');
    expect([...stopCallsByTable().keys()]).toEqual(['marketing.campaign_daily']);
  });

  it('never stops anything twice when the scope request is delivered again', async () => {
    for (let i = 0; i < 5; i++) h.local.glue.seedRun({ databaseName: 'sales', tableName: `view_${i}_mv` });
    const event = stopEvent({ DatabaseName: 'sales', TableNames: ['*'] });

    await h.eventHandler(event, lambdaContext());
    await h.drainStopQueue();
    // A new refresh of one of those views starts; then the same scope request arrives again.
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'view_0_mv' });
    const again = await h.queueHandler(sqsEvent(sqsRecord(event)), lambdaContext());
    await h.drainStopQueue();

    expect(again.batchItemFailures).toEqual([]);
    expect(h.outcomes.filter((o) => o.outcome === 'expanded').map((o) => o.replayed)).toEqual([false, true]);
    expect([...stopCallsByTable().values()]).toEqual([1, 1, 1, 1, 1]);
    expect(h.local.glue.runsOf({ databaseName: 'sales', tableName: 'view_0_mv' }).at(-1)?.status).toBe(
      'RUNNING',
    );
  });

  it('skips a table whose refresh was replaced by a newer run before its stop request was processed', async () => {
    const oldRun = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'weekly_mv' });

    await h.eventHandler(stopEvent({ DatabaseName: 'sales', TableNames: ['*'] }), lambdaContext());
    // Between expansion and stop: the old run finishes and a new one starts.
    h.local.glue.finishRun(oldRun, 'SUCCEEDED');
    const newRun = h.local.glue.seedRun({
      databaseName: 'sales',
      tableName: 'daily_mv',
      startTime: new Date(Date.now() + 1000),
    });
    await h.drainStopQueue();

    const skipped = h.outcomes.find((o) => o.target?.TableName === 'daily_mv');
    expect(skipped).toMatchObject({ outcome: 'skipped', runId: newRun });
    expect(skipped?.detail).toContain('newer run, skipped');
    expect(h.local.glue.getRun(newRun)?.status).toBe('RUNNING');
    expect([...stopCallsByTable().keys()]).toEqual(['sales.weekly_mv']);
  });

  it('never stops a refresh that started while the scope request waited in the stop queue', async () => {
    // The producer sent the scope request (no IssuedAt) a minute ago; it counts as issued then.
    const sentAt = Date.now() - 60_000;
    const before = h.local.glue.seedRun({
      databaseName: 'sales',
      tableName: 'before_mv',
      startTime: new Date(sentAt - 60_000),
    });
    const whileQueued = h.local.glue.seedRun({
      databaseName: 'sales',
      tableName: 'while_queued_mv',
      startTime: new Date(sentAt + 30_000),
    });

    const response = await h.queueHandler(
      sqsEvent(
        sqsRecord(
          { DatabaseName: 'sales', TableNames: ['*'] },
          { attributes: { SentTimestamp: String(sentAt) } },
        ),
      ),
      lambdaContext(),
    );
    await h.drainStopQueue();

    expect(response.batchItemFailures).toEqual([]);
    const child = (table: string) => h.outcomes.find((o) => o.target?.TableName === table);
    expect(child('while_queued_mv')).toMatchObject({ outcome: 'skipped', runId: whileQueued });
    expect(child('before_mv')).toMatchObject({ outcome: 'stop-requested', runId: before });
    expect(h.local.glue.getRun(whileQueued)?.status).toBe('RUNNING');
    expect([...stopCallsByTable().keys()]).toEqual(['sales.before_mv']);
  });

  it('expands to nothing when nothing matching is running', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'done_mv', status: 'SUCCEEDED' });

    const expansion = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableNames: ['*'] }),
      lambdaContext(),
    );

    expect(expansion).toMatchObject({ outcome: 'expanded', queued: 0 });
    expect(h.local.glue.callCount(STOP)).toBe(0);
  });
});

describe('the run guard on exact requests', () => {
  it('stops the run the request names', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });

    const outcome = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv', RunId: runId }),
      lambdaContext(),
    );

    expect(outcome).toMatchObject({ outcome: 'stop-requested', runId });
    expect(h.local.glue.getRun(runId)?.status).toBe('STOPPED');
  });

  it('skips a different run than the one named, and a run that started after IssuedAt', async () => {
    const current = h.local.glue.seedRun({
      databaseName: 'sales',
      tableName: 'daily_mv',
      startTime: new Date('2026-11-29T02:10:00Z'),
    });

    const otherRun = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv', RunId: crypto.randomUUID() }),
      lambdaContext(),
    );
    const issuedBefore = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv', IssuedAt: '2026-11-29T02:00:00Z' }),
      lambdaContext(),
    );

    expect([otherRun.outcome, issuedBefore.outcome]).toEqual(['skipped', 'skipped']);
    expect(h.local.glue.callCount(STOP)).toBe(0);
    expect(h.local.glue.getRun(current)?.status).toBe('RUNNING');
  });
});

describe('guardrails and dry-run', () => {
  it('refuses a table outside the allow-list with zero Glue calls, and parks it with the reason', async () => {
    h.local.glue.seedRun({ databaseName: 'hr', tableName: 'salaries_mv' });
    h.local.glue.seedRun({ databaseName: 'marketing', tableName: 'customer_360' });

    const database = await h.eventHandler(
      stopEvent({ DatabaseName: 'hr', TableName: 'salaries_mv' }),
      lambdaContext(),
    );
    const table = await h.eventHandler(
      stopEvent({ DatabaseName: 'marketing', TableName: 'customer_360' }),
      lambdaContext(),
    );
    const scope = await h.eventHandler(stopEvent({ DatabaseName: 'hr', TableNames: ['*'] }), lambdaContext());

    expect([database, table, scope].map((o) => [o.outcome, reasonOf(o)])).toEqual([
      ['not-allowed', 'database-not-allowed'],
      ['not-allowed', 'table-not-allowed'],
      ['not-allowed', 'database-not-allowed'],
    ]);
    expect(h.local.glue.callCount()).toBe(0);
    const parked = await h.takeDeadLetters();
    expect(parked.map((m) => m.MessageAttributes?.['glue-mv-stop.outcome']?.StringValue)).toEqual([
      'not-allowed',
      'not-allowed',
      'not-allowed',
    ]);
  });

  it('runs a dry-run request through the run lookup and says what it would stop, with zero stop calls', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });

    const outcome = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv', DryRun: true }),
      lambdaContext(),
    );

    expect(outcome).toMatchObject({
      outcome: 'dry-run',
      dryRun: true,
      runId,
      detail: `dry run: would stop run ${runId}`,
    });
    expect(h.local.glue.callCount(STOP)).toBe(0);
    expect(h.local.glue.getRun(runId)?.status).toBe('RUNNING');
  });

  it('carries a dry-run scope through expansion to every derived request, with zero stop calls', async () => {
    for (let i = 0; i < 4; i++) h.local.glue.seedRun({ databaseName: 'sales', tableName: `view_${i}_mv` });

    const expansion = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableNames: ['*'], DryRun: true }),
      lambdaContext(),
    );
    await h.drainStopQueue();

    expect(expansion).toMatchObject({ outcome: 'expanded', queued: 4, dryRun: true });
    const children = h.outcomes.filter((o) => o.parentIdempotencyKey !== undefined);
    expect(children.map((o) => [o.outcome, o.dryRun])).toEqual(Array(4).fill(['dry-run', true]));
    expect(h.local.glue.callCount(STOP)).toBe(0);
  });

  it('does not use up the key: the real request after a rehearsal with the same key stops', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const request = {
      DatabaseName: 'sales',
      TableName: 'daily_mv',
      IdempotencyKey: `rehearsal-${crypto.randomUUID()}`,
    };

    const rehearsal = await h.eventHandler(stopEvent({ ...request, DryRun: true }), lambdaContext());
    const real = await h.eventHandler(stopEvent(request), lambdaContext());

    expect([rehearsal.outcome, real.outcome, real.replayed]).toEqual(['dry-run', 'stop-requested', false]);
    expect(h.local.glue.getRun(runId)?.status).toBe('STOPPED');
  });

  it('honours the stage-wide dry-run switch', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const { eventHandler } = h.handlers({ config: { policy: { ...h.local.config.policy, dryRun: true } } });

    const outcome = await eventHandler(
      stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' }),
      lambdaContext(),
    );

    expect(outcome).toMatchObject({ outcome: 'dry-run', runId });
    expect(h.local.glue.callCount(STOP)).toBe(0);
  });
});
