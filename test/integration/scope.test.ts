import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqsEvent, sqsRecord, stopEvent } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { LOCAL_ACCOUNT_ID } from '../../local/local-aws.ts';
import { isRecord } from '../../src/request/parse.ts';
import { parseScopeTask, type ScopeTask } from '../../src/request/scope-task.ts';
import { FAN_OUT_RESERVE_MS, FINISH_RESERVE_MS } from '../../src/runtime/budget.ts';
import { reasonOf, type StopOutcome } from '../../src/stop/outcome.ts';
import { GUARD_READ_MAX_AGE_MS } from '../../src/stop/run-command.ts';
import { handOffKey } from '../../src/stop/scope-expansion.ts';
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
  await h.takeStopQueue();
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

const listCalls = () => h.local.glue.calls.filter((c) => c.operation === LIST);

/**
 * What the stop queue function reported for the scope whose key is `rootKey`: its tasks (keyed by their
 * content) and its views (each under its own key), all with the scope's key as parent.
 */
const childrenOf = (rootKey: string | undefined) => {
  const children = h.outcomes.filter((o) => rootKey !== undefined && o.parentIdempotencyKey === rootKey);
  return {
    tasks: children.filter((o) => o.outcome === 'expanded'),
    views: children.filter((o) => o.target !== undefined),
  };
};

/** The expansion the stop queue function made of a scope handed to it by `handOff` (first delivery). */
const expansionOf = (handOff: StopOutcome) =>
  h.outcomes.find(
    (o) =>
      o.outcome === 'expanded' &&
      o.trigger === 'sqs' &&
      o.parentIdempotencyKey === handOff.idempotencyKey &&
      !o.replayed,
  );

/** Seeds one run each of `runs` views in `sales`, every `finishedEvery`-th finished; returns the running views. */
const seedMany = (runs: number, finishedEvery = 5) => {
  const running: string[] = [];
  for (let i = 0; i < runs; i++) {
    const tableName = `view_${String(i).padStart(4, '0')}_mv`;
    const finished = i % finishedEvery === finishedEvery - 1;
    h.local.glue.seedRun({
      databaseName: 'sales',
      tableName,
      status: finished ? 'SUCCEEDED' : 'RUNNING',
      startTime: new Date(Date.now() - 60_000),
    });
    if (!finished) running.push(tableName);
  }
  return running;
};

/** The tasks among messages taken off the stop queue, read as the queue function reads them. */
const tasksIn = (messages: readonly unknown[]): ScopeTask[] =>
  messages.flatMap((m) => {
    const read = isRecord(m) ? parseScopeTask(m.ScopeTask, 'ScopeTask') : undefined;
    return read?.kind === 'task' ? [read.task] : [];
  });

describe('scope requests', () => {
  it('is handed to the stop queue by the event function, which makes no Glue call', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });

    const handOff = await h.eventHandler(
      stopEvent({
        DatabaseName: 'sales',
        TableNames: ['*'],
        RequestedBy: 'ops',
        IssuedAt: '2026-11-29T02:00:00Z',
      }),
      lambdaContext(),
    );
    const queued = await h.takeStopQueue();

    expect(handOff).toMatchObject({
      outcome: 'expanded',
      trigger: 'eventbridge',
      queued: 1,
      scope: { DatabaseName: 'sales', TableNames: ['*'] },
    });
    expect(h.local.glue.calls).toEqual([]);
    expect(queued).toStrictEqual([
      {
        CatalogId: LOCAL_ACCOUNT_ID,
        DatabaseName: 'sales',
        TableNames: ['*'],
        IssuedAt: '2026-11-29T02:00:00Z',
        IdempotencyKey: handOffKey(handOff.idempotencyKey ?? ''),
        ParentIdempotencyKey: handOff.idempotencyKey,
        RequestedBy: 'ops',
      },
    ]);
  });

  it('expands across every page of runs to the STARTING and RUNNING ones, and stops each once', async () => {
    const running = Array.from({ length: 12 }, (_, i) => `view_${i}_mv`);
    for (const [i, table] of running.entries()) {
      h.local.glue.seedRun({
        databaseName: 'sales',
        tableName: table,
        status: i % 2 === 0 ? 'RUNNING' : 'STARTING',
      });
    }
    // 1,500 newer, finished runs push the active ones onto the second page of ListMaterializedViewRefreshTaskRuns.
    for (let i = 0; i < 1500; i++)
      h.local.glue.seedRun({ databaseName: 'sales', tableName: `old_${i}_mv`, status: 'SUCCEEDED' });

    const handOff = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableNames: ['*'], RequestedBy: 'ops' }),
      lambdaContext(),
    );
    const report = await h.drainStopQueue();

    expect(handOff).toMatchObject({ outcome: 'expanded', queued: 1 });
    const expansion = expansionOf(handOff);
    expect(expansion).toMatchObject({
      outcome: 'expanded',
      queued: 1,
      detail: '12 running refreshes in 1 stop task from 2 pages (1512 runs listed)',
      requestedBy: 'ops',
    });
    // The expansion reads both pages, the one task reads the second page again.
    expect(listCalls().map((c) => c.input.NextToken !== undefined)).toEqual([false, true, true]);
    expect(report.deadLettered).toBe(0);
    expect([...stopCallsByTable().entries()].sort()).toEqual(running.map((t) => [`sales.${t}`, 1]).sort());
    // A slow batch can outlive the drain's 1 s visibility timeout: a redelivery is answered from the record.
    const { views, tasks } = childrenOf(expansion?.idempotencyKey);
    const firstTime = views.filter((o) => !o.replayed);
    expect(firstTime.map((o) => o.outcome)).toEqual(Array(12).fill('stop-requested'));
    expect(firstTime.every((o) => o.requestedBy === 'ops' && 'runId' in o && o.runId !== undefined)).toBe(
      true,
    );
    expect(tasks.filter((o) => !o.replayed)).toMatchObject([
      { detail: '12 views from 1 read of the page: 12 stop-requested', queued: 0 },
    ]);
  });

  it('matches table globs and leaves tables outside the allow-list alone', async () => {
    for (const table of ['campaign_daily', 'campaign_weekly', 'customer_360', 'campaign_x']) {
      h.local.glue.seedRun({ databaseName: 'marketing', tableName: table });
    }

    const handOff = await h.eventHandler(
      stopEvent({ DatabaseName: 'marketing', TableNames: ['campaign_?????', 'customer_*'] }),
      lambdaContext(),
    );
    await h.drainStopQueue();

    expect(handOff).toMatchObject({ outcome: 'expanded', queued: 1 });
    const expansion = expansionOf(handOff);
    expect(expansion).toMatchObject({ queued: 1 });
    expect(expansion?.detail).toContain('1 running refresh in 1 stop task');
    expect(expansion?.detail).toContain('1 outside the allow-list left alone');
    expect(childrenOf(expansion?.idempotencyKey).views.map((o) => o.target?.TableName)).toEqual([
      'campaign_daily',
    ]);
    expect([...stopCallsByTable().keys()]).toEqual(['marketing.campaign_daily']);
  });

  it('never stops anything twice when the scope request is delivered again', async () => {
    for (let i = 0; i < 5; i++) h.local.glue.seedRun({ databaseName: 'sales', tableName: `view_${i}_mv` });
    const event = stopEvent({ DatabaseName: 'sales', TableNames: ['*'] });

    await h.eventHandler(event, lambdaContext());
    const [handedOff] = await h.takeStopQueue();
    // The scope the event function handed on arrives twice; then a new refresh of one view starts, and
    // the same event arrives again, through the queue this time.
    await h.sendToStopQueue(handedOff);
    await h.sendToStopQueue(handedOff);
    await h.drainStopQueue();
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'view_0_mv' });
    const again = await h.queueHandler(sqsEvent(sqsRecord(event)), lambdaContext());
    await h.drainStopQueue();

    expect(again.batchItemFailures).toEqual([]);
    const scopeOutcomes = h.outcomes.filter(
      (o) => o.outcome === 'expanded' && !o.idempotencyKey?.startsWith('task-'),
    );
    expect(scopeOutcomes.map((o) => [o.trigger, o.replayed])).toEqual([
      ['eventbridge', false],
      ['sqs', false],
      ['sqs', true],
      ['sqs', true],
    ]);
    expect([...stopCallsByTable().values()]).toEqual([1, 1, 1, 1, 1]);
    expect(h.local.glue.runsOf({ databaseName: 'sales', tableName: 'view_0_mv' }).at(-1)?.status).toBe(
      'RUNNING',
    );
  });

  it('skips a table whose refresh was replaced by a newer run between the expansion and its stop task', async () => {
    const oldRun = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'weekly_mv' });

    await h.eventHandler(stopEvent({ DatabaseName: 'sales', TableNames: ['*'] }), lambdaContext());
    const [handedOff] = await h.takeStopQueue();
    await h.queueHandler(sqsEvent(sqsRecord(handedOff)), lambdaContext());
    // Between expansion and stop task: the old run finishes and a new one starts.
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
    const expansion = h.outcomes.find((o) => o.outcome === 'expanded');
    await h.drainStopQueue();

    expect(response.batchItemFailures).toEqual([]);
    expect(expansion?.detail).toBe(
      '1 running refresh in 1 stop task from 1 page (2 runs listed); 1 started after the request was issued, left alone',
    );
    expect(childrenOf(expansion?.idempotencyKey).views).toMatchObject([
      { outcome: 'stop-requested', runId: before, target: { TableName: 'before_mv' } },
    ]);
    expect(h.local.glue.getRun(whileQueued)?.status).toBe('RUNNING');
    expect([...stopCallsByTable().keys()]).toEqual(['sales.before_mv']);
  });

  it('expands to nothing when nothing matching is running', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'done_mv', status: 'SUCCEEDED' });

    const handOff = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableNames: ['*'] }),
      lambdaContext(),
    );
    await h.drainStopQueue();

    expect(handOff).toMatchObject({ outcome: 'expanded', queued: 1 });
    expect(expansionOf(handOff)).toMatchObject({
      queued: 0,
      detail: '0 running refreshes in 0 stop tasks from 1 page (1 run listed)',
    });
    expect(h.local.glue.callCount(STOP)).toBe(0);
  });
});

describe('stop tasks and the run guard', () => {
  /** Replaces the current run of `daily_mv` by a new one, started now: after the scope was issued. */
  const replaceRun = (oldRun: string) => {
    h.local.glue.finishRun(oldRun, 'SUCCEEDED');
    return h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
  };

  /** A scope issued a second ago over `daily_mv`, whose run started a minute ago. */
  const issuedScope = () => {
    const oldRun = h.local.glue.seedRun({
      databaseName: 'sales',
      tableName: 'daily_mv',
      startTime: new Date(Date.now() - 60_000),
    });
    const scope = {
      DatabaseName: 'sales',
      TableNames: ['daily_mv'],
      IssuedAt: new Date(Date.now() - 1_000).toISOString(),
    };
    return { oldRun, scope };
  };

  /** Calls the hook as the stop task's List call arrives: the second List call (the expansion's is the first). */
  const onTaskRead = (hook: () => void) => {
    let lists = 0;
    h.local.glue.setFaultHook(({ operation }) => {
      if (operation === LIST && ++lists === 2) hook();
      return undefined;
    });
  };

  it('never stops a run that replaced the expansion’s run up to the moment the task reads its page', async () => {
    const { oldRun, scope } = issuedScope();
    let newRun: string | undefined;
    // Just before the task's List call is answered, the old run finishes and a new one starts.
    onTaskRead(() => {
      newRun = replaceRun(oldRun);
    });

    await h.queueHandler(sqsEvent(sqsRecord(scope)), lambdaContext());
    await h.drainStopQueue();

    expect(newRun).toBeDefined();
    expect(h.outcomes.find((o) => o.target?.TableName === 'daily_mv')).toMatchObject({
      outcome: 'skipped',
      runId: newRun,
    });
    expect(h.local.glue.getRun(newRun ?? '')?.status).toBe('RUNNING');
    expect(h.local.glue.callCount(STOP)).toBe(0);
  });

  it('leaves one window, bounded: a run replaced after the task read its page is stopped by a Stop sent within GUARD_READ_MAX_AGE_MS of that read', async () => {
    // Glue's Stop names a view, not a run: a Stop that a read vouched for stops whatever runs when it
    // arrives. What the guard bounds is the window from the List answer to the Stop's first attempt.
    const { oldRun, scope } = issuedScope();
    let newRun: string | undefined;
    // The task's List call is answered from the old run; right after, before the Stop arrives, the run is replaced.
    onTaskRead(() =>
      queueMicrotask(() => {
        newRun = replaceRun(oldRun);
      }),
    );

    await h.queueHandler(sqsEvent(sqsRecord(scope)), lambdaContext());
    await h.drainStopQueue();

    const taskRead = listCalls()[1];
    const stop = h.local.glue.calls.find((c) => c.operation === STOP);
    expect(taskRead && stop && stop.at - taskRead.at).toBeLessThan(GUARD_READ_MAX_AGE_MS);
    expect(h.outcomes.find((o) => o.target?.TableName === 'daily_mv')).toMatchObject({
      outcome: 'stop-requested',
      runId: oldRun,
    });
    expect(stop?.runId).toBe(newRun);
  });
});

describe('a scope over many pages', () => {
  it('sends the tasks of each page before reading the next, at most 100 views each, and stops every view once', {
    timeout: 60_000,
  }, async () => {
    // 2,500 runs, newest first in the listing: three pages of 1,000 (the adapter's MaxResults), 2,000 running.
    const running = seedMany(2_500);
    const waitingAtRead: Promise<number>[] = [];
    h.local.glue.setFaultHook(({ operation, input }) => {
      if (operation !== LIST || input.NextToken === undefined) return undefined;
      // As the expansion reads the next page, the tasks of the pages before are already on the queue.
      waitingAtRead.push(h.stopQueueDepth());
      return { kind: 'delay', delayMs: 1_000 };
    });

    await h.queueHandler(sqsEvent(sqsRecord({ DatabaseName: 'sales', TableNames: ['*'] })), lambdaContext());
    h.local.glue.setFaultHook(undefined);
    const expansion = h.outcomes.find((o) => o.outcome === 'expanded');
    const messages = await h.takeStopQueue();
    const tasks = tasksIn(messages);

    expect(expansion).toMatchObject({
      queued: 20,
      detail: '2000 running refreshes in 20 stop tasks from 3 pages (2500 runs listed)',
    });
    expect(await Promise.all(waitingAtRead)).toEqual([8, 16]);
    expect(tasks).toHaveLength(messages.length);
    expect(tasks.every((t) => t.Kind === 'stop' && (t.Views?.length ?? 0) <= 100)).toBe(true);
    const views = tasks.flatMap((t) => t.Views?.map((v) => v.TableName) ?? []);
    expect(views.toSorted()).toEqual(running);
    // The first page is the newest 1,000 runs: its tasks name exactly the running views among them.
    const firstPage = tasks.filter((t) => t.PageToken === undefined).flatMap((t) => t.Views ?? []);
    expect(firstPage.map((v) => v.TableName).toSorted()).toEqual(running.filter((t) => t >= 'view_1500_mv'));
    expect(new Set(tasks.map((t) => t.PageToken)).size).toBe(3);

    for (const message of messages) await h.sendToStopQueue(message);
    const report = await h.drainStopQueue({ visibilityTimeoutSeconds: 30, timeoutMs: 50_000 });

    expect(report).toMatchObject({ batchItemFailures: 0, deadLettered: 0 });
    expect([...stopCallsByTable().values()].every((n) => n === 1)).toBe(true);
    expect(stopCallsByTable().size).toBe(2_000);
    // Three pages read by the expansion, and at most one by each of the 20 tasks: the next task of a page
    // on an instance stops from the last read of it while that read is young.
    expect(listCalls().length).toBeGreaterThanOrEqual(6);
    expect(listCalls().length).toBeLessThanOrEqual(23);
  });

  it('goes on in a list task when the expansion runs short of time, and still stops every view once', {
    timeout: 60_000,
  }, async () => {
    const running = seedMany(2_100, 10);
    // The deadline (the time left, less the finish reserve) leaves less than the fan-out reserve after a page.
    const response = await h.queueHandler(
      sqsEvent(sqsRecord({ DatabaseName: 'sales', TableNames: ['*'] })),
      lambdaContext({ remainingMs: FINISH_RESERVE_MS + FAN_OUT_RESERVE_MS - 1_000 }),
    );
    const expansion = h.outcomes.find((o) => o.outcome === 'expanded');
    await h.drainStopQueue({ visibilityTimeoutSeconds: 30 });

    expect(response.batchItemFailures).toEqual([]);
    expect(expansion).toMatchObject({
      queued: 10,
      detail:
        '900 running refreshes in 9 stop tasks from 1 page (1000 runs listed); the listing goes on in a follow-up task',
    });
    const { tasks } = childrenOf(expansion?.idempotencyKey);
    expect(tasks.filter((o) => o.detail.includes('stop task'))).toMatchObject([
      { queued: 10, detail: '990 running refreshes in 10 stop tasks from 2 pages (1100 runs listed)' },
    ]);
    expect(stopCallsByTable().size).toBe(running.length);
    expect([...stopCallsByTable().values()].every((n) => n === 1)).toBe(true);
  });

  it('goes on in a list task when a page read fails half-way, and a redelivered scope stops nothing twice', {
    timeout: 60_000,
  }, async () => {
    const running = seedMany(2_100, 10);
    // The expansion's read of the second page fails, every attempt: the pages already read are kept and
    // the listing goes on in a list task from that page.
    h.local.glue.injectFault({
      operation: LIST,
      kind: 'internal-error',
      times: 3,
      match: (input) => input.NextToken !== undefined,
    });
    const record = sqsRecord({ DatabaseName: 'sales', TableNames: ['*'], IdempotencyKey: 'spike-1' });

    const first = await h.queueHandler(sqsEvent(record), lambdaContext());
    await h.drainStopQueue({ visibilityTimeoutSeconds: 5 });
    // SQS delivers the scope again (say its invocation's answer was lost): answered from its record.
    const redelivered = await h.queueHandler(
      sqsEvent({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }),
      lambdaContext(),
    );
    await h.drainStopQueue({ visibilityTimeoutSeconds: 5 });

    expect(first.batchItemFailures).toEqual([]);
    expect(redelivered.batchItemFailures).toEqual([]);
    const expansions = h.outcomes.filter(
      (o) => o.outcome === 'expanded' && o.idempotencyKey === 'key:spike-1',
    );
    expect(expansions).toMatchObject([
      {
        replayed: false,
        queued: 10,
        detail:
          '900 running refreshes in 9 stop tasks from 1 page (1000 runs listed); the listing goes on in a follow-up task',
      },
      { replayed: true },
    ]);
    // Every task ran once, the list task included (a task handed on unstarted did not run then).
    const { tasks } = childrenOf('key:spike-1');
    const ran = tasks
      .filter((o) => !o.replayed && !('detail' in o && o.detail?.startsWith('handed on unstarted')))
      .map((o) => o.idempotencyKey);
    expect(new Set(ran).size).toBe(ran.length);
    expect(stopCallsByTable().size).toBe(running.length);
    expect([...stopCallsByTable().values()].every((n) => n === 1)).toBe(true);
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

  it('carries a dry-run scope through the hand-off and its tasks to every view, with zero stop calls', async () => {
    for (let i = 0; i < 4; i++) h.local.glue.seedRun({ databaseName: 'sales', tableName: `view_${i}_mv` });

    const handOff = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableNames: ['*'], DryRun: true }),
      lambdaContext(),
    );
    await h.drainStopQueue();

    expect(handOff).toMatchObject({ outcome: 'expanded', queued: 1, dryRun: true });
    const expansion = expansionOf(handOff);
    expect(expansion).toMatchObject({ queued: 1, dryRun: true });
    const { views, tasks } = childrenOf(expansion?.idempotencyKey);
    expect(views.map((o) => [o.outcome, o.dryRun])).toEqual(Array(4).fill(['dry-run', true]));
    expect(views.every((o) => o.idempotencyKey?.startsWith('dry-run:'))).toBe(true);
    expect(tasks.map((o) => o.dryRun)).toEqual([true]);
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
