/**
 * What the functions do when things go wrong on the way in or out: calls that never answer, an invocation
 * running out of time, a dead-letter queue that cannot be reached, inputs that cannot be parked as they
 * are, and events that are garbage as a whole. Over the real trigger code, the Glue emulator, dynalite
 * and fauxqs.
 */

import { createHash } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GlueClient, ListMaterializedViewRefreshTaskRunsCommand } from '@aws-sdk/client-glue';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { alarmStateChange, scheduleDelivery, sqsEvent, sqsRecord, stopEvent } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { LOCAL_REGION } from '../../local/local-aws.ts';
import { PARKED_ATTRIBUTES, restoreParkedBody } from '../../src/adapters/dead-letter-parker.ts';
import { schedulePayloadTemplate } from '../../src/policy/schedule-payload.ts';
import { type CallSettings, FINISH_RESERVE_MS, SDK_CALL_SETTINGS } from '../../src/runtime/budget.ts';
import { clientConfig } from '../../src/runtime/clients.ts';
import { StopRetryError } from '../../src/stop/errors.ts';
import { reasonOf } from '../../src/stop/outcome.ts';
import { InvalidTriggerEventError } from '../../src/triggers/skeleton.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const STOP = 'StopMaterializedViewRefreshTaskRun';
const LIST = 'ListMaterializedViewRefreshTaskRuns';

/** A TCP server that accepts every connection and never answers a byte. */
const startSilentServer = async (): Promise<{ url: string; close(): Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
};

const timed = async (call: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> => {
  const start = performance.now();
  try {
    await call();
    return { error: undefined, ms: performance.now() - start };
  } catch (error) {
    return { error, ms: performance.now() - start };
  }
};

const local = { region: LOCAL_REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
/** The production settings of a client, one attempt, so the test waits for one attempt's timeout. */
const oneAttempt = (settings: CallSettings): CallSettings => ({ ...settings, maxAttempts: 1 });

describe('SDK calls to an endpoint that accepts the connection and never answers', () => {
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  beforeAll(async () => {
    silent = await startSilentServer();
  });
  afterAll(async () => {
    await silent.close();
  });

  it('time out after the request timeout of their settings, on every client the functions use', async () => {
    const endpoint = silent.url;
    const calls = {
      glue: () =>
        new GlueClient({ ...local, endpoint, ...clientConfig(oneAttempt(SDK_CALL_SETTINGS.glue)) }).send(
          new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: '123456789012' }),
        ),
      dynamoDb: () =>
        new DynamoDBClient({
          ...local,
          endpoint,
          ...clientConfig(oneAttempt(SDK_CALL_SETTINGS.dynamoDb)),
        }).send(new GetItemCommand({ TableName: 't', Key: { id: { S: 'x' } } })),
      sqs: () =>
        new SQSClient({ ...local, endpoint, ...clientConfig(oneAttempt(SDK_CALL_SETTINGS.sqs)) }).send(
          new ListQueuesCommand({}),
        ),
      eventBridge: () =>
        new EventBridgeClient({
          ...local,
          endpoint,
          ...clientConfig(oneAttempt(SDK_CALL_SETTINGS.eventBridge)),
        }).send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{}' }] })),
    };

    const results = await Promise.all(
      Object.entries(calls).map(async ([service, call]) => ({ service, ...(await timed(call)) })),
    );

    for (const { service, error, ms } of results) {
      const { requestTimeout } = SDK_CALL_SETTINGS[service as keyof typeof SDK_CALL_SETTINGS];
      expect(error, service).toMatchObject({ name: 'TimeoutError' });
      expect(ms, service).toBeGreaterThanOrEqual(requestTimeout - 50);
      expect(ms, service).toBeLessThan(requestTimeout + 1_500);
    }
  }, 15_000);

  it('retry a timed-out attempt, so a call takes at most maxAttempts request timeouts plus back-off', async () => {
    const settings = { maxAttempts: 2, connectionTimeout: 100, requestTimeout: 300 };
    const glue = new GlueClient({ ...local, endpoint: silent.url, ...clientConfig(settings) });

    const { error, ms } = await timed(() =>
      glue.send(new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: '123456789012' })),
    );

    expect(error).toMatchObject({ name: 'TimeoutError', $metadata: { attempts: 2 } });
    expect(ms).toBeGreaterThanOrEqual(2 * 300 - 50);
    expect(ms).toBeLessThan(2 * 300 + 1_000 + 1_000);
  });

  it('are aborted by the invocation deadline long before their own timeout', async () => {
    const deadline = AbortSignal.timeout(200);
    const glue = new GlueClient({
      ...local,
      endpoint: silent.url,
      ...clientConfig(SDK_CALL_SETTINGS.glue, () => deadline),
    });

    const { error, ms } = await timed(() =>
      glue.send(new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: '123456789012' })),
    );

    expect(error).toMatchObject({ name: 'AbortError' });
    expect(ms).toBeLessThan(1_000);
  });
});

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  h.local.glue.reset();
  h.outcomes.length = 0;
  await h.takeDeadLetters();
});

/** A context with this much time left: the work deadline is `ms - FINISH_RESERVE_MS` away. */
const withRemaining = (ms: number): Context => lambdaContext({ remainingMs: ms });

describe('an invocation that runs out of time', () => {
  it('gives up a record whose Glue call hangs at its deadline, and answers before Lambda would time out', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.injectFault({ operation: STOP, kind: 'hang', times: Number.POSITIVE_INFINITY });
    const remainingMs = FINISH_RESERVE_MS + 1_000;
    const record = sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' });

    const { error, ms } = await timed(() => h.queueHandler(sqsEvent(record), withRemaining(remainingMs)));

    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(remainingMs);
    expect(ms).toBeGreaterThanOrEqual(1_000 - 50);
    expect(h.outcomes).toMatchObject([{ outcome: 'retry', reason: 'deadline-exceeded' }]);
    expect(h.local.glue.callCount(STOP)).toBe(1);
  });

  it('answers with a batch item failure for that record', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.injectFault({ operation: STOP, kind: 'hang', times: Number.POSITIVE_INFINITY });
    const record = sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' });

    const response = await h.queueHandler(sqsEvent(record), withRemaining(FINISH_RESERVE_MS + 500));

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  });

  it('does not start records once the deadline has passed: each is retried, with no call made', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const records = [
      sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' }),
      sqsRecord({ DatabaseName: 'sales', Tablename: 'typo_mv' }),
    ];

    const response = await h.queueHandler(sqsEvent(...records), withRemaining(FINISH_RESERVE_MS - 100));

    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      records.map((r) => r.messageId).sort(),
    );
    expect(h.outcomes.map(reasonOf)).toEqual(['deadline-exceeded', 'deadline-exceeded']);
    expect(h.local.glue.calls).toEqual([]);
    expect(await h.takeDeadLetters()).toEqual([]);
  });

  it('fails an asynchronous invocation whose Glue call hangs, before Lambda would time out', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.injectFault({ operation: STOP, kind: 'hang', times: Number.POSITIVE_INFINITY });
    const remainingMs = FINISH_RESERVE_MS + 800;

    const { error, ms } = await timed(() =>
      h.eventHandler(stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' }), withRemaining(remainingMs)),
    );

    expect(error).toBeInstanceOf(StopRetryError);
    expect(ms).toBeLessThan(remainingMs);
  });
});

describe('the last delivery the stop queue makes', () => {
  it('parks a request Glue still throttles on its maxReceiveCount-th receive, with reason retries-exhausted', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.injectFault({ operation: STOP, kind: 'throttle', times: Number.POSITIVE_INFINITY });
    const handler = h.handlers({ config: { stopQueueMaxReceiveCount: 5 } }).queueHandler;
    const record = (receives: number) =>
      sqsRecord(
        { DatabaseName: 'sales', TableName: 'daily_mv', IdempotencyKey: 'exhausted-1' },
        {
          attributes: { ApproximateReceiveCount: String(receives) },
        },
      );

    const fourth = await handler(sqsEvent(record(4)), lambdaContext());
    const fifth = await handler(sqsEvent(record(5)), lambdaContext());

    expect(fourth.batchItemFailures).toHaveLength(1);
    expect(fifth.batchItemFailures).toEqual([]);
    const [parked] = await h.takeDeadLetters();
    expect(parked?.MessageAttributes?.[PARKED_ATTRIBUTES.reason]?.StringValue).toBe('retries-exhausted');
    expect(parked?.MessageAttributes?.[PARKED_ATTRIBUTES.detail]?.StringValue).toMatch(
      /^glue-throttled on delivery 5, the last before the dead-letter queue/,
    );
  });
});

describe('every trigger, with the dead-letter queue unreachable', () => {
  const missingQueue = () => `${h.local.sqsEndpoint}/123456789012/no-such-queue`;
  const brokenDlq = () => h.handlers({ config: { deadLetterQueueUrl: missingQueue() } });

  it('SQS: an invalid request that cannot be parked is a batch item failure', async () => {
    const record = sqsRecord({ DatabaseName: 'sales', Tablename: 'typo_mv' });

    const response = await brokenDlq().queueHandler(sqsEvent(record), lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(h.outcomes).toMatchObject([{ outcome: 'retry', reason: 'dead-letter-queue-unavailable' }]);
  });

  it.each([
    ['stop event', () => stopEvent({ DatabaseName: 'sales', Tablename: 'typo_mv' }), 'eventHandler'],
    [
      'alarm state change',
      () => ({ ...alarmStateChange('guard', { from: 'OK', to: 'ALARM' }), detail: 7 }),
      'alarmHandler',
    ],
    ['window payload', () => ({ window: 'nightly', scope: 'sales' }), 'scheduleHandler'],
  ] as const)('%s: an invalid event that cannot be parked fails the invocation', async (_, event, name) => {
    const handler = brokenDlq()[name] as (event: unknown, context: Context) => Promise<unknown>;

    await expect(handler(event(), lambdaContext())).rejects.toBeInstanceOf(StopRetryError);
    expect(h.outcomes).toMatchObject([{ outcome: 'retry', reason: 'dead-letter-queue-unavailable' }]);
  });
});

describe('inputs that cannot be parked as they are', () => {
  it('parks an event holding U+FFFE and U+FFFF as JSON that restores the event exactly', async () => {
    const event = stopEvent({ DatabaseName: 'sales\uFFFE', TableName: 'mv\uFFFF', Reason: 'lone \uD800' });

    await h.eventHandler(event, lambdaContext());

    const [parked] = await h.takeDeadLetters();
    expect(parked?.MessageAttributes?.[PARKED_ATTRIBUTES.reason]?.StringValue).toBe('invalid-request');
    const restored = restoreParkedBody(parked?.Body ?? '', parked?.MessageAttributes);
    expect(restored.kind === 'complete' && JSON.parse(restored.original)).toEqual(event);
  });

  it('refuses an event nested deeper than 64 levels before reading it, and parks it whole', async () => {
    const depth = 20_000;
    let detail: unknown = 'bottom';
    for (let i = 0; i < depth; i++) detail = [detail];
    const event = stopEvent(detail, { id: 'deep-event' });

    await expect(h.eventHandler(event, lambdaContext())).resolves.toMatchObject({
      outcome: 'rejected',
      reason: 'invalid-request',
      detail: '(body): nests arrays or objects deeper than 64 levels (depth)',
    });

    const [parked] = await h.takeDeadLetters();
    const expected = JSON.stringify({ ...event, detail: null }).replace(
      '"detail":null',
      `"detail":${'['.repeat(depth)}"bottom"${']'.repeat(depth)}`,
    );
    expect(parked?.Body).toBe(expected);
  });

  it('refuses Lambda invocation records nested thousands deep on the queue, with a reason, without recursion', async () => {
    let body = JSON.stringify({ DatabaseName: 'sales', TableName: 'daily_mv' });
    for (let i = 0; i < 5_000; i++) {
      body = `{"requestContext":{"requestId":"r${i}"},"requestPayload":${body}}`;
    }
    const record = sqsRecord(body);

    const response = await h.queueHandler(sqsEvent(record), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(h.outcomes).toMatchObject([{ outcome: 'rejected', reason: 'invalid-request' }]);
    expect(h.outcomes[0]?.detail).toContain('(depth)');
    const [parked] = await h.takeDeadLetters();
    expect(parked?.Body).toBe(body);
    expect(h.local.glue.calls).toEqual([]);
  });

  it('refuses a request wrapped in more than 8 invocation records, naming the depth', async () => {
    let body = JSON.stringify({ DatabaseName: 'sales', TableName: 'daily_mv' });
    for (let i = 0; i < 9; i++) body = `{"requestContext":{},"requestPayload":${body}}`;

    await h.queueHandler(sqsEvent(sqsRecord(body)), lambdaContext());

    expect(h.outcomes[0]?.detail).toMatch(/wraps Lambda invocation records more than 8 times \(depth\)/);
  });

  it('parks a body too large to park whole as its first part, with its byte length and SHA-256', async () => {
    // SQS takes 1 MiB with the attributes; the parker's attributes push a body this size over.
    const body = `not json ${'x'.repeat(1_048_576 - 200)}`;
    const record = sqsRecord(body);

    await h.queueHandler(sqsEvent(record), lambdaContext());

    const [parked] = await h.takeDeadLetters();
    const restored = restoreParkedBody(parked?.Body ?? '', parked?.MessageAttributes);
    expect(restored).toMatchObject({
      kind: 'truncated',
      bytes: Buffer.byteLength(body),
      sha256: createHash('sha256').update(body).digest('hex'),
    });
    expect(restored.kind === 'truncated' && body.startsWith(restored.prefix)).toBe(true);
    expect(h.outcomes).toMatchObject([{ outcome: 'rejected', reason: 'invalid-request' }]);
  });
});

describe('events that are garbage as a whole', () => {
  it.each([
    [null, 'not an SQS event: expected an object with a Records array, got null'],
    [[], 'not an SQS event: expected an object with a Records array, got an array'],
    [
      { records: [] },
      'not an SQS event: expected an object with a Records array, got an object with records',
    ],
    [
      { Records: [7] },
      'not an SQS event: Records[0] has no messageId (got a number), so it cannot be reported as a batch item failure; the whole batch is retried',
    ],
    [
      { Records: [{ messageId: '', body: '{}' }] },
      'not an SQS event: Records[0] has no messageId (got an object with messageId, body), so it cannot be reported as a batch item failure; the whole batch is retried',
    ],
  ])(
    'the queue handler fails the invocation on %j with one line naming what is wrong',
    async (event, message) => {
      const handler = h.queueHandler as (event: unknown, context: Context) => Promise<unknown>;

      await expect(handler(event, lambdaContext())).rejects.toThrow(
        expect.objectContaining({ name: InvalidTriggerEventError.name, message }),
      );
      expect(h.local.glue.calls).toEqual([]);
    },
  );

  it('parks a record whose body is not a string, naming the body', async () => {
    const record = { ...sqsRecord('x'), body: { DatabaseName: 'sales' } as unknown as string };

    const response = await h.queueHandler(sqsEvent(record), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(h.outcomes).toMatchObject([{ outcome: 'rejected', detail: '(body): must be a string (type)' }]);
    const [parked] = await h.takeDeadLetters();
    expect(JSON.parse(parked?.Body ?? '')).toEqual({ DatabaseName: 'sales' });
  });

  it.each(['1e300', '-5', 'soon', '8640000000000001', '253402300800000'])(
    'ignores a SentTimestamp of %s that no date (or no IssuedAt) can hold; its stop tasks stay valid',
    async (SentTimestamp) => {
      h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
      const record = sqsRecord(
        { DatabaseName: 'sales', TableNames: ['daily_mv'] },
        { attributes: { SentTimestamp } },
      );

      const response = await h.queueHandler(sqsEvent(record), lambdaContext());
      await h.drainStopQueue();

      expect(response.batchItemFailures).toEqual([]);
      // The expansion, then its stop task: the view, and the task itself.
      expect(h.outcomes.map((o) => o.outcome)).toEqual(['expanded', 'stop-requested', 'expanded']);
    },
  );

  it('takes no IssuedAt from an event time past the year 9999, so the scope handed on and its tasks stay valid', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const event = stopEvent(
      { DatabaseName: 'sales', TableNames: ['daily_mv'] },
      { time: '+275760-09-13T00:00:00Z' },
    );

    await h.eventHandler(event, lambdaContext());
    await h.drainStopQueue();

    // The hand-off, the expansion, then its stop task: the view, and the task itself.
    expect(h.outcomes.map((o) => o.outcome)).toEqual(['expanded', 'expanded', 'stop-requested', 'expanded']);
  });
});

describe('the allow-list before any call', () => {
  it('parks a scope naming only views outside the allow-list, with zero Glue calls', async () => {
    const guarded = h.handlers({
      config: {
        policy: { allow: [{ database: 'marketing', tables: ['campaign_*'] }], dryRun: false, costGuards: [] },
      },
    });
    const record = sqsRecord({ DatabaseName: 'marketing', TableNames: ['audience_mv'] });

    await guarded.queueHandler(sqsEvent(record), lambdaContext());

    expect(h.outcomes).toMatchObject([{ outcome: 'not-allowed', reason: 'table-not-allowed' }]);
    expect(h.local.glue.calls).toEqual([]);
    const [parked] = await h.takeDeadLetters();
    expect(parked?.MessageAttributes?.[PARKED_ATTRIBUTES.outcome]?.StringValue).toBe('not-allowed');
  });
});

describe('a window payload with a name the configuration could not hold', () => {
  it('is refused and parked, never turned into requests the stop queue would refuse', async () => {
    const template = schedulePayloadTemplate({
      name: 'nightly',
      schedule: 'cron(0 2 * * ? *)',
      timezone: 'UTC',
      scope: { database: 'sales', tables: ['*'] },
      enabled: true,
    });
    const payload = {
      ...(scheduleDelivery(template, { scheduledTime: '2026-11-29T02:00:00Z' }) as object),
      window: 'night\u0007ly',
    };

    await expect(h.scheduleHandler(payload, lambdaContext())).resolves.toMatchObject({
      outcome: 'rejected',
      reason: 'invalid-request',
    });
    expect(h.local.glue.calls.filter((c) => c.operation === LIST)).toEqual([]);
  });
});
