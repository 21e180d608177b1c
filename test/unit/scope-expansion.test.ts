/**
 * A scope's expansion in the queue function: listed page by page into stop tasks, and each stop task's
 * views stopped from one fresh read of its page, behind fakes of Glue, the stop queue and the idempotency
 * store (`support/fan-out.ts`).
 */
import {
  GlueClient,
  ListMaterializedViewRefreshTaskRunsCommand,
  StopMaterializedViewRefreshTaskRunCommand,
} from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { createGlueRefreshRuns } from '../../src/adapters/glue-refresh-runs.ts';
import { createRateLimiter, unlimited } from '../../src/adapters/rate-limiter.ts';
import { parseScopeTask, SCOPE_TASK_FIELD, type ScopeTask } from '../../src/request/scope-task.ts';
import { FAN_OUT_RESERVE_MS, STOP_TASK_BATCH_PLAN_MS } from '../../src/runtime/budget.ts';
import { fanOutSettings } from '../../src/runtime/stop-runtime.ts';
import { GlueCallError, ReadTooOldError, StopError } from '../../src/stop/errors.ts';
import type { QueuedMessage, ScopeStopCommand, TaskStopCommand } from '../../src/stop/ports.ts';
import { createRecentPages, pageKey } from '../../src/stop/recent-pages.ts';
import { derivedIdempotencyKey, GUARD_READ_MAX_AGE_MS, runStopCommand } from '../../src/stop/run-command.ts';
import {
  expandScope,
  handOffKey,
  handOffScope,
  rootKeyOf,
  runScopeTask,
  scopeTaskKey,
  viewKey,
} from '../../src/stop/scope-expansion.ts';
import type { Interpreted } from '../../src/triggers/skeleton.ts';
import { oneAtATime, taskTurns } from '../../src/triggers/stop-queue.ts';
import { fakeContext, fakeFanOut, listedRun, runIdOf } from './support/fan-out.ts';
import { deepFreeze, FUNCTION_ACCOUNT_ID, glueFailure, rejectionOf, scopeTarget } from './support/records.ts';

const ISSUED_AT = '2026-11-29T02:00:00Z';
const ROOT_KEY = 'key:hand-off-1234';
const DECIDED_AT = '2026-11-29T02:00:07.000Z';

const scopeCommand = (overrides: Partial<ScopeStopCommand> = {}): ScopeStopCommand =>
  deepFreeze({
    kind: 'scope',
    idempotencyKey: ROOT_KEY,
    target: scopeTarget(),
    issuedAt: ISSUED_AT,
    accountId: FUNCTION_ACCOUNT_ID,
    dryRun: false,
    ...overrides,
  });

/** The task a message on the stop queue carries; fails the test for anything else. */
const taskIn = (message: QueuedMessage | undefined): ScopeTask => {
  if (message === undefined || !(SCOPE_TASK_FIELD in message)) {
    throw new Error(`expected a scope task, got ${JSON.stringify(message)}`);
  }
  return message[SCOPE_TASK_FIELD];
};

const tasksIn = (messages: readonly QueuedMessage[]): ScopeTask[] =>
  messages.filter((m) => SCOPE_TASK_FIELD in m).map(taskIn);

/** The command the queue function runs for a task, as handleStopRequest builds it. */
const taskCommand = (task: ScopeTask): TaskStopCommand =>
  deepFreeze({
    kind: 'task',
    idempotencyKey: scopeTaskKey(task),
    target: { CatalogId: task.CatalogId, DatabaseName: task.DatabaseName, TableNames: task.TableNames },
    task,
    accountId: FUNCTION_ACCOUNT_ID,
  });

/** A stop task as an expansion of `scopeCommand()` sends it. */
const stopTask = (views: readonly [string, number][], overrides: Partial<ScopeTask> = {}): ScopeTask => ({
  Kind: 'stop',
  CatalogId: FUNCTION_ACCOUNT_ID,
  DatabaseName: 'sales',
  TableNames: ['*'],
  IssuedAt: ISSUED_AT,
  RootKey: ROOT_KEY,
  Views: views.map(([TableName, n]) => ({ TableName, RunId: runIdOf(n) })),
  ...overrides,
});

const target = (TableName: string) => ({ CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName });

/** Two running views of `sales`, as a stop task names them. */
const DAILY_AND_HOURLY: [string, number][] = [
  ['daily_mv', 1],
  ['hourly_mv', 2],
];

describe('handOffScope: functions that may not stop hand a scope to the stop queue', () => {
  it('sends the scope once, with IssuedAt fixed and a key derived from its own, and calls no Glue', async () => {
    const { deps, enqueued, pages, stops } = fakeFanOut({ runs: [listedRun('daily_mv', 1)] });

    const recorded = await handOffScope(
      scopeCommand({ idempotencyKey: 'event:e-1', reason: 'cost', requestedBy: 'alarm:x', dryRun: true }),
      deps,
    );

    expect(enqueued).toStrictEqual([
      {
        CatalogId: FUNCTION_ACCOUNT_ID,
        DatabaseName: 'sales',
        TableNames: ['*'],
        IssuedAt: ISSUED_AT,
        IdempotencyKey: handOffKey('event:e-1'),
        ParentIdempotencyKey: 'event:e-1',
        Reason: 'cost',
        RequestedBy: 'alarm:x',
        DryRun: true,
      },
    ]);
    expect(recorded).toStrictEqual({
      result: 'expanded',
      decidedAt: DECIDED_AT,
      queued: 1,
      detail: 'handed to the stop queue, to be expanded page by page (dry run)',
    });
    expect([pages, stops]).toEqual([[], []]);
  });

  it('is what runStopCommand does with a scope in a function configured to hand off', async () => {
    const { deps, enqueued, pages } = fakeFanOut({
      runs: [listedRun('daily_mv', 1)],
      fanOut: { expansion: 'hand-off' },
    });

    const recorded = await runStopCommand(scopeCommand(), deps);

    expect(recorded).toMatchObject({ result: 'expanded', queued: 1 });
    expect(enqueued).toHaveLength(1);
    expect(pages).toEqual([]);
  });

  it('gives every handing key its own hand-off key, never the key itself', () => {
    expect(handOffKey('event:a')).toMatch(/^hand-off-[0-9a-f]{64}$/);
    expect(handOffKey('event:a')).toBe(handOffKey('event:a'));
    expect(handOffKey('event:a')).not.toBe(handOffKey('event:b'));
  });
});

describe('rootKeyOf: the key a scope hands its tasks', () => {
  it('is the scope key itself when a task may carry it', () => {
    expect(rootKeyOf(ROOT_KEY)).toBe(ROOT_KEY);
  });

  it('is a hash of the key when the key holds what a task may not (an event id with a control character)', () => {
    const key = 'event:evt\u0001x';
    const root = rootKeyOf(key);
    expect(root).toMatch(/^root-[0-9a-f]{64}$/);
    expect(rootKeyOf(key)).toBe(root);
    expect(rootKeyOf('event:evt\u0002x')).not.toBe(root);
  });

  it('refuses a task whose text holds a lone surrogate, as the stop request contract does', () => {
    const task = stopTask([['a\ud800b', 1]], { Reason: 'why \udc00' });
    const parsed = parseScopeTask(task, 'ScopeTask');
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' ? parsed.violations.map((v) => [v.field, v.rule]) : []).toEqual([
      ['ScopeTask.Views.0.TableName', 'pattern'],
      ['ScopeTask.Reason', 'pattern'],
    ]);
  });

  it('gives tasks that pass their contract for such a key', async () => {
    const { deps, enqueued } = fakeFanOut({ runs: [listedRun('daily_mv', 1)] });
    await expandScope(scopeCommand({ idempotencyKey: 'event:evt\u0001x' }), deps, fakeContext().context);
    const [task] = tasksIn(enqueued.flat());
    expect(parseScopeTask(task, 'ScopeTask')).toMatchObject({ kind: 'task' });
  });
});

describe('expandScope: the scope listed page by page into stop tasks', () => {
  it('sends one stop task per viewsPerTask running views of a page, sorted, each with its run and the page read', async () => {
    const { deps, enqueued, stops } = fakeFanOut({
      runs: [
        listedRun('weekly_mv', 3),
        listedRun('daily_mv', 1),
        listedRun('old_mv', 9, { status: 'SUCCEEDED' }),
        listedRun('hourly_mv', 2, { status: 'STARTING' }),
      ],
      fanOut: { viewsPerTask: 2 },
    });

    const recorded = await expandScope(scopeCommand({ reason: 'cost spike', requestedBy: 'ops' }), deps);

    const task = (views: [string, number][]): QueuedMessage => ({
      [SCOPE_TASK_FIELD]: stopTask(views, {
        ParentIdempotencyKey: ROOT_KEY,
        Reason: 'cost spike',
        RequestedBy: 'ops',
      }),
    });
    expect(enqueued).toStrictEqual([
      task([
        ['daily_mv', 1],
        ['hourly_mv', 2],
      ]),
      task([['weekly_mv', 3]]),
    ]);
    expect(recorded).toStrictEqual({
      result: 'expanded',
      decidedAt: DECIDED_AT,
      queued: 2,
      detail: '3 running refreshes in 2 stop tasks from 1 page (4 runs listed)',
    });
    expect(stops).toEqual([]);
  });

  it('reads a page, sends its tasks, then reads the next: one page at a time, each task naming its page', async () => {
    const runs = Array.from({ length: 5 }, (_, i) => listedRun(`view_${i}_mv`, i));
    const { deps, enqueued, steps } = fakeFanOut({ runs, pageSize: 2, fanOut: { viewsPerTask: 10 } });

    const recorded = await expandScope(scopeCommand(), deps);

    expect(steps).toEqual([
      'list (first)',
      'enqueue 1',
      'list page-1',
      'enqueue 1',
      'list page-2',
      'enqueue 1',
    ]);
    expect(tasksIn(enqueued).map((t) => [t.PageToken, t.Views?.map((v) => v.TableName)])).toEqual([
      [undefined, ['view_0_mv', 'view_1_mv']],
      ['page-1', ['view_2_mv', 'view_3_mv']],
      ['page-2', ['view_4_mv']],
    ]);
    expect(recorded).toMatchObject({
      queued: 3,
      detail: '5 running refreshes in 3 stop tasks from 3 pages (5 runs listed)',
    });
  });

  it('sends nothing for a page without a running view, and goes on to the next page', async () => {
    const runs = [
      listedRun('a_mv', 1, { status: 'SUCCEEDED' }),
      listedRun('b_mv', 2, { status: 'FAILED' }),
      listedRun('c_mv', 3),
    ];
    const { deps, steps } = fakeFanOut({ runs, pageSize: 2 });

    const recorded = await expandScope(scopeCommand(), deps);

    expect(steps).toEqual(['list (first)', 'list page-1', 'enqueue 1']);
    expect(recorded).toMatchObject({
      queued: 1,
      detail: expect.stringContaining('from 2 pages (3 runs listed)'),
    });
  });

  it('leaves out what the scope does not mean: other names, other databases, newer runs, views outside the allow-list', async () => {
    const { deps, enqueued } = fakeFanOut({
      runs: [
        listedRun('daily_mv', 1),
        listedRun('weekly_mv', 2),
        listedRun('late_mv', 3, { startedAt: '2026-11-29T02:00:01.000Z' }),
        listedRun('secret_mv', 4),
        listedRun('other_db_mv', 5, { DatabaseName: 'marketing' }),
      ],
      allow: [{ database: 'sales', tables: ['daily_*', 'late_*', 'weekly_*'] }],
    });
    // The port answers for the database asked; one that reports another database's runs is ignored too.
    const page = deps.runs.page;
    const runs = {
      ...deps.runs,
      page: async (query: Parameters<typeof page>[0]) => {
        const read = await page(query);
        const foreign = await page({ ...query, DatabaseName: 'marketing' });
        return { ...read, active: [...read.active, ...foreign.active] };
      },
    };

    const recorded = await expandScope(
      scopeCommand({
        target: scopeTarget({ TableNames: ['daily_*', 'late_mv', 'secret_mv', 'other_db_mv'] }),
      }),
      { ...deps, runs },
    );

    expect(tasksIn(enqueued).flatMap((t) => t.Views?.map((v) => v.TableName))).toEqual(['daily_mv']);
    expect(recorded).toMatchObject({
      queued: 1,
      detail:
        '1 running refresh in 1 stop task from 1 page (4 runs listed); 1 outside the allow-list left alone; ' +
        '1 started after the request was issued, left alone',
    });
  });

  it('names each view once, with its latest run', async () => {
    const { deps, enqueued } = fakeFanOut({
      runs: [
        listedRun('daily_mv', 2, { startedAt: '2026-11-29T01:40:00.000Z' }),
        listedRun('daily_mv', 1, { startedAt: '2026-11-29T01:00:00.000Z' }),
      ],
    });

    await expandScope(scopeCommand(), deps);

    expect(tasksIn(enqueued).map((t) => t.Views)).toEqual([[{ TableName: 'daily_mv', RunId: runIdOf(2) }]]);
  });

  it('asks Glue for one table when the scope is one exact name, for the database otherwise', async () => {
    const one = fakeFanOut();
    const glob = fakeFanOut();
    const two = fakeFanOut();

    await expandScope(scopeCommand({ target: scopeTarget({ TableNames: ['daily_mv'] }) }), one.deps);
    await expandScope(scopeCommand({ target: scopeTarget({ TableNames: ['daily_*'] }) }), glob.deps);
    await expandScope(scopeCommand({ target: scopeTarget({ TableNames: ['a_mv', 'b_mv'] }) }), two.deps);

    expect([...one.pages, ...glob.pages, ...two.pages]).toStrictEqual([
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName: 'daily_mv' },
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales' },
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales' },
    ]);
  });

  it('carries a dry run into every task, and says so', async () => {
    const { deps, enqueued } = fakeFanOut({ runs: [listedRun('daily_mv', 1)] });

    const recorded = await expandScope(scopeCommand({ dryRun: true }), deps);

    expect(tasksIn(enqueued).map((t) => t.DryRun)).toEqual([true]);
    expect(recorded.detail).toMatch(/\(dry run\)$/);
  });

  it('records expanded with nothing queued when nothing runs', async () => {
    const { deps, enqueued } = fakeFanOut({ runs: [listedRun('done_mv', 1, { status: 'SUCCEEDED' })] });

    const recorded = await expandScope(scopeCommand(), deps);

    expect(enqueued).toEqual([]);
    expect(recorded).toStrictEqual({
      result: 'expanded',
      decidedAt: DECIDED_AT,
      queued: 0,
      detail: '0 running refreshes in 0 stop tasks from 1 page (1 run listed)',
    });
  });

  it('goes on in a list task from the next page when the invocation runs short of time', async () => {
    const runs = Array.from({ length: 6 }, (_, i) => listedRun(`view_${i}_mv`, i));
    const { deps, enqueued, steps } = fakeFanOut({ runs, pageSize: 2, fanOut: { reserveMs: 10_000 } });
    const { context, clock } = fakeContext({ msLeft: 30_000 });
    const page = deps.runs.page;
    // Each page takes 15 s to read: after the second, less than the reserve is left.
    const slow = {
      ...deps.runs,
      page: async (query: Parameters<typeof page>[0]) => {
        clock.now += 15_000;
        return page(query);
      },
    };

    const recorded = await expandScope(scopeCommand(), { ...deps, runs: slow }, context);

    expect(steps).toEqual(['list (first)', 'enqueue 1', 'list page-1', 'enqueue 1', 'enqueue 1']);
    const followUp = taskIn(enqueued.at(-1));
    expect(followUp).toStrictEqual({
      Kind: 'list',
      CatalogId: FUNCTION_ACCOUNT_ID,
      DatabaseName: 'sales',
      TableNames: ['*'],
      IssuedAt: ISSUED_AT,
      RootKey: ROOT_KEY,
      PageToken: 'page-2',
      ParentIdempotencyKey: ROOT_KEY,
    });
    expect(recorded).toMatchObject({
      queued: 3,
      detail:
        '4 running refreshes in 2 stop tasks from 2 pages (4 runs listed); the listing goes on in a follow-up task',
    });
  });

  it('always reads one page before it hands the rest on, so that a follow-up never repeats it', async () => {
    const { deps, steps } = fakeFanOut({ runs: [listedRun('daily_mv', 1)] });
    const { context } = fakeContext({ msLeft: 1_000 });

    const recorded = await expandScope(scopeCommand(), deps, context);

    expect(steps).toEqual(['list (first)', 'enqueue 1']);
    expect(recorded.queued).toBe(1);
  });

  it('goes on in a list task from a page whose read fails after others were read; fails at once on the first', async () => {
    const runs = Array.from({ length: 5 }, (_, i) => listedRun(`view_${i}_mv`, i));
    const throttled = () => new GlueCallError(glueFailure('ThrottlingException', 400));
    const later = fakeFanOut({
      runs,
      pageSize: 2,
      onPage: (query) => {
        if (query.pageToken !== undefined) throw throttled();
      },
    });
    const recorded = await expandScope(scopeCommand(), later.deps, fakeContext().context);
    const [, handedOn] = tasksIn(later.enqueued);
    expect(handedOn).toMatchObject({ Kind: 'list', PageToken: 'page-1' });
    expect(recorded).toMatchObject({
      queued: 2,
      detail: expect.stringContaining('goes on in a follow-up task'),
    });

    const first = fakeFanOut({
      runs,
      pageSize: 2,
      onPage: () => {
        throw throttled();
      },
    });
    const error = await expandScope(scopeCommand(), first.deps, fakeContext().context).catch((e) => e);
    expect((error as StopError).failure).toMatchObject({ kind: 'retry', reason: 'glue-throttled' });
    expect(first.enqueued).toEqual([]);
  });

  it('lets a list task go on from its page, with the scope’s key, guard and dry run', async () => {
    const runs = Array.from({ length: 5 }, (_, i) => listedRun(`view_${i}_mv`, i));
    const { deps, enqueued, steps } = fakeFanOut({ runs, pageSize: 2 });
    const task: ScopeTask = {
      Kind: 'list',
      CatalogId: FUNCTION_ACCOUNT_ID,
      DatabaseName: 'sales',
      TableNames: ['*'],
      IssuedAt: ISSUED_AT,
      RootKey: ROOT_KEY,
      PageToken: 'page-1',
      DryRun: true,
    };

    const recorded = await runScopeTask(taskCommand(task), deps);

    expect(steps).toEqual(['list page-1', 'enqueue 1', 'list page-2', 'enqueue 1']);
    expect(tasksIn(enqueued)).toMatchObject([
      { Kind: 'stop', PageToken: 'page-1', RootKey: ROOT_KEY, IssuedAt: ISSUED_AT, DryRun: true },
      { Kind: 'stop', PageToken: 'page-2', RootKey: ROOT_KEY, IssuedAt: ISSUED_AT, DryRun: true },
    ]);
    expect(recorded).toMatchObject({ result: 'expanded', queued: 2 });
  });

  it('lets an enqueue failure propagate unchanged, so the scope request is retried', async () => {
    const failure = StopError.retry('fan-out-incomplete', '2 of 3 not sent');
    const { deps } = fakeFanOut({ runs: [listedRun('daily_mv', 1)], enqueueFails: failure });

    expect(await rejectionOf(expandScope(scopeCommand(), deps))).toBe(failure);
  });

  it.each([
    ['AccessDeniedException', 400, 'rejected', 'glue-access-denied'],
    ['ThrottlingException', 400, 'retry', 'glue-throttled'],
    ['MaterializedViewRefreshTaskNotRunningException', 400, 'retry', 'glue-unexpected-error'],
  ] as const)(
    'turns a List failure %s (HTTP status %s) into a %s StopError with reason %s, queueing nothing',
    async (code, status, kind, reason) => {
      const { deps, enqueued } = fakeFanOut({
        onPage: () => {
          throw new GlueCallError(glueFailure(code, status));
        },
      });

      const error = await rejectionOf(expandScope(scopeCommand(), deps));

      expect(error).toMatchObject({ name: 'StopError', failure: { kind, reason } });
      expect(enqueued).toEqual([]);
    },
  );
});

describe('runScopeTask: a stop task stops its views from one fresh read of its page', () => {
  it('reads its page once and stops each view, no later than GUARD_READ_MAX_AGE_MS after that read', async () => {
    const { deps, pages, stops, enqueued } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2), listedRun('other_mv', 3)],
    });
    const { context, clock, views } = fakeContext();
    const readAt = clock.now;

    const recorded = await runScopeTask(taskCommand(stopTask(DAILY_AND_HOURLY)), deps, context);

    expect(pages).toStrictEqual([{ CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales' }]);
    expect(stops).toStrictEqual([
      { target: target('daily_mv'), sendBy: readAt + GUARD_READ_MAX_AGE_MS },
      { target: target('hourly_mv'), sendBy: readAt + GUARD_READ_MAX_AGE_MS },
    ]);
    expect(views).toStrictEqual([
      {
        target: target('daily_mv'),
        idempotencyKey: viewKey(ROOT_KEY, target('daily_mv'), false),
        result: {
          result: 'stop-requested',
          decidedAt: DECIDED_AT,
          runId: runIdOf(1),
          runStartedAt: '2026-11-29T01:30:00.000Z',
          replayed: false,
        },
      },
      {
        target: target('hourly_mv'),
        idempotencyKey: viewKey(ROOT_KEY, target('hourly_mv'), false),
        result: {
          result: 'stop-requested',
          decidedAt: DECIDED_AT,
          runId: runIdOf(2),
          runStartedAt: '2026-11-29T01:30:00.000Z',
          replayed: false,
        },
      },
    ]);
    expect(enqueued).toEqual([]);
    expect(recorded).toStrictEqual({
      result: 'expanded',
      decidedAt: DECIDED_AT,
      queued: 0,
      detail: '2 views from 1 read of the page: 2 stop-requested',
    });
  });

  it('hands a task it could not start on as it is, with a resend count that gives the copy a key of its own', async () => {
    const { deps, pages, stops, enqueued } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
    });
    // Less time left than a view and its follow-up need: the same task under the same key would be
    // answered as done without a stop.
    const { context } = fakeContext({ msLeft: 1 });
    const task = stopTask(DAILY_AND_HOURLY);

    const recorded = await runScopeTask(taskCommand(task), deps, context);

    expect(pages).toHaveLength(1);
    expect(stops).toEqual([]);
    expect(tasksIn(enqueued)).toStrictEqual([{ ...task, Resend: 1 }]);
    expect(scopeTaskKey({ ...task, Resend: 1 })).not.toBe(scopeTaskKey(task));
    expect(recorded).toMatchObject({ queued: 1, detail: expect.stringContaining('resend 1') });
  });

  it('waits for a redelivery instead once a task was handed on unstarted 20 times', async () => {
    const { deps, enqueued } = fakeFanOut({ runs: [listedRun('daily_mv', 1)] });
    const error = await runScopeTask(
      taskCommand(stopTask([['daily_mv', 1]], { Resend: 20 })),
      deps,
      fakeContext({ msLeft: 1 }).context,
    ).catch((e) => e);
    expect((error as StopError).failure).toStrictEqual({ kind: 'retry', reason: 'deadline-exceeded' });
    expect(enqueued).toEqual([]);
  });

  it('reads the page the expansion read, by its token', async () => {
    const runs = Array.from({ length: 3 }, (_, i) => listedRun(`view_${i}_mv`, i));
    const { deps, pages, stops } = fakeFanOut({ runs, pageSize: 2 });

    await runScopeTask(
      taskCommand(stopTask([['view_2_mv', 2]], { PageToken: 'page-1' })),
      deps,
      fakeContext().context,
    );

    expect(pages).toStrictEqual([
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', pageToken: 'page-1' },
    ]);
    expect(stops.map((s) => s.target.TableName)).toEqual(['view_2_mv']);
  });

  it('applies the run guard to the read: a replaced run, a newer run, a finished run are not stopped', async () => {
    const { deps, stops } = fakeFanOut({
      runs: [
        // The expansion saw run 1 of daily_mv; it has been replaced by run 11 since.
        listedRun('daily_mv', 11, { startedAt: '2026-11-29T01:59:00.000Z' }),
        listedRun('daily_mv', 1, { status: 'SUCCEEDED' }),
        // hourly_mv still runs run 2, but restarted with the same id after IssuedAt (a forged task's view).
        listedRun('hourly_mv', 2, { startedAt: '2026-11-29T02:00:05.000Z' }),
        listedRun('weekly_mv', 3, { status: 'SUCCEEDED' }),
      ],
    });
    const { context, views } = fakeContext();

    const recorded = await runScopeTask(
      taskCommand(stopTask([...DAILY_AND_HOURLY, ['weekly_mv', 3]])),
      deps,
      context,
    );

    expect(stops).toEqual([]);
    expect(views.map((v) => [v.target.TableName, v.result.result, v.result.runId])).toEqual([
      ['daily_mv', 'skipped', runIdOf(11)],
      ['hourly_mv', 'skipped', runIdOf(2)],
      ['weekly_mv', 'not-running', undefined],
    ]);
    expect(recorded.detail).toBe('3 views from 1 read of the page: 2 skipped, 1 not-running');
  });

  it('records what Glue answers for a view that is already being stopped or no longer runs', async () => {
    const { deps } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
      onStop: (stopped) => {
        const code =
          stopped.TableName === 'daily_mv'
            ? 'MaterializedViewRefreshTaskStoppingException'
            : 'MaterializedViewRefreshTaskNotRunningException';
        throw new GlueCallError(glueFailure(code, 400));
      },
    });
    const { context, views } = fakeContext();

    await runScopeTask(taskCommand(stopTask(DAILY_AND_HOURLY)), deps, context);

    expect(views.map((v) => v.result.result)).toEqual(['already-stopping', 'not-running']);
  });

  it('rehearses a dry-run task: every view says what it would stop, under its dry-run key, with no Stop', async () => {
    const { deps, stops } = fakeFanOut({ runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)] });
    const { context, views } = fakeContext();

    const recorded = await runScopeTask(
      taskCommand(stopTask(DAILY_AND_HOURLY, { DryRun: true })),
      deps,
      context,
    );

    expect(stops).toEqual([]);
    expect(views.map((v) => [v.idempotencyKey, v.result.result])).toEqual([
      [viewKey(ROOT_KEY, target('daily_mv'), true), 'dry-run'],
      [viewKey(ROOT_KEY, target('hourly_mv'), true), 'dry-run'],
    ]);
    expect(views.every((v) => v.idempotencyKey.startsWith('dry-run:key:scope-'))).toBe(true);
    expect(recorded.detail).toBe('2 views from 1 read of the page: 2 dry-run (dry run)');
  });

  it('run again after dying half-way, stops only what the first attempt did not: Glue accepts one Stop per run', async () => {
    const runs = [listedRun('daily_mv', 1), listedRun('hourly_mv', 2), listedRun('weekly_mv', 3)];
    const stopped = new Set<string>();
    const { deps, stops, enqueued } = fakeFanOut({
      runs,
      onStop: (stopping) => {
        // Glue refuses a second Stop of a run it is stopping.
        if (stopped.has(stopping.TableName)) {
          throw new GlueCallError(glueFailure('MaterializedViewRefreshTaskStoppingException', 400));
        }
        stopped.add(stopping.TableName);
      },
    });
    const task = taskCommand(
      stopTask([
        ['daily_mv', 1],
        ['hourly_mv', 2],
        ['weekly_mv', 3],
      ]),
    );
    // The first attempt stopped daily_mv and hourly_mv, then its invocation died: no record of the task.
    stopped.add('daily_mv');
    stopped.add('hourly_mv');
    // daily_mv is STOPPING in the next read; hourly_mv is still listed as running (read too soon).
    runs[0] = listedRun('daily_mv', 1, { status: 'STOPPED' });
    const { context, views } = fakeContext();

    const recorded = await runScopeTask(task, deps, context);

    expect(stops.map((s) => s.target.TableName)).toEqual(['hourly_mv', 'weekly_mv']);
    expect(views.map((v) => [v.target.TableName, v.result.result, v.result.replayed])).toEqual([
      ['daily_mv', 'not-running', false],
      ['hourly_mv', 'already-stopping', false],
      ['weekly_mv', 'stop-requested', false],
    ]);
    expect(views.map((v) => v.idempotencyKey)).toEqual(
      ['daily_mv', 'hourly_mv', 'weekly_mv'].map((t) => viewKey(ROOT_KEY, target(t), false)),
    );
    expect(enqueued).toEqual([]);
    expect(recorded.detail).toBe(
      '3 views from 1 read of the page: 1 not-running, 1 already-stopping, 1 stop-requested',
    );
  });

  it('records the views it settled in one write, and a run of it again answers them from those records', async () => {
    const { deps, stops, pages, ledgerRecords, ledgerCalls } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
    });
    const task = taskCommand(stopTask(DAILY_AND_HOURLY));

    await runScopeTask(task, deps, fakeContext().context);

    expect(ledgerCalls).toEqual(['read 2', 'write 2']);
    expect([...ledgerRecords.keys()]).toEqual(
      ['daily_mv', 'hourly_mv'].map((t) => viewKey(ROOT_KEY, target(t), false)),
    );
    expect([...ledgerRecords.values()].map((r) => [r.result, r.runId])).toEqual([
      ['stop-requested', runIdOf(1)],
      ['stop-requested', runIdOf(2)],
    ]);

    // The same task again (its own record lost): no Stop, every view a replay.
    const again = fakeContext();
    const recorded = await runScopeTask(task, deps, again.context);

    expect(stops).toHaveLength(2);
    // The page is read alongside the records, before they are known to cover every view.
    expect(pages).toHaveLength(2);
    expect(again.views.map((v) => [v.target.TableName, v.result.result, v.result.replayed])).toEqual([
      ['daily_mv', 'stop-requested', true],
      ['hourly_mv', 'stop-requested', true],
    ]);
    expect(ledgerCalls).toEqual(['read 2', 'write 2', 'read 2']);
    expect(recorded.detail).toBe(
      '2 views from 1 read of the page: 2 stop-requested (2 answered from their records)',
    );
  });

  it('reads the page for the views not recorded yet, and stops only those', async () => {
    const { deps, stops, ledgerRecords } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
    });
    ledgerRecords.set(viewKey(ROOT_KEY, target('daily_mv'), false), {
      result: 'stop-requested',
      decidedAt: DECIDED_AT,
      runId: runIdOf(1),
    });
    const { context, views } = fakeContext();

    await runScopeTask(taskCommand(stopTask(DAILY_AND_HOURLY)), deps, context);

    expect(stops.map((s) => s.target.TableName)).toEqual(['hourly_mv']);
    expect(views.map((v) => [v.target.TableName, v.result.replayed])).toEqual([
      ['daily_mv', true],
      ['hourly_mv', false],
    ]);
  });

  it('fails as a retry before any Stop when the view records cannot be read', async () => {
    const down = StopError.retry('idempotency-store-unavailable', 'the view records could not be read');
    const { deps, stops, pages } = fakeFanOut({
      runs: [listedRun('daily_mv', 1)],
      ledgerFails: { read: down },
    });

    await expect(
      runScopeTask(taskCommand(stopTask([['daily_mv', 1]])), deps, fakeContext().context),
    ).rejects.toBe(down);
    expect(stops).toEqual([]);
    expect(pages.length).toBeLessThanOrEqual(1);
  });

  it('fails as a retry when what it settled cannot be recorded, and hands nothing on; run again, it stops nothing twice', async () => {
    const down = StopError.retry('idempotency-store-unavailable', 'the view records could not be written');
    const runs = [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)];
    const failing = fakeFanOut({ runs, ledgerFails: { write: down } });
    const task = taskCommand(stopTask(DAILY_AND_HOURLY));

    await expect(runScopeTask(task, failing.deps, fakeContext().context)).rejects.toBe(down);
    expect(failing.stops).toHaveLength(2);
    expect(failing.enqueued).toEqual([]);

    // Glue now lists both runs as stopping: the task, delivered again, decides from that read.
    runs[0] = listedRun('daily_mv', 1, { status: 'STOPPED' });
    runs[1] = listedRun('hourly_mv', 2, { status: 'STOPPED' });
    const { deps, stops } = fakeFanOut({ runs });
    const { context, views } = fakeContext();
    await runScopeTask(task, deps, context);
    expect(stops).toEqual([]);
    expect(views.map((v) => v.result.result)).toEqual(['not-running', 'not-running']);
  });

  it('leaves a view alone whose run was replaced since the expansion read it, even with no record of its own', async () => {
    // Two tasks of one scope can name the same view (the scope was listed again after a crash): the
    // second finds another run and stops nothing, because the task names the run it means.
    const { deps, stops } = fakeFanOut({
      runs: [listedRun('daily_mv', 9, { startedAt: '2026-11-29T01:59:00.000Z' })],
    });
    const { context, views } = fakeContext();

    await runScopeTask(taskCommand(stopTask([['daily_mv', 1]])), deps, context);

    expect(stops).toEqual([]);
    expect(views.map((v) => [v.result.result, v.result.runId])).toEqual([['skipped', runIdOf(9)]]);
  });

  it('leaves a forged view outside the allow-list alone, without a Stop', async () => {
    const { deps, stops } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
      allow: [{ database: 'sales', tables: ['hourly_*'] }],
    });
    const { context, views } = fakeContext();

    const recorded = await runScopeTask(taskCommand(stopTask(DAILY_AND_HOURLY)), deps, context);

    expect(stops.map((s) => s.target.TableName)).toEqual(['hourly_mv']);
    expect(views.map((v) => v.target.TableName)).toEqual(['hourly_mv']);
    expect(recorded.detail).toBe(
      '2 views from 1 read of the page: 1 stop-requested; 1 outside the allow-list left alone',
    );
  });
});

describe('runScopeTask: the next task of a page stops from the last read of it while that read is young', () => {
  const threeViews = [listedRun('daily_mv', 1), listedRun('hourly_mv', 2), listedRun('weekly_mv', 3)];

  it('shares one List between two tasks of a page, their Stops vouched for by that read’s time', async () => {
    const fake = fakeFanOut({ runs: threeViews });
    const deps = { ...fake.deps, recentPages: createRecentPages() };
    const { context, clock } = fakeContext();
    const readAt = clock.now;

    await runScopeTask(taskCommand(stopTask([['daily_mv', 1]])), deps, context);
    clock.now += 1_500;
    const second = await runScopeTask(taskCommand(stopTask([['hourly_mv', 2]])), deps, context);

    expect(fake.pages).toHaveLength(1);
    expect(fake.stops.map((s) => [s.target.TableName, s.sendBy])).toEqual([
      ['daily_mv', readAt + GUARD_READ_MAX_AGE_MS],
      ['hourly_mv', readAt + GUARD_READ_MAX_AGE_MS],
    ]);
    expect(second.detail).toBe('1 view from 1 read of the page: 1 stop-requested');
  });

  it('reads the page again when the last read is older than 40 % of the guard’s read age, or of another page', async () => {
    const fake = fakeFanOut({ runs: threeViews });
    const deps = { ...fake.deps, recentPages: createRecentPages() };
    const { context, clock } = fakeContext();

    await runScopeTask(taskCommand(stopTask([['daily_mv', 1]])), deps, context);
    clock.now += GUARD_READ_MAX_AGE_MS * 0.4 + 1;
    await runScopeTask(taskCommand(stopTask([['hourly_mv', 2]])), deps, context);
    await runScopeTask(taskCommand(stopTask([['weekly_mv', 3]], { PageToken: 'page-0' })), deps, context);

    expect(fake.pages.map((p) => p.pageToken ?? '(first)')).toEqual(['(first)', '(first)', 'page-0']);
    expect(fake.stops.at(1)?.sendBy).toBe(clock.now + GUARD_READ_MAX_AGE_MS);
  });

  it('keeps the last four pages read, the oldest dropped first', () => {
    const recent = createRecentPages();
    const read = (readAt: number) => ({ page: { active: [], tables: new Set<string>(), listed: 0 }, readAt });
    for (const n of [1, 2, 3, 4, 5]) recent.put(`p${n}`, read(n));
    // Read again, p2 is the newest: the next page read drops p3, now the oldest.
    recent.put('p2', read(6));
    recent.put('p6', read(7));
    expect(['p1', 'p2', 'p3', 'p4', 'p5', 'p6'].map((k) => recent.get(k, 7, 10)?.readAt)).toEqual([
      undefined,
      6,
      undefined,
      4,
      5,
      7,
    ]);
    expect(recent.get('p5', 16, 10)).toBeUndefined();
  });

  it('keys a page by what Glue was asked and its token', () => {
    const query = { CatalogId: '1', DatabaseName: 'sales', pageSize: 432 };
    expect(
      new Set([
        pageKey(query),
        pageKey({ ...query, pageToken: 't' }),
        pageKey({ ...query, pageSize: 100 }),
        pageKey({ ...query, TableName: 'daily_mv' }),
        pageKey({ ...query, DatabaseName: 'other' }),
      ]).size,
    ).toBe(5);
  });
});

describe('runScopeTask: a read too old to vouch for a Stop is read again', () => {
  it('reads the page again when the Glue budget has no slot within the read age, then stops from the new read', async () => {
    let refusals = 1;
    const { deps, pages, stops, steps } = fakeFanOut({
      runs: [listedRun('daily_mv', 1)],
      onStop: () => {
        if (refusals-- > 0) throw new ReadTooOldError('no slot in time');
      },
    });
    const { context, clock, views } = fakeContext();
    const page = deps.runs.page;
    const slow = {
      ...deps.runs,
      page: async (query: Parameters<typeof page>[0]) => {
        clock.now += 7_000;
        return page(query);
      },
    };

    const recorded = await runScopeTask(
      taskCommand(stopTask([['daily_mv', 1]])),
      { ...deps, runs: slow },
      context,
    );

    expect(steps).toEqual(['list (first)', 'stop daily_mv', 'list (first)', 'stop daily_mv']);
    expect(pages).toHaveLength(2);
    // Each Stop may go out only until GUARD_READ_MAX_AGE_MS after the read it relies on: the second read's.
    const [first, second] = stops;
    expect(second?.sendBy).toBe((first?.sendBy ?? 0) + 7_000);
    expect(views.map((v) => v.result.result)).toEqual(['stop-requested']);
    expect(recorded.detail).toBe('1 view from 2 reads of the page: 1 stop-requested');
  });

  it('hands a view it could never stop in time to an exact request under the same key, after four reads', async () => {
    const { deps, pages, enqueued } = fakeFanOut({
      runs: [listedRun('daily_mv', 1)],
      onStop: () => {
        throw new ReadTooOldError('no slot in time');
      },
    });
    const { context, views } = fakeContext();

    const recorded = await runScopeTask(taskCommand(stopTask([['daily_mv', 1]])), deps, context);

    expect(pages).toHaveLength(4);
    expect(views).toEqual([]);
    expect(enqueued).toStrictEqual([
      {
        ...target('daily_mv'),
        RunId: runIdOf(1),
        IssuedAt: ISSUED_AT,
        IdempotencyKey: derivedIdempotencyKey(ROOT_KEY, target('daily_mv')),
        ParentIdempotencyKey: ROOT_KEY,
      },
    ]);
    expect(recorded).toMatchObject({
      queued: 1,
      detail: expect.stringContaining('1 sent as exact requests'),
    });
  });
});

describe('runScopeTask: a page token Glue no longer takes', () => {
  /** Refuses the token 'page-1' the first time only: an expired token; a fresh listing gets a fresh one. */
  const refuseToken = () => {
    let refused = false;
    return (query: { pageToken?: string }) => {
      if (query.pageToken === 'page-1' && !refused) {
        refused = true;
        throw new GlueCallError(glueFailure('InvalidInputException', 400));
      }
    };
  };

  it("sends a stop task's views as exact requests, each read by name", async () => {
    const { deps, enqueued, stops } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
      onPage: refuseToken(),
    });

    const recorded = await runScopeTask(
      taskCommand(stopTask(DAILY_AND_HOURLY, { PageToken: 'page-1' })),
      deps,
      fakeContext().context,
    );

    expect(stops).toEqual([]);
    expect(enqueued.map((m) => ('TableName' in m ? m.TableName : 'a task'))).toEqual([
      'daily_mv',
      'hourly_mv',
    ]);
    expect(recorded).toMatchObject({ queued: 2, detail: expect.stringContaining('page token was refused') });
  });

  it('answers the views already recorded from their records, and sends only the others', async () => {
    const { deps, enqueued, ledgerRecords } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
      onPage: refuseToken(),
    });
    ledgerRecords.set(viewKey(ROOT_KEY, target('daily_mv'), false), {
      result: 'stop-requested',
      decidedAt: DECIDED_AT,
      runId: runIdOf(1),
    });
    const { context, views } = fakeContext();

    const recorded = await runScopeTask(
      taskCommand(stopTask(DAILY_AND_HOURLY, { PageToken: 'page-1' })),
      deps,
      context,
    );

    expect(enqueued.map((m) => ('TableName' in m ? m.TableName : 'a task'))).toEqual(['hourly_mv']);
    expect(views.map((v) => [v.target.TableName, v.result.result, v.result.replayed])).toEqual([
      ['daily_mv', 'stop-requested', true],
    ]);
    expect(recorded.detail).toMatch(/; 1 view sent as exact requests; 1 answered from their records$/);
  });

  it("lists a list task's scope again from the first page", async () => {
    const runs = Array.from({ length: 3 }, (_, i) => listedRun(`view_${i}_mv`, i));
    const { deps, steps } = fakeFanOut({ runs, pageSize: 2, onPage: refuseToken() });
    const task: ScopeTask = {
      Kind: 'list',
      CatalogId: FUNCTION_ACCOUNT_ID,
      DatabaseName: 'sales',
      TableNames: ['*'],
      IssuedAt: ISSUED_AT,
      RootKey: ROOT_KEY,
      PageToken: 'page-1',
    };

    const recorded = await runScopeTask(taskCommand(task), deps, fakeContext().context);

    expect(steps[0]).toBe('list page-1');
    expect(steps.slice(1)).toEqual(['list (first)', 'enqueue 1', 'list page-1', 'enqueue 1']);
    expect(recorded).toMatchObject({ result: 'expanded' });
  });
});

describe('runScopeTask: a page that cannot be read again', () => {
  it('sends the view and every view after it as exact requests, and completes the task', async () => {
    let reads = 0;
    const { deps, pages, enqueued } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
      onPage: () => {
        reads += 1;
        if (reads > 1)
          throw new GlueCallError({ code: 'ThrottlingException', message: 'slow down', httpStatusCode: 400 });
      },
      onStop: () => {
        throw new ReadTooOldError('no slot in time');
      },
    });
    const { context, views } = fakeContext();

    const recorded = await runScopeTask(taskCommand(stopTask(DAILY_AND_HOURLY)), deps, context);

    expect(pages).toHaveLength(2);
    expect(views).toEqual([]);
    expect(enqueued.map((m) => ('TableName' in m ? m.TableName : 'a task'))).toEqual([
      'daily_mv',
      'hourly_mv',
    ]);
    expect(recorded).toMatchObject({
      queued: 2,
      detail: expect.stringContaining('2 sent as exact requests'),
    });
  });
});

describe('the unlimited rate limiter keeps a deadline too', () => {
  it('refuses a caller whose deadline has passed, so a read too old is read again without a budget', async () => {
    const passed = { at: Date.now() - 1, signal: new AbortController().signal };
    await expect(unlimited.acquire(passed)).rejects.toMatchObject({
      failure: { reason: 'deadline-exceeded' },
    });
    await expect(
      unlimited.acquire({ at: Date.now() + 60_000, signal: new AbortController().signal }),
    ).resolves.toBeUndefined();
  });
});

describe('runScopeTask: the Glue adapter and its rate limiter keep the read age', () => {
  const glueMock = mockClient(GlueClient);
  const LIST = ListMaterializedViewRefreshTaskRunsCommand;
  const STOP = StopMaterializedViewRefreshTaskRunCommand;

  /** The real adapter over a mocked Glue, paced by the real limiter on the test's clock (sleeping moves it). */
  const pacedGlue = (requestsPerSecond: number) => {
    glueMock.reset();
    glueMock.on(LIST).resolves({
      MaterializedViewRefreshTaskRuns: [
        {
          MaterializedViewRefreshTaskRunId: runIdOf(1),
          CatalogId: FUNCTION_ACCOUNT_ID,
          DatabaseName: 'sales',
          TableName: 'daily_mv',
          Status: 'RUNNING',
          StartTime: new Date('2026-11-29T01:30:00.000Z'),
        },
      ],
    });
    glueMock.on(STOP).resolves({});
    // The deadline is compared with the wall clock too: the test's clock starts now.
    const { context, clock } = fakeContext({ startAt: Date.now(), msLeft: 600_000 });
    const limiter = createRateLimiter(requestsPerSecond, {
      now: () => clock.now,
      sleep: async (ms) => {
        clock.now += ms;
      },
    });
    const glue = createGlueRefreshRuns(new GlueClient({ region: 'us-east-1' }), {
      limiters: { stop: limiter, list: limiter },
      deadline: () => context.deadline,
    });
    const { deps, enqueued } = fakeFanOut();
    return { deps: { ...deps, stopper: glue, runs: glue }, enqueued, context };
  };

  it('stops from the read when the budget has a slot within GUARD_READ_MAX_AGE_MS of it', async () => {
    const { deps, context, enqueued } = pacedGlue(1);

    await runScopeTask(taskCommand(stopTask([['daily_mv', 1]])), deps, context);

    expect([glueMock.commandCalls(LIST).length, glueMock.commandCalls(STOP).length]).toEqual([1, 1]);
    expect(enqueued).toEqual([]);
  });

  it('never stops from a stale read: with one slot every 10 s the page is read again, then handed to an exact request', async () => {
    const { deps, context, enqueued } = pacedGlue(0.1);

    const recorded = await runScopeTask(taskCommand(stopTask([['daily_mv', 1]])), deps, context);

    // Each read takes a slot; the Stop's slot would come 10 s after it, past the read age: no Stop at all.
    expect(glueMock.commandCalls(LIST)).toHaveLength(4);
    expect(glueMock.commandCalls(STOP)).toHaveLength(0);
    expect(enqueued).toMatchObject([
      { TableName: 'daily_mv', IdempotencyKey: derivedIdempotencyKey(ROOT_KEY, target('daily_mv')) },
    ]);
    expect(recorded.detail).toBe('1 view from 4 reads of the page: none settled; 1 sent as exact requests');
  });
});

describe('runScopeTask: what a task cannot settle goes back to the stop queue, nothing is lost', () => {
  it("sends a view Glue throttled past the budget as an exact request under the view's key, with what the scope said", async () => {
    const { deps, stops, enqueued } = fakeFanOut({
      runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
      onStop: (stopping) => {
        if (stopping.TableName === 'daily_mv')
          throw new GlueCallError(glueFailure('ThrottlingException', 400));
      },
    });
    const { context, views } = fakeContext();

    const recorded = await runScopeTask(
      taskCommand(stopTask(DAILY_AND_HOURLY, { Reason: 'cost', RequestedBy: 'ops' })),
      deps,
      context,
    );

    expect(stops.map((s) => s.target.TableName)).toEqual(['daily_mv', 'hourly_mv']);
    expect(views.map((v) => v.target.TableName)).toEqual(['hourly_mv']);
    expect(enqueued).toStrictEqual([
      {
        ...target('daily_mv'),
        RunId: runIdOf(1),
        IssuedAt: ISSUED_AT,
        IdempotencyKey: derivedIdempotencyKey(ROOT_KEY, target('daily_mv')),
        ParentIdempotencyKey: ROOT_KEY,
        Reason: 'cost',
        RequestedBy: 'ops',
      },
    ]);
    expect(recorded).toMatchObject({
      queued: 1,
      detail: '2 views from 1 read of the page: 1 stop-requested; 1 sent as exact requests',
    });
  });

  it('sends a view its page no longer shows as an exact request, which reads the view by name', async () => {
    // Glue's pages moved: the view is on another page now. Nothing is decided from a read that did not see it.
    const { deps, stops, enqueued } = fakeFanOut({ runs: [listedRun('hourly_mv', 2)] });
    const { context, views } = fakeContext();

    await runScopeTask(taskCommand(stopTask(DAILY_AND_HOURLY, { DryRun: true })), deps, context);

    expect(stops).toEqual([]);
    expect(views.map((v) => v.target.TableName)).toEqual(['hourly_mv']);
    expect(enqueued).toStrictEqual([
      {
        ...target('daily_mv'),
        RunId: runIdOf(1),
        IssuedAt: ISSUED_AT,
        IdempotencyKey: derivedIdempotencyKey(ROOT_KEY, target('daily_mv')),
        ParentIdempotencyKey: ROOT_KEY,
        DryRun: true,
      },
    ]);
  });

  it.each([
    ['ThrottlingException', 400],
    ['AccessDeniedException', 400],
    ['InternalServiceException', 500],
  ] as const)(
    'sends a view whose Stop failed with %s as an exact request, and stops the others',
    async (code, status) => {
      const { deps, stops, enqueued } = fakeFanOut({
        runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)],
        onStop: (stopped) => {
          if (stopped.TableName === 'daily_mv') throw new GlueCallError(glueFailure(code, status));
        },
      });
      const { context, views } = fakeContext();

      await runScopeTask(taskCommand(stopTask(DAILY_AND_HOURLY)), deps, context);

      expect(stops.map((s) => s.target.TableName)).toEqual(['daily_mv', 'hourly_mv']);
      expect(views.map((v) => v.target.TableName)).toEqual(['hourly_mv']);
      expect(enqueued).toMatchObject([
        { TableName: 'daily_mv', IdempotencyKey: derivedIdempotencyKey(ROOT_KEY, target('daily_mv')) },
      ]);
    },
  );

  it('hands the views it has no time for to a follow-up stop task of the same page', async () => {
    const { deps, stops, enqueued } = fakeFanOut({
      runs: [listedRun('a_mv', 1), listedRun('b_mv', 2), listedRun('c_mv', 3)],
      onStop: () => {
        clock.now += 15_000;
      },
    });
    const { context, clock } = fakeContext({ msLeft: 39_000 });
    const task = stopTask(
      [
        ['a_mv', 1],
        ['b_mv', 2],
        ['c_mv', 3],
      ],
      { PageToken: 'page-7' },
    );
    const pageRunsForToken = deps.runs.page;
    const runs = {
      ...deps.runs,
      page: (query: Parameters<typeof pageRunsForToken>[0]) => {
        const { pageToken: _token, ...first } = query;
        return pageRunsForToken(first);
      },
    };

    const recorded = await runScopeTask(taskCommand(task), { ...deps, runs }, context);

    // a: 39 s left; b: 24 s left; c: 9 s left, less than the 10 s reserve.
    expect(stops.map((s) => s.target.TableName)).toEqual(['a_mv', 'b_mv']);
    const followUp = taskIn(enqueued[0]);
    expect(followUp).toStrictEqual({ ...task, Views: [{ TableName: 'c_mv', RunId: runIdOf(3) }] });
    expect(scopeTaskKey(followUp)).not.toBe(scopeTaskKey(task));
    expect(recorded).toMatchObject({
      queued: 1,
      detail: '3 views from 1 read of the page: 2 stop-requested; 1 left to a follow-up task',
    });
  });
});

describe('scopeTaskKey and viewKey', () => {
  it('keys a task by its content: the same task twice has one key, any difference another', () => {
    const task = stopTask([['daily_mv', 1]]);

    expect(scopeTaskKey(task)).toBe(scopeTaskKey({ ...task }));
    expect(scopeTaskKey(task)).toMatch(/^task-[0-9a-f]{64}$/);
    expect(
      new Set([
        scopeTaskKey(task),
        scopeTaskKey({ ...task, PageToken: 'page-1' }),
        scopeTaskKey({ ...task, DryRun: true }),
        scopeTaskKey({ ...task, RootKey: 'key:other' }),
        scopeTaskKey({ ...task, Views: [{ TableName: 'daily_mv', RunId: runIdOf(2) }] }),
        scopeTaskKey({ ...task, Kind: 'list', Views: undefined }),
      ]).size,
    ).toBe(6);
  });

  it('keys a view under a scope apart from its dry run, and apart from the same view under another scope', () => {
    const daily = target('daily_mv');

    expect(viewKey(ROOT_KEY, daily, false)).toBe(`key:${derivedIdempotencyKey(ROOT_KEY, daily)}`);
    expect(viewKey(ROOT_KEY, daily, true)).toBe(`dry-run:key:${derivedIdempotencyKey(ROOT_KEY, daily)}`);
    expect(viewKey('key:other', daily, false)).not.toBe(viewKey(ROOT_KEY, daily, false));
  });
});

describe('pages and tasks: the page size and one task at a time', () => {
  it("lists with the settings' page size, in the expansion and in its tasks alike", async () => {
    const sizes: (number | undefined)[] = [];
    const { deps, enqueued } = fakeFanOut({
      runs: [listedRun('daily_mv', 1)],
      fanOut: { pageSize: 250 },
      onPage: (query) => sizes.push(query.pageSize),
    });
    await expandScope(scopeCommand(), deps, fakeContext().context);
    await runScopeTask(taskCommand(taskIn(enqueued[0])), deps, fakeContext().context);
    expect(sizes).toEqual([250, 250]);
  });

  it('runs the tasks of a batch one after another, in order, whatever each one does', async () => {
    const serial = oneAtATime();
    const events: string[] = [];
    const task = (name: string, ms: number, fails = false) =>
      serial(async () => {
        events.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`end ${name}`);
        if (fails) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task('a', 20), task('b', 1, true), task('c', 5)]);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});

describe('taskTurns: an invocation keeps the stop tasks it starts within the hold time, and hands on the rest', () => {
  const interpreted = (views: number, kind: 'stop' | 'list' = 'stop'): Interpreted => {
    const task = stopTask(
      Array.from({ length: views }, (_, i): [string, number] => [`view_${i}`, i]),
      kind === 'list' ? { Kind: 'list', Views: undefined } : {},
    );
    return {
      kind: 'request',
      incoming: {
        parsed: { kind: 'task', task },
        delivery: { kind: 'sqs', messageId: `m-${views}` },
        accountId: FUNCTION_ACCOUNT_ID,
        original: JSON.stringify({ [SCOPE_TASK_FIELD]: task }),
      },
    };
  };
  const handOnOf = (turn: Interpreted) => turn.kind === 'request' && turn.incoming.handOn === true;

  it('keeps tasks while their expected time at the share is under the hold, the first always; hands the rest on at once', async () => {
    // 100 ms per view: 10 views take 1 s. A 2 s hold keeps the first two tasks (0 s and 1 s planned).
    const turns = taskTurns(2_000, 100);
    const events: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const run = (name: string, views: number) =>
      turns(interpreted(views), async (turn) => {
        events.push(`${handOnOf(turn) ? 'hand on' : 'start'} ${name}`);
        if (!handOnOf(turn)) await gate;
        return name;
      });
    const all = Promise.all([run('a', 10), run('b', 10), run('c', 10), run('d', 1)]);
    // The handed-on tasks do not wait for the kept ones to finish.
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(events.toSorted()).toEqual(['hand on c', 'hand on d', 'start a']);
    release();
    expect(await all).toEqual(['a', 'b', 'c', 'd']);
    expect(events.at(-1)).toBe('start b');
  });

  it('keeps one large task, however long, and hands on the next', async () => {
    const turns = taskTurns(2_000, 100);
    const kinds = await Promise.all(
      [100, 1].map((views) => turns(interpreted(views), async (turn) => handOnOf(turn))),
    );
    expect(kinds).toEqual([false, true]);
  });

  it('keeps only the first task with no hold (a batch short of full), and every task with no share', async () => {
    const none = taskTurns(0, 100);
    expect(
      await Promise.all([1, 1, 1].map((v) => none(interpreted(v), async (turn) => handOnOf(turn)))),
    ).toEqual([false, true, true]);
    const unpaced = taskTurns(2_000, 0);
    expect(
      await Promise.all([50, 50, 50].map((v) => unpaced(interpreted(v), async (turn) => handOnOf(turn)))),
    ).toEqual([false, false, false]);
  });

  it('keeps a redelivered task (not its first delivery), so copies of a task never multiply', async () => {
    const turns = taskTurns(0, 100);
    const kinds = await Promise.all(
      [true, false, true].map((first) => turns(interpreted(1), async (turn) => handOnOf(turn), { first })),
    );
    expect(kinds).toEqual([false, false, true]);
  });

  it('hands on a kept task whose turn comes when the queue has run dry, never the first', async () => {
    const answers = [false, true];
    const asked: number[] = [];
    const turns = taskTurns(10_000, 100, async () => {
      asked.push(asked.length);
      return answers[asked.length - 1] ?? true;
    });
    const kinds = await Promise.all(
      [1, 1, 1].map((views) => turns(interpreted(views), async (turn) => handOnOf(turn))),
    );
    // The first runs without asking; the second finds messages waiting; the third finds the queue dry.
    expect(kinds).toEqual([false, false, true]);
    expect(asked).toEqual([0, 1]);
  });

  it('counts a list task as no stop work', async () => {
    const turns = taskTurns(2_000, 100);
    expect(
      await Promise.all(
        [interpreted(0, 'list'), interpreted(10), interpreted(10), interpreted(10)].map((i) =>
          turns(i, async (turn) => handOnOf(turn)),
        ),
      ),
    ).toEqual([false, false, false, true]);
  });
});

describe('fanOutSettings: how each function expands, and how many views a task names', () => {
  it('expands in the queue function only; every other function hands scopes off', () => {
    expect(
      (['sqs', 'eventbridge', 'alarm', 'schedule'] as const).map(
        (trigger) => fanOutSettings(trigger, 18).expansion,
      ),
    ).toEqual(['in-place', 'hand-off', 'hand-off', 'hand-off']);
  });

  it.each([
    [18, 72],
    [10, 40],
    [0.2, 1],
    [0.01, 1],
    [25, 100],
    [1000, 100],
    [undefined, 100],
  ])('names as many views as a share of %s/s stops in 80 %% of the read age: %s', (rate, views) => {
    expect(fanOutSettings('sqs', rate)).toStrictEqual({
      expansion: 'in-place',
      viewsPerTask: views,
      reserveMs: FAN_OUT_RESERVE_MS,
      // Sixteen tasks' worth of runs per page, 100 to 1,000; the largest page without a budget.
      pageSize: rate === undefined ? 1_000 : Math.min(1_000, Math.max(100, 16 * views)),
    });
  });

  it.each([
    // share, batch size, views per task: a full batch of tasks takes about STOP_TASK_BATCH_PLAN_MS at the share
    [18.18, 10, 27],
    [5, 5, 15],
    [1.66, 10, 2],
    [18, 1, 72],
  ])(
    'names no more views than a batch of tasks stops in the planned time: share %s/s, batch %s → %s',
    (rate, batch, views) => {
      const settings = fanOutSettings('sqs', rate, batch);
      expect(settings.viewsPerTask).toBe(views);
      expect((batch * settings.viewsPerTask) / rate).toBeLessThanOrEqual(STOP_TASK_BATCH_PLAN_MS / 1000);
    },
  );
});
