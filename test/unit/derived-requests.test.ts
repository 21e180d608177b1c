/**
 * Messages the functions make themselves (from a window, from an alarm, a scope handed on, the tasks of a
 * scope's expansion and the exact requests they fall back on) go to the stop queue, which checks them
 * against the same contracts as a producer's: none may ever be refused there.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { alarmStateChange, scheduleDelivery } from '../../local/events.ts';
import { decideOnAlarm, parseAlarmStateChange } from '../../src/policy/cost-guard.ts';
import {
  schedulePayloadSchema,
  schedulePayloadTemplate,
  scopeRequestForWindow,
} from '../../src/policy/schedule-payload.ts';
import { costGuardSchema, maintenanceWindowSchema } from '../../src/policy/stack-config.ts';
import {
  IDEMPOTENCY_KEY_MAX_LENGTH,
  NAME_MAX_LENGTH,
  REASON_MAX_LENGTH,
  REQUESTED_BY_MAX_LENGTH,
} from '../../src/request/contract.ts';
import { parseStopRequest } from '../../src/request/parse.ts';
import { SCOPE_TASK_FIELD, type ScopeTask } from '../../src/request/scope-task.ts';
import { GlueCallError } from '../../src/stop/errors.ts';
import { handleStopRequest } from '../../src/stop/handle-stop-request.ts';
import type { QueuedMessage, ScopeStopCommand, StopCommand } from '../../src/stop/ports.ts';
import {
  expandScope,
  handOffKey,
  handOffScope,
  runScopeTask,
  scopeTaskKey,
  viewKey,
} from '../../src/stop/scope-expansion.ts';
import { interpretQueueMessage } from '../../src/triggers/queue-message.ts';
import {
  allowedCharacter,
  controlCharacter,
  issuedAt,
  loneSurrogate,
  validText,
} from './support/arbitraries.ts';
import { fakeContext, fakeFanOut, listedRun } from './support/fan-out.ts';
import { FUNCTION_ACCOUNT_ID, glueFailure } from './support/records.ts';

/** Any text at all: what an operator might type, an alarm might say, or a crafted redrive might carry. */
const anyText = (maxLength: number) =>
  fc
    .array(
      fc.oneof(
        { weight: 6, arbitrary: allowedCharacter },
        { weight: 1, arbitrary: controlCharacter },
        { weight: 1, arbitrary: loneSurrogate },
        { weight: 1, arbitrary: fc.constantFrom('\uFFFE', '\uFFFF', '*', '?', ' ', '/', '$') },
      ),
      { minLength: 0, maxLength },
    )
    .map((chars) => chars.join(''));

/** Mostly names an operator would write, some of them anything at all. */
const nameCandidate = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_*?.-]{1,12}$/), anyText(12));
const scopeCandidate = fc.record({
  database: nameCandidate,
  tables: fc.array(nameCandidate, { minLength: 1, maxLength: 4 }),
});

const contractRefusals = (request: unknown) => {
  const parsed = parseStopRequest(request);
  return parsed.kind === 'valid' ? [] : parsed.violations;
};

describe('requests derived from the stage configuration', () => {
  it('a window the configuration accepts yields, at any scheduled time, a request the contract accepts', () => {
    fc.assert(
      fc.property(
        fc.record({
          name: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/), anyText(70)),
          scope: scopeCandidate,
          dryRun: fc.boolean(),
        }),
        issuedAt,
        (candidate, scheduledTime) => {
          const window = z.safeParse(maintenanceWindowSchema, { ...candidate, schedule: 'rate(1 hour)' });
          fc.pre(window.success);
          if (!window.success) return;
          const delivered = scheduleDelivery(schedulePayloadTemplate(window.data), { scheduledTime });

          const payload = z.safeParse(schedulePayloadSchema, delivered);

          expect(payload.success).toBe(true);
          if (!payload.success) return;
          expect(contractRefusals(scopeRequestForWindow(payload.data))).toEqual([]);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('an alarm the configuration guards yields, whatever its name and reason, a request the contract accepts', () => {
    fc.assert(
      fc.property(
        fc.record({ alarmName: anyText(300), scope: scopeCandidate, dryRun: fc.boolean() }),
        anyText(2_000),
        fc.constantFrom('OK', 'INSUFFICIENT_DATA'),
        (candidate, reason, from) => {
          const guard = z.safeParse(costGuardSchema, candidate);
          fc.pre(guard.success);
          if (!guard.success) return;
          const event = parseAlarmStateChange(
            alarmStateChange(guard.data.alarmName, { from, to: 'ALARM', reason }),
          );
          fc.pre(event.kind === 'valid');

          const decision = decideOnAlarm(event.event, [guard.data]);

          expect(decision.kind === 'stop').toBe(true);
          if (decision.kind === 'stop') expect(contractRefusals(decision.request)).toEqual([]);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

/** The keys the functions give a scope: a producer's key, an EventBridge event id, an SQS message id. */
const scopeKey = fc
  .tuple(
    fc.oneof(
      validText(IDEMPOTENCY_KEY_MAX_LENGTH).map((key) => `key:${key}`),
      validText(255).map((id) => `event:${id}`),
      fc.uuid().map((id) => `message:${id}`),
    ),
    fc.boolean(),
  )
  .map(([key, dryRun]) => ({ key: `${dryRun ? 'dry-run:' : ''}${key}`, dryRun }));

const optionalText = (maxLength: number) =>
  fc.option(
    fc.oneof({ weight: 3, arbitrary: validText(12) }, { weight: 1, arbitrary: validText(maxLength) }),
    { nil: undefined },
  );

/** A scope's runs as Glue lists them: distinct views, some finished, some started after IssuedAt. */
const listing = fc
  .uniqueArray(validText(NAME_MAX_LENGTH), { minLength: 1, maxLength: 12 })
  .chain((tables) =>
    fc.tuple(
      fc.constant(tables),
      fc.array(fc.constantFrom('RUNNING', 'STARTING', 'SUCCEEDED', 'RUNNING-LATE'), {
        minLength: tables.length,
        maxLength: tables.length,
      }),
    ),
  )
  .map(([tables, states]) =>
    tables.map((TableName, i) =>
      listedRun(TableName, i, {
        status:
          states[i] === 'RUNNING-LATE' ? 'RUNNING' : (states[i] as 'RUNNING' | 'STARTING' | 'SUCCEEDED'),
        startedAt: states[i] === 'RUNNING-LATE' ? '2999-01-01T00:00:00.000Z' : '1970-01-01T00:00:00.000Z',
      }),
    ),
  );

/** What the stop queue makes of a message the functions sent it: a task, a stop request, or refusals. */
const readBack = (message: QueuedMessage) => {
  const read = interpretQueueMessage(JSON.stringify(message), []);
  if (read.kind !== 'request') throw new Error('a derived message is never read as an alarm');
  return read.parsed;
};

const refusalsOf = (message: QueuedMessage) => {
  const parsed = readBack(message);
  return parsed.kind === 'invalid'
    ? parsed.violations.map((v) => `${v.field}: ${v.message} (${v.rule})`)
    : [];
};

/** Whether a message is one of the expansion's own tasks (otherwise a stop request). */
const isTask = (message: QueuedMessage): message is { readonly ScopeTask: ScopeTask } =>
  SCOPE_TASK_FIELD in message;

/** The command the stop queue runs for a message that came back, as handleStopRequest builds it. */
const commandFor = async (message: QueuedMessage, dryRun = false): Promise<StopCommand | undefined> => {
  let command: StopCommand | undefined;
  const body = JSON.stringify(message);
  await handleStopRequest(
    {
      parsed: readBack(message),
      delivery: { kind: 'sqs', messageId: crypto.randomUUID() },
      accountId: FUNCTION_ACCOUNT_ID,
      original: body,
    },
    {
      commands: fakeFanOut().deps,
      once: async (c) => {
        command = c;
        return {
          result: c.kind === 'table' ? 'not-running' : 'expanded',
          decidedAt: DECIDED_AT,
          replayed: false,
        };
      },
      parker: { park: async () => undefined },
      report: () => undefined,
      policy: { allow: [{ database: '*', tables: ['*'] }], dryRun },
    },
  );
  return command;
};

const DECIDED_AT = '2026-11-29T02:00:07.000Z';

describe('messages a scope is expanded into', () => {
  it('a scope handed to the stop queue is a request the contract accepts, whatever the handing key and text', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyText(600).filter((key) => key.length > 0),
        fc.array(validText(NAME_MAX_LENGTH), { minLength: 1, maxLength: 5 }),
        issuedAt,
        optionalText(REASON_MAX_LENGTH),
        optionalText(REQUESTED_BY_MAX_LENGTH),
        fc.boolean(),
        async (key, TableNames, at, reason, requestedBy, dryRun) => {
          const { deps, enqueued } = fakeFanOut();

          await handOffScope(
            {
              kind: 'scope',
              idempotencyKey: key,
              target: { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableNames },
              issuedAt: at,
              accountId: FUNCTION_ACCOUNT_ID,
              dryRun,
              ...(reason !== undefined ? { reason } : {}),
              ...(requestedBy !== undefined ? { requestedBy } : {}),
            },
            deps,
          );

          expect(enqueued).toHaveLength(1);
          const [request] = enqueued;
          if (request === undefined || isTask(request)) throw new Error('a hand-off is one stop request');
          expect(parseStopRequest(request)).toStrictEqual({ kind: 'valid', request });
          expect(request).toMatchObject({ IssuedAt: at, IdempotencyKey: handOffKey(key) });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('every task and every exact request an expansion and its tasks send passes its contract', async () => {
    await fc.assert(
      fc.asyncProperty(
        scopeKey,
        listing,
        issuedAt,
        optionalText(REASON_MAX_LENGTH),
        optionalText(REQUESTED_BY_MAX_LENGTH),
        fc.record({ pageSize: fc.integer({ min: 1, max: 5 }), viewsPerTask: fc.integer({ min: 1, max: 4 }) }),
        fc.record({
          shortOfTime: fc.boolean(),
          slowStops: fc.boolean(),
          busy: fc.integer({ min: 0, max: 2 ** 12 - 1 }),
          gone: fc.boolean(),
        }),
        async ({ key, dryRun }, runs, at, reason, requestedBy, sizes, trouble) => {
          const { deps, enqueued } = fakeFanOut({ runs, pageSize: sizes.pageSize, fanOut: sizes });
          const scope: ScopeStopCommand = {
            kind: 'scope',
            idempotencyKey: key,
            target: { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableNames: ['*'] },
            issuedAt: at,
            accountId: FUNCTION_ACCOUNT_ID,
            dryRun,
            ...(reason !== undefined ? { reason } : {}),
            ...(requestedBy !== undefined ? { requestedBy } : {}),
          };
          // Short of time: the listing goes on in a list task after its first page.
          await expandScope(scope, deps, fakeContext({ msLeft: trouble.shortOfTime ? 1 : 60_000 }).context);
          const tasks = enqueued.filter(isTask).map((m) => m.ScopeTask);
          // Glue refuses some views' Stops; or every page moved on (the views are on no page any more).
          // Each stop task runs once, and what it hands on is checked as well.
          if (trouble.gone) runs.splice(0, runs.length);
          const sent: QueuedMessage[] = [...enqueued];
          for (const task of tasks.filter((t) => t.Kind === 'stop')) {
            const { context, clock } = fakeContext();
            const refused = new Set(
              (task.Views ?? []).filter((_, i) => (trouble.busy >> i) & 1).map((view) => view.TableName),
            );
            // Slow stops: each takes 30 s, so a task hands the views after its second to a follow-up task.
            const stopper = {
              stopRefresh: async (...args: Parameters<typeof deps.stopper.stopRefresh>) => {
                if (trouble.slowStops) clock.now += 30_000;
                if (refused.has(args[0].TableName)) {
                  throw new GlueCallError(glueFailure('ThrottlingException', 400));
                }
                return deps.stopper.stopRefresh(...args);
              },
            };
            const before = enqueued.length;
            await runScopeTask(
              {
                kind: 'task',
                idempotencyKey: scopeTaskKey(task),
                target: scope.target,
                task,
                accountId: FUNCTION_ACCOUNT_ID,
              },
              { ...deps, stopper },
              context,
            );
            sent.push(...enqueued.slice(before));
          }

          expect(sent.flatMap(refusalsOf)).toEqual([]);
          for (const message of sent) {
            if (isTask(message)) {
              expect(readBack(message)).toStrictEqual({ kind: 'task', task: message.ScopeTask });
              expect(message.ScopeTask).toMatchObject({ RootKey: key, IssuedAt: at, DatabaseName: 'sales' });
              expect(message.ScopeTask.DryRun === true).toBe(dryRun);
            } else {
              expect(parseStopRequest(message)).toStrictEqual({ kind: 'valid', request: message });
              expect(message).toMatchObject({ IssuedAt: at, RunId: expect.any(String) });
              expect(message.DryRun === true).toBe(dryRun);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keys a view alike whether a task stops it or the exact request sent instead does', async () => {
    await fc.assert(
      fc.asyncProperty(
        scopeKey,
        fc.uniqueArray(validText(NAME_MAX_LENGTH), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        async ({ key, dryRun }, tables, stageDryRun) => {
          const runs = tables.map((TableName, i) => listedRun(TableName, i));
          const { deps, enqueued } = fakeFanOut({ runs });
          const target = { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableNames: ['*'] };
          await expandScope(
            {
              kind: 'scope',
              idempotencyKey: key,
              target,
              issuedAt: '2026-11-29T02:00:00Z',
              accountId: FUNCTION_ACCOUNT_ID,
              dryRun,
            },
            deps,
          );
          const [message] = enqueued;
          if (message === undefined || !isTask(message)) throw new Error('one stop task');
          const taskCommand = await commandFor(message, stageDryRun);
          if (taskCommand?.kind !== 'task') throw new Error('a task is run as a task');
          const { task } = taskCommand;
          // The task settles each view under its key; when its page no longer shows them (Glue's pages
          // moved), each goes on as an exact request.
          const { context, views } = fakeContext();
          await runScopeTask(taskCommand, deps, context);
          const keysInTask = views.map((view) => view.idempotencyKey);
          const moved = fakeFanOut({ runs: [] });
          await runScopeTask(taskCommand, moved.deps, fakeContext().context);

          const keysOfExact = await Promise.all(
            moved.enqueued.map(async (request) => (await commandFor(request, stageDryRun))?.idempotencyKey),
          );
          const dry = dryRun || stageDryRun;
          expect(keysInTask).toEqual(
            tables
              .toSorted(byCodeUnit)
              .map((TableName) => viewKey(task.RootKey, { ...target, TableName }, dry)),
          );
          expect(keysOfExact).toEqual(keysInTask);
        },
      ),
      { numRuns: 300 },
    );
  });
});

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
