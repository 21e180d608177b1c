import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AllowRule } from '../../src/policy/stack-config.ts';
import { parseStopEvent, parseStopMessageBody } from '../../src/request/parse.ts';
import type { ScopeTask } from '../../src/request/scope-task.ts';
import { type Deadline, deadlineExceeded, deadlineIn } from '../../src/stop/deadline.ts';
import { StopError } from '../../src/stop/errors.ts';
import {
  handleStopRequest,
  type IncomingStopRequest,
  type StopDependencies,
} from '../../src/stop/handle-stop-request.ts';
import {
  OUTCOMES,
  type RecordedOutcomeName,
  type RecordedStop,
  type RejectionReason,
  type RetryReason,
  reasonOf,
  type StopOutcome,
} from '../../src/stop/outcome.ts';
import type { OnceResult, RejectedRequest, StopCommand } from '../../src/stop/ports.ts';
import { scopeTaskKey, viewKey } from '../../src/stop/scope-expansion.ts';
import { interpretQueueMessage } from '../../src/triggers/queue-message.ts';

/** What the fake `once` answers for a command, instead of running its work. */
type StopExecutor = (command: StopCommand) => Promise<OnceResult>;

import { validText } from './support/arbitraries.ts';
import { fakeFanOut, listedRun, memoryOnce, runIdOf } from './support/fan-out.ts';
import {
  deepFreeze,
  eventBridgeEnvelope,
  FOREIGN_ACCOUNT_ID,
  FUNCTION_ACCOUNT_ID,
  PUBLISHER_ACCOUNT_ID,
  RUN_ID,
  scopeRequest,
  stopRequest,
} from './support/records.ts';

const MESSAGE_ID = '5f0c2b1e-8b8e-4d6a-9c53-1b2f0a6d7e01';
const DECIDED_AT = '2026-11-29T02:00:07.000Z';
const STARTED_AT_MS = 1_764_381_607_000;
const ELAPSED_MS = 250;

/** A clock that reads the start time once, then the start plus ELAPSED_MS. */
const injectedClock = (): (() => number) => {
  const readings = [STARTED_AT_MS];
  return () => readings.shift() ?? STARTED_AT_MS + ELAPSED_MS;
};

const recordedAs =
  (result: RecordedOutcomeName, replayed = false, extra: Partial<RecordedStop> = {}): StopExecutor =>
  async () => ({ result, decidedAt: DECIDED_AT, ...extra, replayed });

const failingWith =
  (error: unknown): StopExecutor =>
  async () => {
    throw error;
  };

/** Every table of every database of the function's own catalog. */
const ALLOW_ALL: readonly AllowRule[] = [{ database: '*', tables: ['*'] }];

interface FakePortOptions {
  readonly execute?: StopExecutor;
  readonly park?: (request: RejectedRequest) => Promise<void>;
  readonly allow?: readonly AllowRule[];
  readonly dryRun?: boolean;
}

/** Plain fake ports that record every call. */
const fakePorts = (options: FakePortOptions = {}) => {
  const executed: StopCommand[] = [];
  const parked: RejectedRequest[] = [];
  const reported: StopOutcome[] = [];
  const execute = options.execute ?? recordedAs('stop-requested');
  const deps: StopDependencies = {
    commands: {
      stopper: { stopRefresh: async () => undefined },
      runs: {
        activeRuns: async () => [],
        page: async () => ({ active: [], tables: new Set<string>(), listed: 0 }),
      },
      queue: { enqueue: async () => undefined },
      allow: [],
    },
    // The command is recorded and answered by `execute`: handleStopRequest's own logic is what is tested.
    once: async (command) => {
      executed.push(command);
      return execute(command);
    },
    parker: {
      async park(request) {
        parked.push(request);
        await options.park?.(request);
      },
    },
    report: (outcome) => {
      reported.push(outcome);
    },
    policy: { allow: [...(options.allow ?? ALLOW_ALL)], dryRun: options.dryRun ?? false },
    clock: injectedClock(),
  };
  return { deps, executed, parked, reported };
};

/** A request as the SQS handler hands it over: the body parsed, the message id, the body kept verbatim. */
const fromQueue = (body: string, messageId = MESSAGE_ID, receivedAt?: string): IncomingStopRequest =>
  deepFreeze({
    parsed: parseStopMessageBody(body),
    delivery: { kind: 'sqs', messageId },
    accountId: FUNCTION_ACCOUNT_ID,
    original: body,
    ...(receivedAt !== undefined ? { receivedAt } : {}),
  });

/** A request as the EventBridge handler hands it over. */
const fromEventBridge = (
  event: Record<string, unknown>,
  accountId = FUNCTION_ACCOUNT_ID,
): IncomingStopRequest =>
  deepFreeze({
    parsed: parseStopEvent(event),
    delivery: { kind: 'eventbridge', eventId: String(event.id) },
    accountId,
    original: JSON.stringify(event),
  });

const TARGET = { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName: 'daily_revenue_mv' };
const VALID_BODY = JSON.stringify(stopRequest());
const INVALID_BODY = JSON.stringify({ DatabaseName: 'sales', Tablename: 'daily_mv' });
const INVALID_DETAIL =
  'TableName: is required (or TableNames, for a scope) (required); ' +
  'Tablename: is not a field of the stop request (unknown-field)';

describe('handleStopRequest: terminal outcomes', () => {
  it('reports stop-requested with the target, key, ids and the duration read from the injected clock', async () => {
    const { deps, reported, parked } = fakePorts();

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toStrictEqual({
      outcome: 'stop-requested',
      trigger: 'sqs',
      target: TARGET,
      idempotencyKey: `message:${MESSAGE_ID}`,
      dryRun: false,
      replayed: false,
      messageId: MESSAGE_ID,
      durationMs: ELAPSED_MS,
    });
    expect(reported).toEqual([outcome]);
    expect(parked).toEqual([]);
  });

  it.each([
    ['stop-requested', false],
    ['already-stopping', false],
    ['not-running', false],
    ['skipped', false],
    ['dry-run', false],
    ['expanded', false],
    ['stop-requested', true],
    ['already-stopping', true],
    ['not-running', true],
    ['skipped', true],
  ] as const)(
    'ends in %s (replayed: %s) as the executor recorded it, parking nothing',
    async (result, replayed) => {
      const { deps, parked } = fakePorts({ execute: recordedAs(result, replayed) });
      // Only a scope expands; every other result belongs to an exact request.
      const body = result === 'expanded' ? JSON.stringify(scopeRequest()) : VALID_BODY;

      const outcome = await handleStopRequest(fromQueue(body), deps);

      expect(outcome).toMatchObject({ outcome: result, replayed });
      expect(outcome).not.toHaveProperty('reason');
      expect(parked).toEqual([]);
    },
  );

  it.each([
    ['an exact request', VALID_BODY, 'expanded'],
    ['a scope', JSON.stringify(scopeRequest()), 'stop-requested'],
  ] as const)(
    'retries %s whose record holds the other kind of result (%s) as unexpected-error',
    async (_, body, result) => {
      const { deps, parked } = fakePorts({ execute: recordedAs(result) });

      const outcome = await handleStopRequest(fromQueue(body), deps);

      expect(outcome).toMatchObject({ outcome: 'retry', reason: 'unexpected-error' });
      expect(parked).toEqual([]);
    },
  );

  it('carries RequestedBy and Reason into the outcome', async () => {
    const body = JSON.stringify(stopRequest({ RequestedBy: 'ops-runbook', Reason: 'maintenance window' }));
    const { deps } = fakePorts();

    const outcome = await handleStopRequest(fromQueue(body), deps);

    expect(outcome).toMatchObject({ requestedBy: 'ops-runbook', requestReason: 'maintenance window' });
  });

  it('reports an EventBridge delivery with its event id and no message id', async () => {
    const event = eventBridgeEnvelope(stopRequest(), { id: 'event-direct-1' });
    const { deps } = fakePorts();

    const outcome = await handleStopRequest(fromEventBridge(event), deps);

    expect(outcome).toStrictEqual({
      outcome: 'stop-requested',
      trigger: 'eventbridge',
      target: TARGET,
      idempotencyKey: 'event:event-direct-1',
      dryRun: false,
      replayed: false,
      eventId: 'event-direct-1',
      durationMs: ELAPSED_MS,
    });
  });

  it('keys an EventBridge event that arrived through the queue on its event id, and reports both ids', async () => {
    const body = JSON.stringify(eventBridgeEnvelope(stopRequest(), { id: 'event-queued-1' }));
    const { deps, executed } = fakePorts();

    const outcome = await handleStopRequest(fromQueue(body), deps);

    expect(executed.map((command) => command.idempotencyKey)).toEqual(['event:event-queued-1']);
    expect(outcome).toMatchObject({ messageId: MESSAGE_ID, eventId: 'event-queued-1', trigger: 'sqs' });
  });
});

describe('handleStopRequest: what the executor receives', () => {
  it('gives the executor exactly a table command with the producer key namespaced, and no guard', async () => {
    const body = JSON.stringify(
      stopRequest({ IdempotencyKey: 'nightly-2026-11-29', RequestedBy: 'scheduler', Reason: 'cost' }),
    );
    const { deps, executed } = fakePorts();

    await handleStopRequest(fromQueue(body), deps);

    expect(executed).toStrictEqual([
      { kind: 'table', idempotencyKey: 'key:nightly-2026-11-29', target: TARGET, guard: {}, dryRun: false },
    ]);
  });

  it('uses the CatalogId of the request when it gives one (and a rule names that catalog)', async () => {
    const body = JSON.stringify(stopRequest({ CatalogId: '999999999999' }));
    const { deps, executed } = fakePorts({
      allow: [{ catalogId: '999999999999', database: '*', tables: ['*'] }],
    });

    await handleStopRequest(fromQueue(body), deps);

    expect(executed[0]?.target.CatalogId).toBe('999999999999');
  });

  it("defaults the CatalogId to the function's account, never to the event's publisher account", async () => {
    const event = eventBridgeEnvelope(stopRequest(), { account: PUBLISHER_ACCOUNT_ID });
    const { deps, executed } = fakePorts();

    const outcome = await handleStopRequest(fromEventBridge(event, FUNCTION_ACCOUNT_ID), deps);

    expect(executed[0]?.target.CatalogId).toBe(FUNCTION_ACCOUNT_ID);
    expect(outcome.target?.CatalogId).toBe(FUNCTION_ACCOUNT_ID);
  });

  it('takes the default CatalogId from accountId and from nothing else, for any ids and names', async () => {
    const twelveDigits = fc.stringMatching(/^\d{12}$/);

    await fc.assert(
      fc.asyncProperty(
        twelveDigits,
        twelveDigits,
        validText(),
        validText(),
        fc.option(validText(), { nil: undefined }),
        async (accountId, publisherAccount, databaseName, tableName, idempotencyKey) => {
          const detail = {
            DatabaseName: databaseName,
            TableName: tableName,
            ...(idempotencyKey !== undefined ? { IdempotencyKey: idempotencyKey } : {}),
          };
          const event = eventBridgeEnvelope(detail, {
            account: publisherAccount,
            id: `e-${publisherAccount}`,
          });
          const { deps, executed } = fakePorts();

          await handleStopRequest(fromEventBridge(event, accountId), deps);

          expect(executed.map((command) => command.target)).toEqual([
            { CatalogId: accountId, DatabaseName: databaseName, TableName: tableName },
          ]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('handleStopRequest: refusals are parked, never lost', () => {
  it('parks an invalid request with its original text verbatim, reason, detail, violations and ids', async () => {
    const body = ` ${INVALID_BODY}\n`;
    const incoming = fromQueue(body);
    const { deps, executed, parked } = fakePorts();

    const outcome = await handleStopRequest(incoming, deps);

    expect(executed).toEqual([]);
    expect(parked).toStrictEqual([
      {
        original: body,
        trigger: 'sqs',
        outcome: 'rejected',
        reason: 'invalid-request',
        detail: INVALID_DETAIL,
        violations: incoming.parsed.kind === 'invalid' ? incoming.parsed.violations : [],
        messageId: MESSAGE_ID,
      },
    ]);
    expect(outcome).toStrictEqual({
      outcome: 'rejected',
      reason: 'invalid-request',
      detail: INVALID_DETAIL,
      trigger: 'sqs',
      dryRun: false,
      replayed: false,
      messageId: MESSAGE_ID,
      durationMs: ELAPSED_MS,
    });
  });

  it('parks an invalid EventBridge event as the event JSON, with its event id', async () => {
    const event = eventBridgeEnvelope({ DatabaseName: 'sales' }, { id: 'event-invalid-1' });
    const { deps, parked } = fakePorts();

    const outcome = await handleStopRequest(fromEventBridge(event), deps);

    expect(parked).toMatchObject([
      {
        original: JSON.stringify(event),
        trigger: 'eventbridge',
        outcome: 'rejected',
        reason: 'invalid-request',
        detail: 'detail.TableName: is required (or TableNames, for a scope) (required)',
        eventId: 'event-invalid-1',
      },
    ]);
    expect(parked[0]).not.toHaveProperty('messageId');
    expect(outcome).toMatchObject({ outcome: 'rejected', eventId: 'event-invalid-1' });
  });

  it.each([
    'glue-invalid-input',
    'glue-access-denied',
    'table-not-found',
    'idempotency-key-reused',
  ] satisfies RejectionReason[])(
    'parks a %s refusal with the idempotency key and reports rejected',
    async (reason) => {
      const { deps, parked } = fakePorts({
        execute: failingWith(StopError.rejected(reason, 'Glue said no')),
      });

      const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

      expect(parked).toStrictEqual([
        {
          original: VALID_BODY,
          trigger: 'sqs',
          outcome: 'rejected',
          reason,
          detail: 'Glue said no',
          idempotencyKey: `message:${MESSAGE_ID}`,
          messageId: MESSAGE_ID,
        },
      ]);
      expect(outcome).toStrictEqual({
        outcome: 'rejected',
        reason,
        detail: 'Glue said no',
        target: TARGET,
        idempotencyKey: `message:${MESSAGE_ID}`,
        dryRun: false,
        replayed: false,
        trigger: 'sqs',
        messageId: MESSAGE_ID,
        durationMs: ELAPSED_MS,
      });
    },
  );

  it('turns a parker failure into retry dead-letter-queue-unavailable, reported once', async () => {
    const { deps, reported } = fakePorts({
      park: async () => {
        throw new Error('SQS is unreachable');
      },
    });

    const outcome = await handleStopRequest(fromQueue(INVALID_BODY), deps);

    expect(outcome).toMatchObject({
      outcome: 'retry',
      reason: 'dead-letter-queue-unavailable',
      detail: 'could not park a invalid-request request: Error: SQS is unreachable',
    });
    expect(reported).toEqual([outcome]);
  });

  it('turns a parker failure after a permanent Glue error into retry, keeping the target and key', async () => {
    const { deps } = fakePorts({
      execute: failingWith(StopError.rejected('glue-access-denied', 'not allowed')),
      park: async () => {
        throw new Error('SQS is unreachable');
      },
    });

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toMatchObject({
      outcome: 'retry',
      reason: 'dead-letter-queue-unavailable',
      target: TARGET,
      idempotencyKey: `message:${MESSAGE_ID}`,
    });
  });
});

describe('handleStopRequest: failures that may pass are retried', () => {
  it.each([
    'glue-throttled',
    'glue-operation-timeout',
    'glue-server-error',
    'glue-unexpected-error',
    'network-error',
    'duplicate-in-progress',
    'idempotency-store-unavailable',
    'fan-out-incomplete',
  ] satisfies RetryReason[])('hands a %s failure back for retry without parking it', async (reason) => {
    const { deps, parked } = fakePorts({ execute: failingWith(StopError.retry(reason, 'try later')) });

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toStrictEqual({
      outcome: 'retry',
      reason,
      detail: 'try later',
      target: TARGET,
      idempotencyKey: `message:${MESSAGE_ID}`,
      dryRun: false,
      replayed: false,
      trigger: 'sqs',
      messageId: MESSAGE_ID,
      durationMs: ELAPSED_MS,
    });
    expect(parked).toEqual([]);
  });

  it.each([
    [new TypeError('cannot read properties of undefined'), 'TypeError: cannot read properties of undefined'],
    ['a thrown string', 'a thrown string'],
    [undefined, 'undefined'],
  ])('retries anything else thrown (%s) as unexpected-error', async (thrown, detail) => {
    const { deps, parked } = fakePorts({ execute: failingWith(thrown) });

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toMatchObject({ outcome: 'retry', reason: 'unexpected-error', detail });
    expect(parked).toEqual([]);
  });
});

describe('handleStopRequest: every request, whatever happens', () => {
  type ExecutorScenario =
    | { readonly kind: 'recorded'; readonly result: RecordedOutcomeName; readonly replayed: boolean }
    | { readonly kind: 'permanent'; readonly reason: RejectionReason }
    | { readonly kind: 'transient'; readonly reason: RetryReason }
    | { readonly kind: 'unknown' };

  const executorScenario: fc.Arbitrary<ExecutorScenario> = fc.oneof(
    fc.record({
      kind: fc.constant('recorded' as const),
      result: fc.constantFrom(
        'stop-requested',
        'already-stopping',
        'not-running',
        'skipped',
        'dry-run',
        'expanded',
      ),
      replayed: fc.boolean(),
    }),
    fc.record({
      kind: fc.constant('permanent' as const),
      reason: fc.constantFrom(
        'glue-invalid-input',
        'glue-access-denied',
        'table-not-found',
        'idempotency-key-reused',
      ),
    }),
    fc.record({
      kind: fc.constant('transient' as const),
      reason: fc.constantFrom('glue-throttled', 'network-error', 'duplicate-in-progress'),
    }),
    fc.record({ kind: fc.constant('unknown' as const) }),
  );

  const executorFor = (scenario: ExecutorScenario): StopExecutor => {
    switch (scenario.kind) {
      case 'recorded':
        return recordedAs(scenario.result, scenario.replayed);
      case 'permanent':
        return failingWith(StopError.rejected(scenario.reason, 'refused'));
      case 'transient':
        return failingWith(StopError.retry(scenario.reason, 'later'));
      case 'unknown':
        return failingWith(new Error('bug'));
    }
  };

  it('ends in exactly one reported outcome (the one returned), and a refusal is parked or else retried', async () => {
    const body = fc.oneof(
      fc.constant(VALID_BODY),
      fc.constant(INVALID_BODY),
      fc.constant(JSON.stringify(scopeRequest())),
      fc.constant('not json'),
      fc.json(),
      fc.constant(JSON.stringify(eventBridgeEnvelope(stopRequest()))),
    );

    await fc.assert(
      fc.asyncProperty(
        body,
        executorScenario,
        fc.boolean(),
        fc.boolean(),
        async (text, scenario, parkerWorks, allowed) => {
          const incoming = fromQueue(text);
          const before = structuredClone(incoming);
          const { deps, parked, reported } = fakePorts({
            execute: executorFor(scenario),
            park: async () => {
              if (!parkerWorks) throw new Error('SQS is unreachable');
            },
            allow: allowed ? ALLOW_ALL : [{ database: 'elsewhere', tables: ['*'] }],
          });

          const outcome = await handleStopRequest(incoming, deps);

          expect(reported).toHaveLength(1);
          expect(reported[0]).toBe(outcome);
          expect(OUTCOMES).toContain(outcome.outcome);
          expect(outcome.durationMs).toBe(ELAPSED_MS);
          expect(parked.every((request) => request.original === text)).toBe(true);
          // A refusal is either parked (rejected) or, when parking failed, handed back (retry): never dropped.
          const parkingAttempted = parked.length > 0;
          expect(parked.length).toBeLessThanOrEqual(1);
          expect(['rejected', 'not-allowed'].includes(outcome.outcome)).toBe(parkingAttempted && parkerWorks);
          expect(parked.every((request) => request.outcome === outcome.outcome || !parkerWorks)).toBe(true);
          expect(reasonOf(outcome) === 'dead-letter-queue-unavailable').toBe(
            parkingAttempted && !parkerWorks,
          );
          expect(incoming).toStrictEqual(before);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('leaves frozen input untouched on every path (a mutation would throw)', async () => {
    const paths: [IncomingStopRequest, FakePortOptions][] = [
      [fromQueue(VALID_BODY), {}],
      [fromQueue(INVALID_BODY), {}],
      [fromQueue(VALID_BODY), { execute: failingWith(StopError.rejected('table-not-found', 'gone')) }],
      [fromQueue(VALID_BODY), { execute: failingWith(StopError.retry('glue-throttled', 'slow')) }],
      [fromEventBridge(eventBridgeEnvelope(stopRequest())), {}],
    ];

    const outcomes = await Promise.all(
      paths.map(([incoming, options]) => handleStopRequest(incoming, fakePorts(options).deps)),
    );

    expect(outcomes.map((o) => o.outcome)).toEqual([
      'stop-requested',
      'rejected',
      'rejected',
      'retry',
      'stop-requested',
    ]);
    // The fixtures really are frozen, so a mutation above would have thrown instead of giving these outcomes.
    expect(paths.every(([incoming]) => Object.isFrozen(incoming) && Object.isFrozen(incoming.parsed))).toBe(
      true,
    );
  });
});

describe('handleStopRequest: the allow-list', () => {
  const SALES_HOURLY_ONLY: readonly AllowRule[] = [{ database: 'sales', tables: ['hourly_*'] }];

  it('parks a table outside the allow-list as not-allowed, with its reason, and never runs the command', async () => {
    const { deps, executed, parked } = fakePorts({ allow: SALES_HOURLY_ONLY });

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(executed).toEqual([]);
    expect(parked).toStrictEqual([
      {
        original: VALID_BODY,
        trigger: 'sqs',
        outcome: 'not-allowed',
        reason: 'table-not-allowed',
        detail: 'table sales.daily_revenue_mv is not in the allow-list',
        idempotencyKey: `message:${MESSAGE_ID}`,
        messageId: MESSAGE_ID,
      },
    ]);
    expect(outcome).toStrictEqual({
      outcome: 'not-allowed',
      reason: 'table-not-allowed',
      detail: 'table sales.daily_revenue_mv is not in the allow-list',
      target: TARGET,
      idempotencyKey: `message:${MESSAGE_ID}`,
      dryRun: false,
      replayed: false,
      trigger: 'sqs',
      messageId: MESSAGE_ID,
      durationMs: ELAPSED_MS,
    });
  });

  it('refuses a foreign catalog no rule names, even with a rule for every database', async () => {
    const body = JSON.stringify(stopRequest({ CatalogId: FOREIGN_ACCOUNT_ID }));
    const { deps, executed, parked } = fakePorts();

    const outcome = await handleStopRequest(fromQueue(body), deps);

    expect(outcome).toMatchObject({ outcome: 'not-allowed', reason: 'catalog-not-allowed' });
    expect(parked.map((p) => p.outcome)).toEqual(['not-allowed']);
    expect(executed).toEqual([]);
  });

  it('refuses a scope request for a database outside the allow-list', async () => {
    const body = JSON.stringify(scopeRequest({ DatabaseName: 'finance' }));
    const { deps, executed } = fakePorts({ allow: SALES_HOURLY_ONLY });

    const outcome = await handleStopRequest(fromQueue(body), deps);

    expect(outcome).toMatchObject({
      outcome: 'not-allowed',
      reason: 'database-not-allowed',
      scope: { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'finance', TableNames: ['*'] },
    });
    expect(executed).toEqual([]);
  });

  it('lets a scope request of an allowed database through: its tables are filtered when it is expanded', async () => {
    const body = JSON.stringify(scopeRequest({ TableNames: ['*'] }));
    const { deps, executed } = fakePorts({
      allow: SALES_HOURLY_ONLY,
      execute: recordedAs('expanded', false, { queued: 2 }),
    });

    const outcome = await handleStopRequest(fromQueue(body), deps);

    expect(outcome).toMatchObject({ outcome: 'expanded', queued: 2 });
    expect(executed.map((command) => command.kind)).toEqual(['scope']);
  });

  it('parks a scope that names only views outside the allow-list as not-allowed, before any command runs', async () => {
    const body = JSON.stringify(scopeRequest({ TableNames: ['audience_mv', 'daily_mv'] }));
    const { deps, executed, parked } = fakePorts({ allow: SALES_HOURLY_ONLY });

    const outcome = await handleStopRequest(fromQueue(body), deps);

    expect(outcome).toMatchObject({
      outcome: 'not-allowed',
      reason: 'table-not-allowed',
      detail: 'no view of the scope is in the allow-list: sales.audience_mv, sales.daily_mv',
    });
    expect(parked.map((p) => p.reason)).toEqual(['table-not-allowed']);
    expect(executed).toEqual([]);
  });

  it.each([
    ['one of its literal names is allowed', ['audience_mv', 'hourly_mv']],
    ['it names a glob (filtered view by view after the List)', ['audience_*']],
  ])('lets a scope through when %s', async (_, TableNames) => {
    const body = JSON.stringify(scopeRequest({ TableNames }));
    const { deps, executed } = fakePorts({
      allow: SALES_HOURLY_ONLY,
      execute: recordedAs('expanded', false, { queued: 0 }),
    });

    const outcome = await handleStopRequest(fromQueue(body), deps);

    expect(outcome.outcome).toBe('expanded');
    expect(executed.map((command) => command.kind)).toEqual(['scope']);
  });

  it('retries a not-allowed request when it cannot be parked', async () => {
    const { deps } = fakePorts({
      allow: SALES_HOURLY_ONLY,
      park: async () => {
        throw new Error('SQS is unreachable');
      },
    });

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toMatchObject({
      outcome: 'retry',
      reason: 'dead-letter-queue-unavailable',
      detail: 'could not park a table-not-allowed request: Error: SQS is unreachable',
    });
  });
});

describe('handleStopRequest: dry run', () => {
  it.each([
    [false, undefined, false],
    [false, false, false],
    [false, true, true],
    [true, undefined, true],
    [true, false, true],
  ] as const)(
    'stage dry-run %s with request DryRun %s gives a command and an outcome with dryRun %s',
    async (stage, perRequest, expected) => {
      const body = JSON.stringify(stopRequest(perRequest === undefined ? {} : { DryRun: perRequest }));
      const { deps, executed } = fakePorts({
        dryRun: stage,
        execute: recordedAs(expected ? 'dry-run' : 'stop-requested'),
      });

      const outcome = await handleStopRequest(fromQueue(body), deps);

      expect(executed.map((command) => command.kind === 'table' && command.dryRun)).toEqual([expected]);
      expect(outcome.dryRun).toBe(expected);
    },
  );

  it('carries a dry run into a scope command too', async () => {
    const body = JSON.stringify(scopeRequest({ DryRun: true }));
    const { deps, executed } = fakePorts({ execute: recordedAs('expanded') });

    await handleStopRequest(fromQueue(body), deps);

    expect(executed).toMatchObject([{ kind: 'scope', dryRun: true }]);
  });

  it('says dryRun in a not-allowed outcome as well', async () => {
    const { deps } = fakePorts({ dryRun: true, allow: [{ database: 'elsewhere', tables: ['*'] }] });

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toMatchObject({ outcome: 'not-allowed', dryRun: true });
  });
});

describe('handleStopRequest: scope requests', () => {
  it('builds a scope command with the request’s IssuedAt, account, Reason and RequestedBy', async () => {
    const body = JSON.stringify(
      scopeRequest({
        TableNames: ['daily_*', 'hourly_mv'],
        IssuedAt: '2026-11-29T02:00:00+01:00',
        Reason: 'cost spike',
        RequestedBy: 'ops-runbook',
        IdempotencyKey: 'spike-1',
      }),
    );
    const { deps, executed } = fakePorts({ execute: recordedAs('expanded') });

    await handleStopRequest(fromQueue(body, MESSAGE_ID, '2026-11-29T03:00:00.000Z'), deps);

    expect(executed).toStrictEqual([
      {
        kind: 'scope',
        idempotencyKey: 'key:spike-1',
        target: {
          CatalogId: FUNCTION_ACCOUNT_ID,
          DatabaseName: 'sales',
          TableNames: ['daily_*', 'hourly_mv'],
        },
        issuedAt: '2026-11-29T02:00:00+01:00',
        accountId: FUNCTION_ACCOUNT_ID,
        dryRun: false,
        requestedBy: 'ops-runbook',
        reason: 'cost spike',
      },
    ]);
  });

  it('takes the time the trigger received the request as IssuedAt when the request has none', async () => {
    const { deps, executed } = fakePorts({ execute: recordedAs('expanded') });

    await handleStopRequest(
      fromQueue(JSON.stringify(scopeRequest()), MESSAGE_ID, '2026-11-29T02:00:05.000Z'),
      deps,
    );

    expect(executed).toMatchObject([{ kind: 'scope', issuedAt: '2026-11-29T02:00:05.000Z' }]);
  });

  it('takes the start of handling as IssuedAt when neither the request nor the trigger gives a time', async () => {
    const { deps, executed } = fakePorts({ execute: recordedAs('expanded') });

    await handleStopRequest(fromQueue(JSON.stringify(scopeRequest())), deps);

    expect(executed).toMatchObject([{ kind: 'scope', issuedAt: new Date(STARTED_AT_MS).toISOString() }]);
  });

  it('reports the scope, the count queued and the detail of an expansion', async () => {
    const { deps } = fakePorts({
      execute: recordedAs('expanded', false, {
        queued: 3,
        detail: '3 running refreshes queued to be stopped',
      }),
    });

    const outcome = await handleStopRequest(fromQueue(JSON.stringify(scopeRequest())), deps);

    expect(outcome).toStrictEqual({
      outcome: 'expanded',
      scope: { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableNames: ['*'] },
      queued: 3,
      detail: '3 running refreshes queued to be stopped',
      idempotencyKey: `message:${MESSAGE_ID}`,
      dryRun: false,
      replayed: false,
      trigger: 'sqs',
      messageId: MESSAGE_ID,
      durationMs: ELAPSED_MS,
    });
  });
});

describe('handleStopRequest: table requests with a run guard', () => {
  it.each([
    [{}, {}],
    [{ RunId: RUN_ID }, { runId: RUN_ID }],
    [{ IssuedAt: '2026-11-29T02:00:00Z' }, { issuedAt: '2026-11-29T02:00:00Z' }],
    [
      { RunId: RUN_ID, IssuedAt: '2026-11-29T02:00:00Z' },
      { runId: RUN_ID, issuedAt: '2026-11-29T02:00:00Z' },
    ],
  ])('turns %j into the guard %j, and nothing else', async (fields, guard) => {
    const body = JSON.stringify(stopRequest(fields));
    const { deps, executed } = fakePorts();

    await handleStopRequest(fromQueue(body, MESSAGE_ID, '2026-11-29T03:00:00.000Z'), deps);

    expect(executed).toMatchObject([{ kind: 'table' }]);
    expect(executed[0]?.kind === 'table' && executed[0].guard).toStrictEqual(guard);
  });

  it('reports the run the command stopped, skipped or would stop, with its detail', async () => {
    const { deps } = fakePorts({
      execute: recordedAs('skipped', true, {
        runId: RUN_ID,
        runStartedAt: '2026-11-29T02:00:01.000Z',
        detail: 'newer run, skipped',
      }),
    });

    const outcome = await handleStopRequest(
      fromQueue(JSON.stringify(stopRequest({ IssuedAt: '2026-11-29T02:00:00Z' }))),
      deps,
    );

    expect(outcome).toMatchObject({
      outcome: 'skipped',
      replayed: true,
      runId: RUN_ID,
      detail: 'newer run, skipped',
    });
    expect(outcome).not.toHaveProperty('runStartedAt');
  });

  it('reports the parent key of a request derived from a scope', async () => {
    const body = JSON.stringify(
      stopRequest({ IdempotencyKey: 'scope-abc', ParentIdempotencyKey: 'event:e-1', RunId: RUN_ID }),
    );
    const { deps } = fakePorts();

    const outcome = await handleStopRequest(fromQueue(body), deps);

    expect(outcome).toMatchObject({ idempotencyKey: 'key:scope-abc', parentIdempotencyKey: 'event:e-1' });
  });
});

describe('handleStopRequest: the invocation deadline', () => {
  const passed = (): Deadline => {
    const controller = new AbortController();
    controller.abort();
    return { at: 0, signal: controller.signal };
  };
  const withDeadline = (incoming: IncomingStopRequest, deadline: Deadline): IncomingStopRequest => ({
    ...incoming,
    deadline,
  });
  const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

  it('does not start a request once the deadline has passed: retry, no command, nothing parked', async () => {
    const { deps, executed, parked, reported } = fakePorts();

    const outcome = await handleStopRequest(withDeadline(fromQueue(INVALID_BODY), passed()), deps);

    expect(outcome).toMatchObject({ outcome: 'retry', reason: 'deadline-exceeded' });
    expect(executed).toEqual([]);
    expect(parked).toEqual([]);
    expect(reported).toEqual([outcome]);
  });

  it('gives up a command still running when the deadline passes, as retry deadline-exceeded', async () => {
    const { deps } = fakePorts({ execute: () => never() });

    const outcome = await handleStopRequest(withDeadline(fromQueue(VALID_BODY), deadlineIn(30)), deps);

    expect(outcome).toMatchObject({ outcome: 'retry', reason: 'deadline-exceeded', target: TARGET });
  });

  it('gives up parking that is still running when the deadline passes, as retry deadline-exceeded', async () => {
    const { deps } = fakePorts({ park: () => never() });

    const outcome = await handleStopRequest(withDeadline(fromQueue(INVALID_BODY), deadlineIn(30)), deps);

    expect(outcome).toMatchObject({ outcome: 'retry', reason: 'deadline-exceeded' });
  });

  it('keeps the outcome of a command that finishes before the deadline', async () => {
    const { deps } = fakePorts();

    const outcome = await handleStopRequest(withDeadline(fromQueue(VALID_BODY), deadlineIn(60_000)), deps);

    expect(outcome.outcome).toBe('stop-requested');
  });

  it('maps a deadline-exceeded StopError from the command (a rate-limiter refusal) to retry deadline-exceeded', async () => {
    const { deps } = fakePorts({ execute: failingWith(deadlineExceeded('no slot')) });

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toMatchObject({ outcome: 'retry', reason: 'deadline-exceeded', detail: 'no slot' });
  });
});

describe('handleStopRequest: its own faults', () => {
  it('turns an unexpected throw anywhere in the decision into one reported retry, never a rejection', async () => {
    const { deps, reported } = fakePorts();
    const broken: StopDependencies = {
      ...deps,
      policy: { dryRun: false, allow: null as unknown as AllowRule[] },
    };

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), broken);

    expect(outcome).toMatchObject({ outcome: 'retry', reason: 'unexpected-error' });
    expect(reported).toEqual([outcome]);
  });
});

describe('handleStopRequest: the last delivery before the dead-letter queue', () => {
  const last = (incoming: IncomingStopRequest): IncomingStopRequest => ({
    ...incoming,
    lastDelivery: { receives: 5 },
  });

  it('parks a request that would be retried as rejected retries-exhausted, naming the last reason', async () => {
    const { deps, parked } = fakePorts({
      execute: failingWith(StopError.retry('glue-throttled', 'slow down')),
    });

    const outcome = await handleStopRequest(last(fromQueue(VALID_BODY)), deps);

    expect(outcome).toMatchObject({
      outcome: 'rejected',
      reason: 'retries-exhausted',
      detail: 'glue-throttled on delivery 5, the last before the dead-letter queue: slow down',
      target: TARGET,
    });
    expect(parked.map((p) => [p.outcome, p.reason])).toEqual([['rejected', 'retries-exhausted']]);
  });

  it('still retries on the last delivery when it cannot park, so SQS moves the message itself', async () => {
    const { deps } = fakePorts({
      execute: failingWith(StopError.retry('glue-throttled', 'slow down')),
      park: async () => {
        throw new Error('SQS is unreachable');
      },
    });

    const outcome = await handleStopRequest(last(fromQueue(VALID_BODY)), deps);

    expect(outcome).toMatchObject({ outcome: 'retry', reason: 'dead-letter-queue-unavailable' });
  });

  it('changes nothing for a request that succeeds on its last delivery', async () => {
    const { deps, parked } = fakePorts();

    const outcome = await handleStopRequest(last(fromQueue(VALID_BODY)), deps);

    expect(outcome.outcome).toBe('stop-requested');
    expect(parked).toEqual([]);
  });

  it('retries as before when the delivery is not the last', async () => {
    const { deps, parked } = fakePorts({
      execute: failingWith(StopError.retry('glue-throttled', 'slow down')),
    });

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toMatchObject({ outcome: 'retry', reason: 'glue-throttled' });
    expect(parked).toEqual([]);
  });
});

describe('handleStopRequest: scope tasks, the stop queue function’s own messages', () => {
  const ROOT_KEY = 'key:hand-off-0123';
  const task: ScopeTask = {
    Kind: 'stop',
    CatalogId: FUNCTION_ACCOUNT_ID,
    DatabaseName: 'sales',
    TableNames: ['*'],
    IssuedAt: '2026-11-29T02:00:00Z',
    RootKey: ROOT_KEY,
    Views: [
      { TableName: 'daily_mv', RunId: runIdOf(1) },
      { TableName: 'hourly_mv', RunId: runIdOf(2) },
    ],
    ParentIdempotencyKey: ROOT_KEY,
    Reason: 'cost spike',
    RequestedBy: 'ops-runbook',
  };
  const TASK_BODY = JSON.stringify({ ScopeTask: task });

  /** A queue message as the SQS trigger hands it over, read as the trigger reads it. */
  const taskFromQueue = (body: string): IncomingStopRequest => {
    const message = interpretQueueMessage(body, []);
    if (message.kind !== 'request') throw new Error('a task is never an alarm');
    return deepFreeze({
      parsed: message.parsed,
      delivery: { kind: 'sqs', messageId: MESSAGE_ID },
      accountId: FUNCTION_ACCOUNT_ID,
      original: body,
    });
  };

  /** The real command behind fake Glue and queue ports, and an idempotency store in memory. */
  const realPorts = (options: { allow?: readonly AllowRule[]; dryRun?: boolean } = {}) => {
    const glue = fakeFanOut({ runs: [listedRun('daily_mv', 1), listedRun('hourly_mv', 2)] });
    const store = memoryOnce();
    const parked: RejectedRequest[] = [];
    const reported: StopOutcome[] = [];
    const deps: StopDependencies = {
      commands: glue.deps,
      once: store.once,
      parker: { park: async (request) => void parked.push(request) },
      report: (outcome) => void reported.push(outcome),
      policy: { allow: [...(options.allow ?? ALLOW_ALL)], dryRun: options.dryRun ?? false },
      clock: () => STARTED_AT_MS,
    };
    return { deps, glue, store, parked, reported };
  };

  const target = (TableName: string) => ({
    CatalogId: FUNCTION_ACCOUNT_ID,
    DatabaseName: 'sales',
    TableName,
  });

  it('runs a task under its content key and reports each view as its own outcome, the scope’s key as parent', async () => {
    const { deps, glue, reported, store } = realPorts();

    const outcome = await handleStopRequest(taskFromQueue(TASK_BODY), deps);

    // One idempotency record for the task; its views have none of their own.
    expect(store.calls).toEqual([scopeTaskKey(task)]);
    const view = (TableName: string, n: number) => ({
      outcome: 'stop-requested',
      target: target(TableName),
      runId: runIdOf(n),
      idempotencyKey: viewKey(ROOT_KEY, target(TableName), false),
      parentIdempotencyKey: ROOT_KEY,
      requestedBy: 'ops-runbook',
      requestReason: 'cost spike',
      trigger: 'sqs',
      messageId: MESSAGE_ID,
      replayed: false,
      dryRun: false,
      durationMs: 0,
    });
    expect(reported).toStrictEqual([
      view('daily_mv', 1),
      view('hourly_mv', 2),
      {
        outcome: 'expanded',
        scope: { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableNames: ['*'] },
        queued: 0,
        detail: '2 views from 1 read of the page: 2 stop-requested',
        idempotencyKey: scopeTaskKey(task),
        parentIdempotencyKey: ROOT_KEY,
        requestedBy: 'ops-runbook',
        requestReason: 'cost spike',
        trigger: 'sqs',
        messageId: MESSAGE_ID,
        replayed: false,
        dryRun: false,
        durationMs: 0,
      },
    ]);
    expect(reported.at(-1)).toBe(outcome);
    expect(glue.stops.map((s) => s.target.TableName)).toEqual(['daily_mv', 'hourly_mv']);
  });

  it('answers a task delivered again from its record: no view is read, stopped or reported again', async () => {
    const { deps, glue, reported } = realPorts();

    await handleStopRequest(taskFromQueue(TASK_BODY), deps);
    reported.length = 0;
    const again = await handleStopRequest(taskFromQueue(TASK_BODY), deps);

    expect(again).toMatchObject({ outcome: 'expanded', replayed: true });
    expect(reported).toEqual([again]);
    expect(glue.pages).toHaveLength(1);
    expect(glue.stops).toHaveLength(2);
  });

  it('hands a task on unstarted when the trigger asks: the same task back on the stop queue, no record, no Glue call', async () => {
    const { deps, glue, store, reported } = realPorts();

    const outcome = await handleStopRequest({ ...taskFromQueue(TASK_BODY), handOn: true }, deps);

    expect(glue.enqueued).toStrictEqual([{ ScopeTask: task }]);
    expect([glue.pages, glue.stops, store.calls]).toEqual([[], [], []]);
    expect(outcome).toMatchObject({
      outcome: 'expanded',
      queued: 1,
      idempotencyKey: scopeTaskKey(task),
      replayed: false,
      detail: 'handed on unstarted, for an instance with Glue budget to spare',
      handedOn: true,
    });
    expect(reported).toEqual([outcome]);
    // The copy is the same task under the same key: run later, it runs once.
    const copy = await handleStopRequest(taskFromQueue(JSON.stringify(glue.enqueued[0])), deps);
    expect(copy).toMatchObject({ outcome: 'expanded', idempotencyKey: scopeTaskKey(task), replayed: false });
    expect(copy).not.toHaveProperty('handedOn');
    expect(glue.stops).toHaveLength(2);
  });

  it('gives a task back to its trigger as a retry when it cannot be handed on', async () => {
    const { deps, glue, store } = realPorts();
    const failing: StopDependencies = {
      ...deps,
      commands: {
        ...deps.commands,
        queue: {
          enqueue: async () => {
            throw StopError.retry('fan-out-incomplete', '1 of 1 messages not sent: ServiceUnavailable');
          },
        },
      },
    };

    const outcome = await handleStopRequest({ ...taskFromQueue(TASK_BODY), handOn: true }, failing);

    expect(outcome).toMatchObject({
      outcome: 'retry',
      reason: 'fan-out-incomplete',
      detail: '1 of 1 messages not sent: ServiceUnavailable',
    });
    expect([glue.pages, glue.stops, store.calls]).toEqual([[], [], []]);
  });

  it('refuses a task for a database outside the allow-list before any Glue call, and parks it verbatim', async () => {
    const { deps, glue, parked, store } = realPorts({ allow: [{ database: 'marketing', tables: ['*'] }] });

    const outcome = await handleStopRequest(taskFromQueue(TASK_BODY), deps);

    expect(outcome).toMatchObject({
      outcome: 'not-allowed',
      reason: 'database-not-allowed',
      scope: { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableNames: ['*'] },
    });
    expect(parked).toMatchObject([{ outcome: 'not-allowed', original: TASK_BODY }]);
    expect([glue.pages, glue.stops, store.calls]).toEqual([[], [], []]);
  });

  it.each([
    [
      'a run id that is no UUID',
      { ...task, Views: [{ TableName: 'daily_mv', RunId: 'run-1' }] },
      'ScopeTask.Views.0.RunId',
    ],
    [
      'a stop task without views',
      { ...task, Views: undefined },
      'ScopeTask.Views: is required for a stop task',
    ],
    ['a list task with views', { ...task, Kind: 'list' }, 'ScopeTask.Views: belongs to stop tasks only'],
    ['an unknown field', { ...task, Tables: ['x'] }, 'ScopeTask.Tables: is not a field'],
    ['an unknown kind', { ...task, Kind: 'stop-all' }, 'ScopeTask.Kind'],
    ['a control character in the key', { ...task, RootKey: 'key:a\u0007' }, 'ScopeTask.RootKey'],
    [
      '101 views',
      { ...task, Views: Array.from({ length: 101 }, (_, i) => ({ TableName: `v${i}`, RunId: runIdOf(i) })) },
      'ScopeTask.Views: must list at most 100',
    ],
  ])(
    'parks a damaged task (%s) as invalid-request naming the field, with no Glue call',
    async (_what, damaged, field) => {
      const body = JSON.stringify({ ScopeTask: damaged });
      const { deps, glue, parked, store } = realPorts();

      const outcome = await handleStopRequest(taskFromQueue(body), deps);

      expect(outcome).toMatchObject({ outcome: 'rejected', reason: 'invalid-request' });
      expect(outcome.detail).toContain(field);
      expect(parked).toMatchObject([{ reason: 'invalid-request', original: body }]);
      expect([glue.pages, glue.stops, store.calls]).toEqual([[], [], []]);
    },
  );

  it('makes a task a dry run under the stage-wide switch: another key, every view rehearsed, no Stop', async () => {
    const { deps, glue, reported } = realPorts({ dryRun: true });

    const outcome = await handleStopRequest(taskFromQueue(TASK_BODY), deps);

    expect(outcome).toMatchObject({
      outcome: 'expanded',
      dryRun: true,
      idempotencyKey: scopeTaskKey({ ...task, DryRun: true }),
    });
    expect(outcome.idempotencyKey).not.toBe(scopeTaskKey(task));
    expect(reported.slice(0, -1).map((o) => [o.outcome, o.dryRun, o.idempotencyKey])).toEqual([
      ['dry-run', true, viewKey(ROOT_KEY, target('daily_mv'), true)],
      ['dry-run', true, viewKey(ROOT_KEY, target('hourly_mv'), true)],
    ]);
    expect(glue.stops).toEqual([]);
  });
});
