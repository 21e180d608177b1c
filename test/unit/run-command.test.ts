import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AllowRule } from '../../src/policy/stack-config.ts';
import type { StopTarget } from '../../src/request/contract.ts';
import { parseStopMessageBody } from '../../src/request/parse.ts';
import { SCOPE_TASK_FIELD } from '../../src/request/scope-task.ts';
import { deadlineExceeded } from '../../src/stop/deadline.ts';
import { GlueCallError, ReadTooOldError, StopError } from '../../src/stop/errors.ts';
import { handleStopRequest } from '../../src/stop/handle-stop-request.ts';
import type {
  ActiveRun,
  QueuedMessage,
  RunLister,
  ScopeStopCommand,
  TableStopCommand,
} from '../../src/stop/ports.ts';
import {
  type CommandDependencies,
  derivedIdempotencyKey,
  GUARD_READ_MAX_AGE_MS,
  runStopCommand,
  stopTable,
} from '../../src/stop/run-command.ts';
import { checkRunGuard, currentRun } from '../../src/stop/run-guard.ts';
import { interpretQueueMessage } from '../../src/triggers/queue-message.ts';
import { isoWithOffset, validText } from './support/arbitraries.ts';
import {
  activeRun,
  deepFreeze,
  FUNCTION_ACCOUNT_ID,
  glueFailure,
  OTHER_RUN_ID,
  RUN_ID,
  rejectionOf,
  scopeTarget,
  stopTarget,
} from './support/records.ts';

const DECIDED_AT = new Date('2026-11-29T02:00:07.000Z');
const ISSUED_AT = '2026-11-29T02:00:00Z';
const PARENT_KEY = 'event:9b2d4f6a-1c3e-4a5b-8d7f-0e1a2b3c4d5e';

type ListQuery = Parameters<RunLister['activeRuns']>[0];

interface FakeOptions {
  /** What Glue has running (STARTING or RUNNING; the port filters statuses and merges pages). */
  readonly running?: readonly ActiveRun[];
  /** What the Stop throws; a function is asked at every Stop. */
  readonly stopFails?: unknown;
  readonly listFails?: unknown;
  readonly enqueueFails?: unknown;
  readonly allow?: readonly AllowRule[];
}

/** Plain fakes of the three ports; the lister answers like Glue, narrowing by database and table. */
const fakePorts = (options: FakeOptions = {}) => {
  const stopped: StopTarget[] = [];
  const listed: ListQuery[] = [];
  const enqueued: QueuedMessage[] = [];
  const sendBy: (number | undefined)[] = [];
  const active = (query: ListQuery): ActiveRun[] => {
    listed.push(query);
    if (options.listFails !== undefined) throw options.listFails;
    return (options.running ?? []).filter(
      (run) =>
        run.target.DatabaseName === query.DatabaseName &&
        (query.TableName === undefined || run.target.TableName === query.TableName),
    );
  };
  const deps: CommandDependencies = {
    stopper: {
      async stopRefresh(target, stopOptions = {}) {
        stopped.push(target);
        sendBy.push(stopOptions.sendBy);
        const failure = typeof options.stopFails === 'function' ? options.stopFails() : options.stopFails;
        if (failure !== undefined) throw failure;
      },
    },
    runs: {
      async activeRuns(query) {
        return active(query);
      },
      async page(query) {
        const runs = active(query);
        return { active: runs, tables: new Set(runs.map((r) => r.target.TableName)), listed: runs.length };
      },
    },
    queue: {
      async enqueue(requests) {
        if (options.enqueueFails !== undefined) throw options.enqueueFails;
        enqueued.push(...requests);
      },
    },
    allow: options.allow ?? [{ database: '*', tables: ['*'] }],
    now: () => DECIDED_AT,
  };
  return { deps, stopped, listed, enqueued, sendBy };
};

const tableCommand = (overrides: Partial<TableStopCommand> = {}): TableStopCommand =>
  deepFreeze({
    kind: 'table',
    idempotencyKey: 'key:nightly-1',
    target: stopTarget({ TableName: 'daily_mv' }),
    guard: {},
    dryRun: false,
    ...overrides,
  });

const scopeCommand = (overrides: Partial<ScopeStopCommand> = {}): ScopeStopCommand =>
  deepFreeze({
    kind: 'scope',
    idempotencyKey: PARENT_KEY,
    target: scopeTarget(),
    issuedAt: ISSUED_AT,
    accountId: FUNCTION_ACCOUNT_ID,
    dryRun: false,
    ...overrides,
  });

const glueError = (code: string, httpStatusCode?: number) =>
  new GlueCallError(glueFailure(code, httpStatusCode));

const DAILY = activeRun({ TableName: 'daily_mv', runId: RUN_ID, startedAt: '2026-11-29T01:30:00.000Z' });

describe('stopTable: without guard or dry run', () => {
  it('stops the target with no List call and records stop-requested at the injected time', async () => {
    const { deps, stopped, listed } = fakePorts({ running: [DAILY] });

    const recorded = await stopTable(tableCommand(), deps);

    expect(recorded).toStrictEqual({ result: 'stop-requested', decidedAt: DECIDED_AT.toISOString() });
    expect(stopped).toEqual([
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName: 'daily_mv' },
    ]);
    expect(listed).toEqual([]);
  });

  it.each([
    ['MaterializedViewRefreshTaskStoppingException', 'already-stopping'],
    ['MaterializedViewRefreshTaskNotRunningException', 'not-running'],
  ] as const)('records %s as the result %s, not as an error', async (code, result) => {
    const { deps } = fakePorts({ stopFails: glueError(code, 400) });

    const recorded = await stopTable(tableCommand(), deps);

    expect(recorded).toStrictEqual({ result, decidedAt: DECIDED_AT.toISOString() });
  });

  it.each([
    ['InvalidInputException', 'glue-invalid-input'],
    ['AccessDeniedException', 'glue-access-denied'],
    ['EntityNotFoundException', 'table-not-found'],
  ] as const)(
    'throws %s as a rejected StopError with reason %s and the Glue error as cause',
    async (code, reason) => {
      const failure = glueError(code, 400);
      const { deps } = fakePorts({ stopFails: failure });

      const error = await rejectionOf(stopTable(tableCommand(), deps));

      expect(error).toBeInstanceOf(StopError);
      expect(error).toMatchObject({
        failure: { kind: 'rejected', reason },
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
  ] as const)(
    'throws %s (HTTP status %s) as a retry StopError with reason %s',
    async (code, status, reason) => {
      const failure = glueError(code, status);
      const { deps } = fakePorts({ stopFails: failure });

      const error = await rejectionOf(stopTable(tableCommand(), deps));

      expect(error).toBeInstanceOf(StopError);
      expect(error).toMatchObject({ failure: { kind: 'retry', reason }, cause: failure });
    },
  );

  it('throws anything that is not a GlueCallError as a retry StopError unexpected-error, keeping the cause', async () => {
    const bug = new TypeError('stopper blew up');
    const { deps } = fakePorts({ stopFails: bug });

    const error = await rejectionOf(stopTable(tableCommand(), deps));

    expect(error).toBeInstanceOf(StopError);
    expect(error).toMatchObject({
      failure: { kind: 'retry', reason: 'unexpected-error' },
      message: 'Glue call failed unexpectedly: TypeError: stopper blew up',
      cause: bug,
    });
  });

  it('leaves the frozen command untouched and returns plain JSON (what the idempotency store keeps)', async () => {
    const command = tableCommand({ guard: { runId: RUN_ID } });
    const { deps } = fakePorts({ running: [DAILY] });

    const recorded = await stopTable(command, deps);

    expect(JSON.parse(JSON.stringify(recorded))).toStrictEqual(recorded);
    expect(command).toEqual(tableCommand({ guard: { runId: RUN_ID } }));
  });
});

describe('stopTable: with a run guard', () => {
  it('lists the table’s runs once, then stops and records which run it stopped', async () => {
    const { deps, stopped, listed } = fakePorts({ running: [DAILY] });

    const recorded = await stopTable(tableCommand({ guard: { runId: RUN_ID, issuedAt: ISSUED_AT } }), deps);

    expect(listed).toEqual([
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName: 'daily_mv' },
    ]);
    expect(stopped).toHaveLength(1);
    expect(recorded).toStrictEqual({
      result: 'stop-requested',
      decidedAt: DECIDED_AT.toISOString(),
      runId: RUN_ID,
      runStartedAt: '2026-11-29T01:30:00.000Z',
    });
  });

  it('matches RunId in any letter case', async () => {
    const { deps, stopped } = fakePorts({ running: [DAILY] });

    const recorded = await stopTable(tableCommand({ guard: { runId: RUN_ID.toUpperCase() } }), deps);

    expect(recorded.result).toBe('stop-requested');
    expect(stopped).toHaveLength(1);
  });

  it('skips, without a Stop call, when the current run is not the one RunId names', async () => {
    const { deps, stopped } = fakePorts({ running: [DAILY] });

    const recorded = await stopTable(tableCommand({ guard: { runId: OTHER_RUN_ID } }), deps);

    expect(stopped).toEqual([]);
    expect(recorded).toStrictEqual({
      result: 'skipped',
      decidedAt: DECIDED_AT.toISOString(),
      runId: RUN_ID,
      runStartedAt: '2026-11-29T01:30:00.000Z',
      detail: `newer run, skipped: the current run is ${RUN_ID}, not ${OTHER_RUN_ID} named by the request`,
    });
  });

  it('skips, without a Stop call, a run that started after IssuedAt', async () => {
    const later = activeRun({ TableName: 'daily_mv', startedAt: '2026-11-29T02:00:01.000Z' });
    const { deps, stopped } = fakePorts({ running: [later] });

    const recorded = await stopTable(tableCommand({ guard: { issuedAt: ISSUED_AT } }), deps);

    expect(stopped).toEqual([]);
    expect(recorded).toMatchObject({
      result: 'skipped',
      runId: RUN_ID,
      detail: expect.stringContaining('after the request was issued'),
    });
  });

  it('stops a run that started exactly at IssuedAt', async () => {
    const sameInstant = activeRun({ TableName: 'daily_mv', startedAt: '2026-11-29T02:00:00.000Z' });
    const { deps, stopped } = fakePorts({ running: [sameInstant] });

    const recorded = await stopTable(tableCommand({ guard: { issuedAt: ISSUED_AT } }), deps);

    expect(recorded.result).toBe('stop-requested');
    expect(stopped).toHaveLength(1);
  });

  it('records not-running, without a Stop call, when nothing runs', async () => {
    const { deps, stopped } = fakePorts({ running: [] });

    const recorded = await stopTable(tableCommand({ guard: { runId: RUN_ID } }), deps);

    expect(stopped).toEqual([]);
    expect(recorded).toStrictEqual({
      result: 'not-running',
      decidedAt: DECIDED_AT.toISOString(),
      detail: 'no refresh of this view is running',
    });
  });

  it('keeps the run in a terminal result when Glue says the guarded run is already stopping', async () => {
    const { deps } = fakePorts({
      running: [DAILY],
      stopFails: glueError('MaterializedViewRefreshTaskStoppingException', 400),
    });

    const recorded = await stopTable(tableCommand({ guard: { runId: RUN_ID } }), deps);

    expect(recorded).toMatchObject({ result: 'already-stopping', runId: RUN_ID });
  });

  it.each([
    ['AccessDeniedException', 400, 'rejected', 'glue-access-denied'],
    ['EntityNotFoundException', 400, 'rejected', 'table-not-found'],
    ['InvalidInputException', 400, 'rejected', 'glue-invalid-input'],
    ['ThrottlingException', 400, 'retry', 'glue-throttled'],
    ['ECONNREFUSED', undefined, 'retry', 'network-error'],
    ['MaterializedViewRefreshTaskNotRunningException', 400, 'retry', 'glue-unexpected-error'],
  ] as const)(
    'turns a List failure %s (HTTP status %s) into a %s StopError with reason %s, with no Stop call',
    async (code, status, kind, reason) => {
      const failure = glueError(code, status);
      const { deps, stopped } = fakePorts({ listFails: failure });

      const error = await rejectionOf(stopTable(tableCommand({ guard: { runId: RUN_ID } }), deps));

      expect(error).toBeInstanceOf(StopError);
      expect(error).toMatchObject({ failure: { kind, reason }, cause: failure });
      expect(stopped).toEqual([]);
    },
  );

  it('passes a StopError from the List call through unchanged: a deadline stays a deadline', async () => {
    const deadline = deadlineExceeded('no Glue call slot before the invocation deadline');
    const { deps } = fakePorts({ listFails: deadline });

    const error = await rejectionOf(stopTable(tableCommand({ guard: { issuedAt: ISSUED_AT } }), deps));

    expect(error).toBe(deadline);
  });

  it('turns a List failure that is not a GlueCallError into a retry StopError unexpected-error', async () => {
    const { deps } = fakePorts({ listFails: new RangeError('bad page') });

    const error = await rejectionOf(stopTable(tableCommand({ guard: { issuedAt: ISSUED_AT } }), deps));

    expect(error).toMatchObject({
      name: 'StopError',
      failure: { kind: 'retry', reason: 'unexpected-error' },
    });
  });
});

describe('stopTable: dry run', () => {
  it('names the run it would stop, with one List call and no Stop call', async () => {
    const { deps, stopped, listed } = fakePorts({ running: [DAILY] });

    const recorded = await stopTable(tableCommand({ dryRun: true }), deps);

    expect(listed).toHaveLength(1);
    expect(stopped).toEqual([]);
    expect(recorded).toStrictEqual({
      result: 'dry-run',
      decidedAt: DECIDED_AT.toISOString(),
      runId: RUN_ID,
      runStartedAt: '2026-11-29T01:30:00.000Z',
      detail: `dry run: would stop run ${RUN_ID}`,
    });
  });

  it('records not-running when nothing would be stopped', async () => {
    const { deps, stopped } = fakePorts({ running: [] });

    const recorded = await stopTable(tableCommand({ dryRun: true }), deps);

    expect(recorded.result).toBe('not-running');
    expect(stopped).toEqual([]);
  });

  it('still applies the run guard: a newer run is skipped, not reported as would-stop', async () => {
    const { deps, stopped } = fakePorts({ running: [DAILY] });

    const recorded = await stopTable(tableCommand({ dryRun: true, guard: { runId: OTHER_RUN_ID } }), deps);

    expect(recorded.result).toBe('skipped');
    expect(stopped).toEqual([]);
  });
});

describe('stopTable: a read too old to vouch for the Stop', () => {
  it('asks the stopper to send the Stop within GUARD_READ_MAX_AGE_MS of the read that vouched for it', async () => {
    const { deps, sendBy } = fakePorts({ running: [DAILY] });
    const before = Date.now();

    await stopTable(tableCommand({ guard: { issuedAt: ISSUED_AT } }), deps);

    const [by] = sendBy;
    expect(by).toBeGreaterThanOrEqual(before + GUARD_READ_MAX_AGE_MS);
    expect(by).toBeLessThanOrEqual(Date.now() + GUARD_READ_MAX_AGE_MS);
  });

  it('sends a Stop without a guard with no time limit: no read vouches for it', async () => {
    const { deps, sendBy } = fakePorts({ running: [DAILY] });

    await stopTable(tableCommand(), deps);

    expect(sendBy).toEqual([undefined]);
  });

  it('reads the view again when the budget had no slot in time, and stops from the new read', async () => {
    let refusals = 2;
    const { deps, listed, stopped } = fakePorts({
      running: [DAILY],
      stopFails: () => (refusals-- > 0 ? new ReadTooOldError('no slot in time') : undefined),
    });

    const recorded = await stopTable(tableCommand({ guard: { runId: RUN_ID } }), deps);

    expect(recorded).toMatchObject({ result: 'stop-requested', runId: RUN_ID });
    expect([listed.length, stopped.length]).toEqual([3, 3]);
  });

  it('gives up after three reads as retry glue-throttled, never stopping from a stale read', async () => {
    const { deps, listed } = fakePorts({ running: [DAILY], stopFails: () => new ReadTooOldError('no slot') });

    const error = await rejectionOf(stopTable(tableCommand({ guard: { runId: RUN_ID } }), deps));

    expect(error).toMatchObject({
      name: 'StopError',
      failure: { kind: 'retry', reason: 'glue-throttled' },
      message: `the Glue budget had no slot within ${GUARD_READ_MAX_AGE_MS} ms of reading the view, 3 times`,
    });
    expect(error).toHaveProperty('cause.name', 'ReadTooOldError');
    expect(listed).toHaveLength(3);
  });

  it('reads again on a read that names a newer run by then: the guard decides from the latest read', async () => {
    const newer = activeRun({
      TableName: 'daily_mv',
      runId: OTHER_RUN_ID,
      startedAt: '2026-11-29T02:00:03.000Z',
    });
    const running = [DAILY];
    const { deps, stopped } = fakePorts({
      running,
      stopFails: () => {
        // The budget had no slot in time; meanwhile the run was replaced by one started after IssuedAt.
        running.splice(0, 1, newer);
        return new ReadTooOldError('no slot in time');
      },
    });

    const recorded = await stopTable(tableCommand({ guard: { issuedAt: ISSUED_AT } }), deps);

    expect(recorded).toMatchObject({ result: 'skipped', runId: OTHER_RUN_ID });
    expect(stopped).toHaveLength(1);
  });
});

describe('scope requests end to end: what the stop queue receives back', () => {
  /** Handles an SQS body as the queue function does, with the real command behind fake Glue and queue ports. */
  const handleBody = async (body: string, running: readonly ActiveRun[]) => {
    const { deps: commands, enqueued } = fakePorts({ running });
    const outcome = await handleStopRequest(
      {
        parsed: parseStopMessageBody(body),
        delivery: { kind: 'sqs', messageId: 'm-1' },
        accountId: FUNCTION_ACCOUNT_ID,
        original: body,
      },
      {
        commands,
        once: async (command, work) => ({ ...(await work(command)), replayed: false }),
        parker: { park: async () => undefined },
        report: () => undefined,
        policy: { allow: [{ database: '*', tables: ['*'] }], dryRun: false },
      },
    );
    return { outcome, enqueued };
  };

  /** What the stop queue makes of a message when it comes back: the refusals, field by field. */
  const refusedByQueue = (messages: readonly QueuedMessage[]) =>
    messages.flatMap((message) => {
      const read = interpretQueueMessage(JSON.stringify(message), []);
      if (read.kind !== 'request') return ['read as an alarm'];
      return read.parsed.kind === 'invalid'
        ? read.parsed.violations.map((v) => `${v.field}: ${v.message}`)
        : [];
    });

  it('expands a scope request into stop tasks the queue reads as tasks when they come back', async () => {
    const body = JSON.stringify({
      DatabaseName: 'sales',
      TableNames: ['*'],
      Reason: 'cost',
      IdempotencyKey: 'k'.repeat(255),
    });

    const { outcome, enqueued } = await handleBody(body, [
      DAILY,
      activeRun({ TableName: 'hourly_mv', runId: OTHER_RUN_ID }),
    ]);

    expect(outcome).toMatchObject({ outcome: 'expanded', queued: 1 });
    expect(enqueued.map((m) => SCOPE_TASK_FIELD in m)).toEqual([true]);
    expect(
      enqueued.map((m) => {
        const read = interpretQueueMessage(JSON.stringify(m), []);
        return read.kind === 'request' ? read.parsed.kind : read.kind;
      }),
    ).toEqual(['task']);
    expect(refusedByQueue(enqueued)).toEqual([]);
  });

  it('never accepts a scope request whose tasks the queue would then refuse, whatever its event id', async () => {
    // The envelope's id is any non-empty string; it becomes the scope's key ("event:<id>"), which every
    // task carries as RootKey and ParentIdempotencyKey.
    const eventId = 'e'.repeat(600);
    const body = JSON.stringify({
      version: '0',
      id: eventId,
      'detail-type': 'Stop Materialized View Refresh',
      source: 'glue-mv-stop',
      account: FUNCTION_ACCOUNT_ID,
      time: '2026-11-29T02:00:05Z',
      region: 'us-east-1',
      resources: [],
      detail: { DatabaseName: 'sales', TableNames: ['*'] },
    });

    const { outcome, enqueued } = await handleBody(body, [DAILY]);

    expect(['expanded', 'rejected']).toContain(outcome.outcome);
    expect(refusedByQueue(enqueued)).toEqual([]);
  });
});

describe('derivedIdempotencyKey', () => {
  const table = (TableName: string) => ({ CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName });

  it('gives the same key for the same parent and table, every time', () => {
    expect(derivedIdempotencyKey(PARENT_KEY, table('daily_mv'))).toBe(
      derivedIdempotencyKey(PARENT_KEY, table('daily_mv')),
    );
  });

  it('is a short namespaced key, well inside the 255 characters of IdempotencyKey', () => {
    const key = derivedIdempotencyKey(`key:${'k'.repeat(255)}`, table('t'.repeat(255)));

    expect(key).toMatch(/^scope-[0-9a-f]{64}$/);
  });

  it('gives distinct keys to distinct (parent, catalog, database, table) for any names the contract allows', () => {
    const name = validText(32);
    const target = fc.record({ CatalogId: name, DatabaseName: name, TableName: name });

    fc.assert(
      fc.property(fc.string(), target, fc.string(), target, (parentA, targetA, parentB, targetB) => {
        fc.pre(parentA !== parentB || JSON.stringify(targetA) !== JSON.stringify(targetB));

        expect(derivedIdempotencyKey(parentA, targetA)).not.toBe(derivedIdempotencyKey(parentB, targetB));
      }),
      { numRuns: 1000 },
    );
  });

  it.each(['CatalogId', 'DatabaseName', 'TableName'] as const)(
    'gives another key under the same parent when only the %s differs',
    (field) => {
      const name = validText(32);
      const target = fc.record({ CatalogId: name, DatabaseName: name, TableName: name });
      const parentKey = fc.oneof(
        fc.string(),
        fc.uuid().map((id) => `event:${id}`),
        validText(64).map((key) => `key:${key}`),
      );

      fc.assert(
        fc.property(parentKey, target, name, (parent, original, other) => {
          fc.pre(other !== original[field]);
          const changed = { ...original, [field]: other };

          expect(derivedIdempotencyKey(parent, changed)).not.toBe(derivedIdempotencyKey(parent, original));
        }),
        { numRuns: 300 },
      );
    },
  );

  it('keeps the names apart: moving a character from one name to the next gives another key', () => {
    const key = (CatalogId: string, DatabaseName: string, TableName: string) =>
      derivedIdempotencyKey(PARENT_KEY, { CatalogId, DatabaseName, TableName });

    expect(new Set([key('ab', 'c', 't'), key('a', 'bc', 't'), key('a', 'b', 'ct')]).size).toBe(3);
    expect(derivedIdempotencyKey('event:a', table('b'))).not.toBe(
      derivedIdempotencyKey('event:', table('ab')),
    );
  });

  it('gives another key under another parent, so a new scope request can stop the same table again', () => {
    expect(derivedIdempotencyKey('event:a', table('daily_mv'))).not.toBe(
      derivedIdempotencyKey('event:b', table('daily_mv')),
    );
  });
});

describe('runStopCommand', () => {
  it('stops a table for a table command', async () => {
    const { deps, stopped, enqueued } = fakePorts({ running: [DAILY] });

    const recorded = await runStopCommand(tableCommand(), deps);

    expect(recorded.result).toBe('stop-requested');
    expect(stopped).toHaveLength(1);
    expect(enqueued).toEqual([]);
  });

  it('expands a scope in place for a scope command: one stop task, no Stop', async () => {
    const { deps, stopped, enqueued } = fakePorts({ running: [DAILY] });

    const recorded = await runStopCommand(scopeCommand(), deps);

    expect(recorded.result).toBe('expanded');
    expect(stopped).toEqual([]);
    expect(enqueued.map((m) => SCOPE_TASK_FIELD in m)).toEqual([true]);
  });

  it('hands a scope to the stop queue for a scope command in a function that hands off', async () => {
    const { deps, stopped, listed, enqueued } = fakePorts({ running: [DAILY] });

    const recorded = await runStopCommand(scopeCommand(), {
      ...deps,
      fanOut: { expansion: 'hand-off', viewsPerTask: 100, reserveMs: 0, pageSize: 1_000 },
    });

    expect(recorded).toMatchObject({ result: 'expanded', queued: 1 });
    expect([stopped, listed]).toEqual([[], []]);
    expect(enqueued).toMatchObject([{ DatabaseName: 'sales', TableNames: ['*'], IssuedAt: ISSUED_AT }]);
  });
});

const STARTED = '2026-11-29T01:30:00.000Z';

describe('currentRun: the table’s run that started last', () => {
  it('is undefined when nothing runs', () => {
    expect(currentRun([])).toBeUndefined();
  });

  it('picks the run with the latest StartTime, whatever the order', () => {
    const older = activeRun({ runId: OTHER_RUN_ID, startedAt: '2026-11-29T01:00:00.000Z' });
    const newer = activeRun({ runId: RUN_ID, startedAt: '2026-11-29T01:45:00.000Z' });

    expect(currentRun([older, newer])).toBe(newer);
    expect(currentRun([newer, older])).toBe(newer);
  });

  it('keeps the first listed of runs that started at the same instant', () => {
    const first = activeRun({ runId: RUN_ID, startedAt: '2026-11-29T01:00:00.000Z' });
    const second = activeRun({ runId: OTHER_RUN_ID, startedAt: '2026-11-29T01:00:00.000Z' });

    expect(currentRun([first, second])).toBe(first);
    expect(currentRun([second, first])).toBe(second);
  });

  it('ranks a run without StartTime before any run that has one', () => {
    const { startedAt: _omitted, ...withoutStart } = activeRun({ runId: OTHER_RUN_ID });
    const known = activeRun({ runId: RUN_ID, startedAt: '1999-01-01T00:00:00.000Z' });

    expect(currentRun([withoutStart, known])).toBe(known);
    expect(currentRun([withoutStart])).toBe(withoutStart);
  });

  it('always returns one of the runs, started no earlier than any other', () => {
    const run = fc
      .record({
        runId: fc.uuid(),
        startedAt: fc.option(fc.integer({ min: 0, max: 4_000_000_000_000 }), { nil: undefined }),
      })
      .map(({ runId, startedAt }) =>
        activeRun({
          runId,
          ...(startedAt !== undefined ? { startedAt: new Date(startedAt).toISOString() } : {}),
        }),
      );
    const startOf = (r: { startedAt?: string }) =>
      r.startedAt ? Date.parse(r.startedAt) : Number.NEGATIVE_INFINITY;

    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 8 }), (runs) => {
        const current = currentRun(runs);

        const latest = Math.max(...runs.map(startOf));

        expect(current !== undefined && runs.includes(current)).toBe(true);
        expect(current && startOf(current)).toBe(latest);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('checkRunGuard', () => {
  it('says not-running when no run is active, with or without a guard', () => {
    expect(checkRunGuard({}, [])).toEqual({ kind: 'not-running' });
    expect(checkRunGuard({ runId: RUN_ID, issuedAt: STARTED }, [])).toEqual({ kind: 'not-running' });
  });

  it('proceeds with the current run when there is no guard', () => {
    const run = activeRun();

    expect(checkRunGuard({}, [run])).toEqual({ kind: 'proceed', run });
  });

  it('proceeds when RunId names the current run, in any letter case', () => {
    const run = activeRun({ runId: RUN_ID });

    expect(checkRunGuard({ runId: RUN_ID.toUpperCase() }, [run])).toEqual({ kind: 'proceed', run });
    expect(checkRunGuard({ runId: RUN_ID }, [activeRun({ runId: RUN_ID.toUpperCase() })]).kind).toBe(
      'proceed',
    );
  });

  it('skips when RunId names another run, saying which run is current and which was named', () => {
    const run = activeRun({ runId: OTHER_RUN_ID });

    const verdict = checkRunGuard({ runId: RUN_ID }, [run]);

    expect(verdict).toEqual({
      kind: 'skip',
      run,
      detail: `newer run, skipped: the current run is ${OTHER_RUN_ID}, not ${RUN_ID} named by the request`,
    });
  });

  it('skips a run that started after IssuedAt, naming both times', () => {
    const run = activeRun({ startedAt: '2026-11-29T02:00:01.000Z' });

    const verdict = checkRunGuard({ issuedAt: '2026-11-29T02:00:00Z' }, [run]);

    expect(verdict).toEqual({
      kind: 'skip',
      run,
      detail:
        `newer run, skipped: run ${RUN_ID} started at 2026-11-29T02:00:01.000Z, ` +
        'after the request was issued at 2026-11-29T02:00:00Z',
    });
  });

  it('proceeds with a run that started exactly at IssuedAt, or before it', () => {
    const run = activeRun({ startedAt: '2026-11-29T02:00:00.000Z' });

    expect(checkRunGuard({ issuedAt: '2026-11-29T02:00:00Z' }, [run]).kind).toBe('proceed');
    expect(checkRunGuard({ issuedAt: '2026-11-29T02:00:00.001Z' }, [run]).kind).toBe('proceed');
  });

  it('compares instants, not texts: IssuedAt with an offset is read in UTC', () => {
    // 03:00+01:00 is 02:00Z: a run that started at 02:30Z started after it, although "02:30" < "03:00".
    const run = activeRun({ startedAt: '2026-11-29T02:30:00.000Z' });

    const verdict = checkRunGuard({ issuedAt: '2026-11-29T03:00:00+01:00' }, [run]);

    expect(verdict.kind).toBe('skip');
  });

  it('proceeds when Glue gave no StartTime: nothing says the run is newer', () => {
    const { startedAt: _omitted, ...run } = activeRun();

    expect(checkRunGuard({ issuedAt: '2000-01-01T00:00:00Z' }, [run])).toEqual({ kind: 'proceed', run });
  });

  it('checks RunId before IssuedAt: a matching run that started later is still skipped for its time', () => {
    const run = activeRun({ runId: RUN_ID, startedAt: '2026-11-29T02:00:01.000Z' });

    expect(checkRunGuard({ runId: RUN_ID, issuedAt: '2026-11-29T02:00:00Z' }, [run]).kind).toBe('skip');
  });

  it('guards against the current run only, when older active runs are listed too', () => {
    const older = activeRun({ runId: RUN_ID, startedAt: '2026-11-29T01:00:00.000Z' });
    const newer = activeRun({ runId: OTHER_RUN_ID, startedAt: '2026-11-29T01:10:00.000Z' });

    const verdict = checkRunGuard({ runId: RUN_ID }, [older, newer]);

    expect(verdict).toMatchObject({ kind: 'skip', run: newer });
  });

  it('proceeds exactly when the run started at or before IssuedAt, for any offset IssuedAt is written in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: -86_400_000, max: 86_400_000 }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        (issuedMs, startDelta, offset) => {
          const issued = new Date(issuedMs);
          const run = activeRun({ startedAt: new Date(issuedMs + startDelta).toISOString() });

          const verdict = checkRunGuard({ issuedAt: isoWithOffset(issued, offset, true) }, [run]);

          expect(verdict.kind).toBe(startDelta > 0 ? 'skip' : 'proceed');
        },
      ),
      { numRuns: 1000 },
    );
  });
});
