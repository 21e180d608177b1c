import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStopEvent, parseStopMessageBody } from '../../src/request/parse.ts';
import { PermanentStopError, TransientStopError } from '../../src/stop/errors.ts';
import {
  handleStopRequest,
  type IncomingStopRequest,
  type StopDependencies,
} from '../../src/stop/handle-stop-request.ts';
import {
  OUTCOMES,
  type RejectionReason,
  type RetryReason,
  type StopOutcome,
  type TerminalOutcomeName,
} from '../../src/stop/outcome.ts';
import type { RejectedRequest, StopCommand, StopExecutor } from '../../src/stop/ports.ts';
import { validText } from './support/arbitraries.ts';
import {
  deepFreeze,
  eventBridgeEnvelope,
  FUNCTION_ACCOUNT_ID,
  PUBLISHER_ACCOUNT_ID,
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
  (result: TerminalOutcomeName, replayed = false): StopExecutor =>
  async () => ({ result, decidedAt: DECIDED_AT, replayed });

const failingWith =
  (error: unknown): StopExecutor =>
  async () => {
    throw error;
  };

interface FakePortOptions {
  readonly execute?: StopExecutor;
  readonly park?: (request: RejectedRequest) => Promise<void>;
}

/** Plain fake ports that record every call. */
const fakePorts = (options: FakePortOptions = {}) => {
  const executed: StopCommand[] = [];
  const parked: RejectedRequest[] = [];
  const reported: StopOutcome[] = [];
  const execute = options.execute ?? recordedAs('stop-requested');
  const deps: StopDependencies = {
    executeStop: async (command) => {
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
    clock: injectedClock(),
  };
  return { deps, executed, parked, reported };
};

/** A request as the SQS handler hands it over: the body parsed, the message id, the body kept verbatim. */
const fromQueue = (body: string, messageId = MESSAGE_ID): IncomingStopRequest =>
  deepFreeze({
    parsed: parseStopMessageBody(body),
    delivery: { kind: 'sqs', messageId },
    accountId: FUNCTION_ACCOUNT_ID,
    original: body,
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
  'TableName: is required (required); Tablename: is not a field of the stop request (unknown-field)';

describe('handleStopRequest: terminal outcomes', () => {
  it('reports stop-requested with the target, key, ids and the duration read from the injected clock', async () => {
    const { deps, reported, parked } = fakePorts();

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toStrictEqual({
      outcome: 'stop-requested',
      trigger: 'sqs',
      target: TARGET,
      idempotencyKey: `message:${MESSAGE_ID}`,
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
    ['stop-requested', true],
    ['already-stopping', true],
    ['not-running', true],
  ] as const)(
    'ends in %s (replayed: %s) as the executor recorded it, parking nothing',
    async (result, replayed) => {
      const { deps, parked } = fakePorts({ execute: recordedAs(result, replayed) });

      const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

      expect(outcome).toMatchObject({ outcome: result, replayed });
      expect(outcome).not.toHaveProperty('reason');
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
  it('gives the executor exactly { idempotencyKey, target }, with the producer key namespaced', async () => {
    const body = JSON.stringify(
      stopRequest({ IdempotencyKey: 'nightly-2026-11-29', RequestedBy: 'scheduler', Reason: 'cost' }),
    );
    const { deps, executed } = fakePorts();

    await handleStopRequest(fromQueue(body), deps);

    expect(executed).toStrictEqual([{ idempotencyKey: 'key:nightly-2026-11-29', target: TARGET }]);
  });

  it('uses the CatalogId of the request when it gives one', async () => {
    const body = JSON.stringify(stopRequest({ CatalogId: '999999999999' }));
    const { deps, executed } = fakePorts();

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
        reason: 'invalid-request',
        detail: INVALID_DETAIL,
        violations: incoming.parsed.ok ? [] : incoming.parsed.violations,
        messageId: MESSAGE_ID,
      },
    ]);
    expect(outcome).toStrictEqual({
      outcome: 'rejected',
      reason: 'invalid-request',
      detail: INVALID_DETAIL,
      trigger: 'sqs',
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
        reason: 'invalid-request',
        detail: 'detail.TableName: is required (required)',
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
        execute: failingWith(new PermanentStopError(reason, 'Glue said no')),
      });

      const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

      expect(parked).toStrictEqual([
        {
          original: VALID_BODY,
          trigger: 'sqs',
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
      execute: failingWith(new PermanentStopError('glue-access-denied', 'not allowed')),
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
  ] satisfies RetryReason[])('hands a %s failure back for retry without parking it', async (reason) => {
    const { deps, parked } = fakePorts({ execute: failingWith(new TransientStopError(reason, 'try later')) });

    const outcome = await handleStopRequest(fromQueue(VALID_BODY), deps);

    expect(outcome).toStrictEqual({
      outcome: 'retry',
      reason,
      detail: 'try later',
      target: TARGET,
      idempotencyKey: `message:${MESSAGE_ID}`,
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
    | { readonly kind: 'recorded'; readonly result: TerminalOutcomeName; readonly replayed: boolean }
    | { readonly kind: 'permanent'; readonly reason: RejectionReason }
    | { readonly kind: 'transient'; readonly reason: RetryReason }
    | { readonly kind: 'unknown' };

  const executorScenario: fc.Arbitrary<ExecutorScenario> = fc.oneof(
    fc.record({
      kind: fc.constant('recorded' as const),
      result: fc.constantFrom('stop-requested', 'already-stopping', 'not-running'),
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
        return failingWith(new PermanentStopError(scenario.reason, 'refused'));
      case 'transient':
        return failingWith(new TransientStopError(scenario.reason, 'later'));
      case 'unknown':
        return failingWith(new Error('bug'));
    }
  };

  it('ends in exactly one reported outcome (the one returned), and a refusal is parked or else retried', async () => {
    const body = fc.oneof(
      fc.constant(VALID_BODY),
      fc.constant(INVALID_BODY),
      fc.constant('not json'),
      fc.json(),
      fc.constant(JSON.stringify(eventBridgeEnvelope(stopRequest()))),
    );

    await fc.assert(
      fc.asyncProperty(body, executorScenario, fc.boolean(), async (text, scenario, parkerWorks) => {
        const incoming = fromQueue(text);
        const before = structuredClone(incoming);
        const { deps, parked, reported } = fakePorts({
          execute: executorFor(scenario),
          park: async () => {
            if (!parkerWorks) throw new Error('SQS is unreachable');
          },
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
        expect(outcome.outcome === 'rejected').toBe(parkingAttempted && parkerWorks);
        expect(outcome.reason === 'dead-letter-queue-unavailable').toBe(parkingAttempted && !parkerWorks);
        expect(incoming).toStrictEqual(before);
      }),
      { numRuns: 1000 },
    );
  });

  it('leaves frozen input untouched on every path (a mutation would throw)', async () => {
    const paths: [IncomingStopRequest, FakePortOptions][] = [
      [fromQueue(VALID_BODY), {}],
      [fromQueue(INVALID_BODY), {}],
      [fromQueue(VALID_BODY), { execute: failingWith(new PermanentStopError('table-not-found', 'gone')) }],
      [fromQueue(VALID_BODY), { execute: failingWith(new TransientStopError('glue-throttled', 'slow')) }],
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
