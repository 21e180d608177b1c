import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandInput,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import {
  QueueDoesNotExist,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchResult,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  createStopClient,
  STOP_EVENT_DETAIL_TYPE,
  STOP_EVENT_SOURCE,
  type StopRequest,
  type StopResult,
  validateStopRequest,
} from '../../src/client/index.ts';
import {
  IDEMPOTENCY_KEY_MAX_LENGTH,
  NAME_MAX_LENGTH,
  REASON_MAX_LENGTH,
  TABLE_NAMES_MAX_ITEMS,
} from '../../src/request/contract.ts';
import { describeViolations, parseStopRequest } from '../../src/request/parse.ts';
import { issuedAt, runId, validText } from '../unit/support/arbitraries.ts';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/glue-mv-stop-requests';
const sqsMock = mockClient(SQSClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const sqs = new SQSClient({ region: 'us-east-1' });
const eventBridge = new EventBridgeClient({ region: 'us-east-1' });
/** No waiting between resends in tests that are not about the wait. */
const NO_DELAY = { baseDelayMs: 0 };

const table = (name: string, extra: Partial<StopRequest> = {}): StopRequest =>
  ({ DatabaseName: 'sales', TableName: name, ...extra }) as StopRequest;

/** A request that breaks the contract, as a service written in JavaScript (or given bad data) could send. */
const notARequest = (value: unknown): StopRequest => value as StopRequest;

/** SQS accepts every entry, with message id `m-<body's TableName>`. */
const acceptAll = (input: SendMessageBatchCommandInput): SendMessageBatchResult => ({
  Successful: (input.Entries ?? []).map((entry) => ({
    Id: entry.Id,
    MessageId: `m-${JSON.parse(entry.MessageBody ?? '{}').TableName}`,
    MD5OfMessageBody: 'md5',
  })),
  Failed: [],
});

const sentBatches = () =>
  sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries ?? []);
const sentTables = () =>
  sentBatches().map((entries) => entries.map((entry) => JSON.parse(entry.MessageBody ?? '{}').TableName));

beforeEach(() => {
  sqsMock.reset();
  eventBridgeMock.reset();
});

describe('validateStopRequest', () => {
  it('accepts a request the stack accepts and gives it back as checked', () => {
    const result = validateStopRequest({ DatabaseName: 'sales', TableName: 'daily_mv', DryRun: true });

    expect(result).toEqual({
      kind: 'valid',
      request: { DatabaseName: 'sales', TableName: 'daily_mv', DryRun: true },
    });
  });

  it('names the field and the rule of every refusal, in the stack’s words', () => {
    const result = validateStopRequest({ DatabaseName: '', Tablename: 'daily_mv' });

    expect(result).toEqual({
      kind: 'invalid',
      violations: [
        { field: 'TableName', rule: 'required', message: 'is required (or TableNames, for a scope)' },
        { field: 'DatabaseName', rule: 'min-length', message: 'must not be empty' },
        { field: 'Tablename', rule: 'unknown-field', message: 'is not a field of the stop request' },
      ],
      message:
        'TableName: is required (or TableNames, for a scope) (required); DatabaseName: must not be empty ' +
        '(min-length); Tablename: is not a field of the stop request (unknown-field)',
    });
  });

  it('decides exactly as the stack’s own parser, for requests near the contract and for anything at all', () => {
    const nearRequest = fc.record(
      {
        DatabaseName: fc.oneof(validText(), fc.string()),
        TableName: fc.oneof(validText(), fc.string({ maxLength: NAME_MAX_LENGTH + 2 })),
        TableNames: fc.array(validText(), { maxLength: TABLE_NAMES_MAX_ITEMS + 1 }),
        RunId: fc.oneof(runId, fc.string()),
        IssuedAt: fc.oneof(issuedAt, fc.string()),
        DryRun: fc.oneof(fc.boolean(), fc.constant('yes')),
        Tablename: fc.string(),
      },
      { requiredKeys: [] },
    );

    fc.assert(
      fc.property(fc.oneof(nearRequest, fc.anything()), (value) => {
        const stack = parseStopRequest(value);
        const local = validateStopRequest(value);

        expect(local).toEqual(
          stack.kind === 'valid'
            ? stack
            : {
                kind: 'invalid',
                violations: stack.violations,
                message: describeViolations(stack.violations),
              },
        );
      }),
      { numRuns: 1000 },
    );
  });
});

describe('createStopClient over SQS', () => {
  it('sends one request as one message whose body is the request, and answers its message id', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs });

    const result = await client.stop(table('daily_mv', { RequestedBy: 'billing' }));

    expect(result).toEqual({
      kind: 'sent',
      transport: 'sqs',
      messageId: 'm-daily_mv',
      request: { DatabaseName: 'sales', TableName: 'daily_mv', RequestedBy: 'billing' },
    });
    const [call] = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(call?.args[0].input.QueueUrl).toBe(QUEUE_URL);
    expect(call?.args[0].input.Entries?.map((e) => JSON.parse(e.MessageBody ?? ''))).toEqual([
      { DatabaseName: 'sales', TableName: 'daily_mv', RequestedBy: 'billing' },
    ]);
  });

  it('sends many in batches of ten, answering one result per request in input order', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs });
    const names = Array.from({ length: 25 }, (_, i) => `view_${i}`);

    const results = await client.stopMany(names.map((name) => table(name)));

    expect(sentBatches().map((entries) => entries.length)).toEqual([10, 10, 5]);
    expect(results.map((r) => (r.kind === 'sent' && r.transport === 'sqs' ? r.messageId : r.kind))).toEqual(
      names.map((name) => `m-${name}`),
    );
  });

  it('keeps a batch under the size SQS takes in one call: ten of the largest requests go in two calls', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs });
    const largest = (i: number): StopRequest => ({
      DatabaseName: 'sales',
      Reason: 'r'.repeat(REASON_MAX_LENGTH),
      IdempotencyKey: `${i}`.padEnd(IDEMPOTENCY_KEY_MAX_LENGTH, 'k'),
      TableNames: Array.from({ length: TABLE_NAMES_MAX_ITEMS }, (_, j) =>
        `${i}_${j}_`.padEnd(NAME_MAX_LENGTH, 'x'),
      ),
    });

    const results = await client.stopMany(Array.from({ length: 10 }, (_, i) => largest(i)));

    const batches = sentBatches();
    expect(batches.map((entries) => entries.length)).toEqual([9, 1]);
    for (const entries of batches) {
      const bytes = entries.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? ''), 0);
      expect(bytes).toBeLessThanOrEqual(256 * 1024);
    }
    expect(results.every((r) => r.kind === 'sent')).toBe(true);
  });

  it('checks every request first: invalid ones are answered in place and never sent', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs });
    const progress: [number, number][] = [];

    const results = await client.stopMany(
      [
        table('a'),
        notARequest({ DatabaseName: 'sales' }),
        table('b'),
        table('x'.repeat(NAME_MAX_LENGTH + 1)),
      ],
      { onProgress: (done, total) => progress.push([done, total]) },
    );

    expect(results.map((r) => r.kind)).toEqual(['sent', 'invalid', 'sent', 'invalid']);
    expect(results[1]).toEqual({
      kind: 'invalid',
      violations: [
        { field: 'TableName', rule: 'required', message: 'is required (or TableNames, for a scope)' },
      ],
      message: 'TableName: is required (or TableNames, for a scope) (required)',
    });
    expect(results[3]).toMatchObject({
      kind: 'invalid',
      violations: [{ field: 'TableName', rule: 'max-length' }],
    });
    expect(sentTables()).toEqual([['a', 'b']]);
    expect(progress).toEqual([
      [2, 4],
      [4, 4],
    ]);
  });

  it('sends again only the entries a batch reports as failed, until they are taken', async () => {
    let call = 0;
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      call += 1;
      if (call > 1) return acceptAll(input);
      const entries = input.Entries ?? [];
      const failing = new Set([entries[1]?.Id, entries[3]?.Id]);
      return {
        Successful: acceptAll({ ...input, Entries: entries.filter((e) => !failing.has(e.Id)) }).Successful,
        Failed: [...failing].map((Id) => ({ Id, SenderFault: false, Code: 'InternalError' })),
      };
    });
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs, retry: NO_DELAY });

    const results = await client.stopMany(['a', 'b', 'c', 'd', 'e'].map((name) => table(name)));

    expect(sentTables()).toEqual([
      ['a', 'b', 'c', 'd', 'e'],
      ['b', 'd'],
    ]);
    expect(results.map((r) => (r.kind === 'sent' && r.transport === 'sqs' ? r.messageId : r.kind))).toEqual([
      'm-a',
      'm-b',
      'm-c',
      'm-d',
      'm-e',
    ]);
  });

  it('gives up on an entry after maxAttempts sends, answering failed with the last code and message', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: [],
      Failed: (input.Entries ?? []).map((e) => ({
        Id: e.Id,
        SenderFault: false,
        Code: 'ServiceUnavailable',
        Message: 'try later',
      })),
    }));
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs, retry: { maxAttempts: 3, baseDelayMs: 1 } });

    const result = await client.stop(table('a'));

    expect(result).toEqual({
      kind: 'failed',
      request: { DatabaseName: 'sales', TableName: 'a' },
      code: 'ServiceUnavailable',
      message: 'try later',
      attempts: 3,
    });
    expect(sentBatches()).toHaveLength(3);
  });

  it('waits longer before each resend', async () => {
    const sends: number[] = [];
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      sends.push(performance.now());
      return { Failed: (input.Entries ?? []).map((e) => ({ Id: e.Id, SenderFault: false, Code: 'Busy' })) };
    });
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs, retry: { maxAttempts: 3, baseDelayMs: 40 } });

    await client.stop(table('a'));

    const [first = 0, second = 0, third = 0] = sends;
    // Base 40 ms doubling, with jitter between half and all of it: 20–40 ms, then 40–80 ms.
    expect(second - first).toBeGreaterThanOrEqual(19);
    expect(third - second).toBeGreaterThanOrEqual(39);
  });

  it('never sends again an entry SQS refused as the sender’s fault', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({
      Failed: [{ Id: '0', SenderFault: true, Code: 'InvalidParameterValue', Message: 'bad entry' }],
    });
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs, retry: NO_DELAY });

    const result = await client.stop(table('a'));

    expect(result).toMatchObject({
      kind: 'failed',
      code: 'InvalidParameterValue',
      message: 'bad entry',
      attempts: 1,
    });
    expect(sentBatches()).toHaveLength(1);
  });

  it('sends again an entry the answer does not mention', async () => {
    sqsMock.on(SendMessageBatchCommand).resolvesOnce({ Successful: [], Failed: [] }).callsFake(acceptAll);
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs, retry: NO_DELAY });

    const result = await client.stop(table('a'));

    expect(result).toMatchObject({ kind: 'sent', messageId: 'm-a' });
    expect(sentBatches()).toHaveLength(2);
  });

  it('answers failed for every request of a call that failed as a whole, with the SDK error’s name', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .rejects(new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} }));
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs, retry: NO_DELAY });

    const results = await client.stopMany([table('a'), table('b')]);

    expect(results).toEqual([
      {
        kind: 'failed',
        request: { DatabaseName: 'sales', TableName: 'a' },
        code: 'QueueDoesNotExist',
        message: 'The specified queue does not exist.',
        attempts: 1,
      },
      {
        kind: 'failed',
        request: { DatabaseName: 'sales', TableName: 'b' },
        code: 'QueueDoesNotExist',
        message: 'The specified queue does not exist.',
        attempts: 1,
      },
    ]);
  });

  it('creates its own SQSClient when given none', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const client = createStopClient({ queueUrl: QUEUE_URL });

    const result = await client.stop(table('a'));

    expect(result).toMatchObject({ kind: 'sent', messageId: 'm-a' });
  });

  it('sends nothing for an empty list', async () => {
    const progress: number[] = [];
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs });

    const results = await client.stopMany([], { onProgress: (done) => progress.push(done) });

    expect(results).toEqual([]);
    expect(progress).toEqual([]);
    expect(sentBatches()).toEqual([]);
  });

  it('reports progress per batch and still sends everything when onProgress throws, then throws its error', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(acceptAll);
    const client = createStopClient({ queueUrl: QUEUE_URL, sqs });
    const failure = new Error('progress bar broke');

    const outcome = client.stopMany(
      Array.from({ length: 30 }, (_, i) => table(`v${i}`)),
      {
        onProgress: () => {
          throw failure;
        },
      },
    );

    await expect(outcome).rejects.toBe(failure);
    expect(sentBatches().flat()).toHaveLength(30);
  });
});

describe('createStopClient over EventBridge', () => {
  const acceptEvents = (input: PutEventsCommandInput) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map((e) => ({ EventId: `e-${JSON.parse(e.Detail ?? '{}').TableName}` })),
  });
  const putCalls = () =>
    eventBridgeMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries ?? []);

  it('puts the request as the detail of an event the stack’s rule matches, on the named bus', async () => {
    eventBridgeMock.on(PutEventsCommand).callsFake(acceptEvents);
    const client = createStopClient({ eventBusName: 'stops', eventBridge });

    const result = await client.stop(table('daily_mv'));

    expect(result).toEqual({
      kind: 'sent',
      transport: 'eventbridge',
      eventId: 'e-daily_mv',
      request: { DatabaseName: 'sales', TableName: 'daily_mv' },
    });
    expect(putCalls()).toEqual([
      [
        {
          EventBusName: 'stops',
          Source: STOP_EVENT_SOURCE,
          DetailType: STOP_EVENT_DETAIL_TYPE,
          Detail: JSON.stringify({ DatabaseName: 'sales', TableName: 'daily_mv' }),
        },
      ],
    ]);
    expect([STOP_EVENT_SOURCE, STOP_EVENT_DETAIL_TYPE]).toEqual([
      'glue-mv-stop',
      'Stop Materialized View Refresh',
    ]);
  });

  it('uses the source it is given', async () => {
    eventBridgeMock.on(PutEventsCommand).callsFake(acceptEvents);
    const client = createStopClient({ eventBusName: 'default', eventBridge, source: 'billing.stops' });

    await client.stop(table('a'));

    expect(putCalls()[0]?.[0]?.Source).toBe('billing.stops');
  });

  it('sends again the entries failed with a retryable code, and not those failed for good', async () => {
    let call = 0;
    eventBridgeMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      call += 1;
      const entries = acceptEvents(input).Entries;
      if (call > 1) return { FailedEntryCount: 0, Entries: entries };
      const answered: PutEventsResultEntry[] = entries.map((entry, i) => {
        if (i === 1) return { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' };
        if (i === 2) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'not JSON' };
        if (i === 3) return { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' };
        return entry;
      });
      return { FailedEntryCount: 3, Entries: answered };
    });
    const client = createStopClient({ eventBusName: 'default', eventBridge, retry: NO_DELAY });

    const results: StopResult[] = await client.stopMany(['a', 'b', 'c', 'd', 'e'].map((name) => table(name)));

    expect(putCalls().map((entries) => entries.map((e) => JSON.parse(e.Detail ?? '{}').TableName))).toEqual([
      ['a', 'b', 'c', 'd', 'e'],
      ['b', 'd'],
    ]);
    expect(results.map((r) => (r.kind === 'sent' && r.transport === 'eventbridge' ? r.eventId : r))).toEqual([
      'e-a',
      'e-b',
      {
        kind: 'failed',
        request: { DatabaseName: 'sales', TableName: 'c' },
        code: 'MalformedDetail',
        message: 'not JSON',
        attempts: 1,
      },
      'e-d',
      'e-e',
    ]);
  });

  it('sends in batches of ten', async () => {
    eventBridgeMock.on(PutEventsCommand).callsFake(acceptEvents);
    const client = createStopClient({ eventBusName: 'default', eventBridge });

    await client.stopMany(Array.from({ length: 21 }, (_, i) => table(`v${i}`)));

    expect(putCalls().map((entries) => entries.length)).toEqual([10, 10, 1]);
  });
});

describe('createStopClient options', () => {
  it.each([
    ['no transport', {}],
    ['both transports', { queueUrl: QUEUE_URL, eventBusName: 'default' }],
    ['an empty queue URL', { queueUrl: '' }],
    ['an empty bus name', { eventBusName: '' }],
    ['no attempt at all', { queueUrl: QUEUE_URL, retry: { maxAttempts: 0 } }],
    ['a negative delay', { queueUrl: QUEUE_URL, retry: { baseDelayMs: -1 } }],
  ])('refuses %s with a TypeError', (_, options) => {
    expect(() => createStopClient(options as Parameters<typeof createStopClient>[0])).toThrow(TypeError);
  });
});
