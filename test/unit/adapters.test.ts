import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  AccessDeniedException,
  EntityNotFoundException,
  GlueClient,
  GlueServiceException,
  InternalServiceException,
  InvalidInputException,
  MaterializedViewRefreshTaskNotRunningException,
  MaterializedViewRefreshTaskStoppingException,
  OperationTimeoutException,
  StopMaterializedViewRefreshTaskRunCommand,
  ThrottlingException,
} from '@aws-sdk/client-glue';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createDeadLetterParker,
  PARKED_ATTRIBUTES,
  parkedMessageAttributes,
} from '../../src/adapters/dead-letter-parker.ts';
import { createGlueStopper, toGlueFailure } from '../../src/adapters/glue-stopper.ts';
import { createIdempotentStop } from '../../src/adapters/idempotent-stop.ts';
import {
  createOutcomeReporter,
  OUTCOME_METRICS,
  REPLAYED_METRIC,
} from '../../src/adapters/outcome-reporter.ts';
import { describeViolations, parseStopMessageBody } from '../../src/request/parse.ts';
import { classifyGlueFailure } from '../../src/stop/classify.ts';
import { GlueCallError, PermanentStopError, TransientStopError } from '../../src/stop/errors.ts';
import { OUTCOMES, type StopOutcome } from '../../src/stop/outcome.ts';
import type { RefreshStopper, RejectedRequest, StopCommand } from '../../src/stop/ports.ts';
import { lambdaContext, stopTarget } from './support/records.ts';

const REGION = { region: 'us-east-1' };
const glueMock = mockClient(GlueClient);
const sqsMock = mockClient(SQSClient);
const dynamoDbMock = mockClient(DynamoDBClient);
const glue = new GlueClient(REGION);
const sqs = new SQSClient(REGION);
const dynamoDb = new DynamoDBClient(REGION);

beforeEach(() => {
  glueMock.reset();
  sqsMock.reset();
  dynamoDbMock.reset();
});

/** What the promise rejected with; fails the test if it resolved. */
const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
};

/** The GlueCallError the stopper rejected with; fails the test on anything else. */
const glueCallErrorOf = async (promise: Promise<unknown>): Promise<GlueCallError> => {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(GlueCallError);
  if (!(error instanceof GlueCallError)) throw error;
  return error;
};

const answered = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

/** The characters SQS accepts in a message body and in String attribute values. */
const SQS_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

describe('Glue stopper (StopMaterializedViewRefreshTaskRun)', () => {
  it('sends exactly the three target fields, even when the target object carries more', async () => {
    glueMock.on(StopMaterializedViewRefreshTaskRunCommand).resolves({});
    const widerTarget = { ...stopTarget({ TableName: 'daily_mv' }), IdempotencyKey: 'k', Reason: 'r' };

    await createGlueStopper(glue).stopRefresh(widerTarget);

    const calls = glueMock.commandCalls(StopMaterializedViewRefreshTaskRunCommand);
    expect(calls.map((call) => call.args[0].input)).toStrictEqual([
      { CatalogId: '123456789012', DatabaseName: 'sales', TableName: 'daily_mv' },
    ]);
    expect(glueMock.calls()).toHaveLength(1);
  });

  it.each([
    [
      'MaterializedViewRefreshTaskStoppingException',
      () =>
        new MaterializedViewRefreshTaskStoppingException({ message: 'already stopping', ...answered(400) }),
      400,
      { kind: 'terminal', outcome: 'already-stopping' },
    ],
    [
      'MaterializedViewRefreshTaskNotRunningException',
      () => new MaterializedViewRefreshTaskNotRunningException({ message: 'not running', ...answered(400) }),
      400,
      { kind: 'terminal', outcome: 'not-running' },
    ],
    [
      'InvalidInputException',
      () => new InvalidInputException({ message: 'bad name', ...answered(400) }),
      400,
      { kind: 'permanent', reason: 'glue-invalid-input' },
    ],
    [
      'AccessDeniedException',
      () => new AccessDeniedException({ message: 'denied', ...answered(400) }),
      400,
      { kind: 'permanent', reason: 'glue-access-denied' },
    ],
    [
      'EntityNotFoundException',
      () => new EntityNotFoundException({ message: 'no such table', ...answered(400) }),
      400,
      { kind: 'permanent', reason: 'table-not-found' },
    ],
    [
      'ThrottlingException',
      () => new ThrottlingException({ message: 'slow down', ...answered(400) }),
      400,
      { kind: 'transient', reason: 'glue-throttled' },
    ],
    [
      'OperationTimeoutException',
      () => new OperationTimeoutException({ message: 'timed out', ...answered(400) }),
      400,
      { kind: 'transient', reason: 'glue-operation-timeout' },
    ],
    [
      'InternalServiceException',
      () => new InternalServiceException({ message: 'oops', ...answered(500) }),
      500,
      { kind: 'transient', reason: 'glue-server-error' },
    ],
  ] as const)(
    'turns %s into a GlueCallError with that code and status',
    async (code, exception, status, verdict) => {
      const thrown = exception();
      glueMock.on(StopMaterializedViewRefreshTaskRunCommand).rejects(thrown);

      const error = await glueCallErrorOf(createGlueStopper(glue).stopRefresh(stopTarget()));

      expect(error.failure).toStrictEqual({ code, message: thrown.message, httpStatusCode: status });
      expect(error.cause).toBe(thrown);
      expect(classifyGlueFailure(error.failure)).toEqual(verdict);
    },
  );

  it('turns a connection reset (no HTTP answer) into code ECONNRESET without httpStatusCode', async () => {
    // What the SDK throws when the socket is reset: a TimeoutError-named Error with a Node code and empty metadata.
    const reset = Object.assign(new Error('socket hang up'), {
      name: 'TimeoutError',
      code: 'ECONNRESET',
      $metadata: {},
    });
    glueMock.on(StopMaterializedViewRefreshTaskRunCommand).rejects(reset);

    const error = await glueCallErrorOf(createGlueStopper(glue).stopRefresh(stopTarget()));

    expect(error.failure).toStrictEqual({ code: 'ECONNRESET', message: 'socket hang up' });
    expect(error.cause).toBe(reset);
    expect(classifyGlueFailure(error.failure)).toEqual({
      kind: 'transient',
      reason: 'network-error',
    });
  });

  it('keeps the service code when an answered error also carries a Node-style code', () => {
    const error = Object.assign(new ThrottlingException({ message: 'slow down', ...answered(400) }), {
      code: 'ERR_SOMETHING',
    });

    const failure = toGlueFailure(error);

    expect(failure).toStrictEqual({ code: 'ThrottlingException', message: 'slow down', httpStatusCode: 400 });
  });

  it('reads the code of an unmodelled service error from its name, with its status', () => {
    const error = new GlueServiceException({
      name: 'ConcurrentModificationException',
      $fault: 'client',
      message: 'busy',
      ...answered(409),
    });

    const failure = toGlueFailure(error);

    expect(failure).toStrictEqual({
      code: 'ConcurrentModificationException',
      message: 'busy',
      httpStatusCode: 409,
    });
  });

  it('reduces a thrown non-Error to UnknownError without a status', () => {
    expect(toGlueFailure('socket closed')).toStrictEqual({ code: 'UnknownError', message: 'socket closed' });
    expect(toGlueFailure(undefined)).toStrictEqual({ code: 'UnknownError', message: 'undefined' });
  });
});

describe('dead-letter parker (SQS SendMessage)', () => {
  const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/glue-mv-stop-dead-letter';
  const PARKED_AT = new Date('2026-11-29T02:00:08.000Z');
  const parker = createDeadLetterParker(sqs, QUEUE_URL, () => PARKED_AT);

  const rejected = (overrides: Partial<RejectedRequest> = {}): RejectedRequest => ({
    original: '{"DatabaseName":"sales","Tablename":"daily_mv"}',
    trigger: 'sqs',
    reason: 'invalid-request',
    detail: 'TableName: is required (required)',
    ...overrides,
  });

  const sentInput = () => {
    const calls = sqsMock.commandCalls(SendMessageCommand);
    expect(calls).toHaveLength(1);
    return calls[0]?.args[0].input;
  };

  it('sends the original text verbatim to the queue, with the reason in attributes', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
    const original = '  {"DatabaseName":"sales",\n "Tablename":"daily_mv"}\t';

    await parker.park(rejected({ original, messageId: 'm-1', eventId: 'e-1', idempotencyKey: 'event:e-1' }));

    expect(sentInput()).toStrictEqual({
      QueueUrl: QUEUE_URL,
      MessageBody: original,
      MessageAttributes: {
        [PARKED_ATTRIBUTES.outcome]: { DataType: 'String', StringValue: 'rejected' },
        [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'invalid-request' },
        [PARKED_ATTRIBUTES.detail]: { DataType: 'String', StringValue: 'TableName: is required (required)' },
        [PARKED_ATTRIBUTES.trigger]: { DataType: 'String', StringValue: 'sqs' },
        [PARKED_ATTRIBUTES.parkedAt]: { DataType: 'String', StringValue: '2026-11-29T02:00:08.000Z' },
        [PARKED_ATTRIBUTES.messageId]: { DataType: 'String', StringValue: 'm-1' },
        [PARKED_ATTRIBUTES.eventId]: { DataType: 'String', StringValue: 'e-1' },
        [PARKED_ATTRIBUTES.idempotencyKey]: { DataType: 'String', StringValue: 'event:e-1' },
      },
    });
  });

  it('omits the optional id attributes when they are absent or empty', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });

    await parker.park(rejected({ eventId: '' }));

    expect(Object.keys(sentInput()?.MessageAttributes ?? {}).sort()).toEqual(
      [
        PARKED_ATTRIBUTES.outcome,
        PARKED_ATTRIBUTES.reason,
        PARKED_ATTRIBUTES.detail,
        PARKED_ATTRIBUTES.trigger,
        PARKED_ATTRIBUTES.parkedAt,
      ].sort(),
    );
  });

  it('cuts a long detail to 4096 characters', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
    const detail = 'x'.repeat(5000);

    await parker.park(rejected({ detail }));

    expect(sentInput()?.MessageAttributes?.[PARKED_ATTRIBUTES.detail]?.StringValue).toBe(
      detail.slice(0, 4096),
    );
  });

  it('writes (none) for an empty detail, since SQS refuses empty attribute values', () => {
    const attributes = parkedMessageAttributes(rejected({ detail: '' }), PARKED_AT);

    expect(attributes[PARKED_ATTRIBUTES.detail]?.StringValue).toBe('(none)');
  });

  it('rejects when SQS refuses the message, so the request is retried rather than lost', async () => {
    sqsMock.on(SendMessageCommand).rejects(new Error('AWS.SimpleQueueService.NonExistentQueue'));

    const error = await rejectionOf(parker.park(rejected()));

    expect(error).toBeInstanceOf(Error);
  });

  it('never uses more than 10 attributes, only the documented names, and no empty values', () => {
    const request: fc.Arbitrary<RejectedRequest> = fc.record(
      {
        original: fc.string(),
        trigger: fc.constantFrom('sqs', 'eventbridge'),
        reason: fc.constantFrom(
          'invalid-request',
          'glue-invalid-input',
          'glue-access-denied',
          'table-not-found',
          'idempotency-key-reused',
        ),
        // Short details, and long ones around the 4096 cut (a repeated chunk is cheap to build).
        detail: fc.oneof(
          fc.string(),
          fc
            .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 500, max: 5000 }))
            .map(([chunk, times]) => chunk.repeat(times)),
        ),
        messageId: fc.string(),
        eventId: fc.string(),
        idempotencyKey: fc.string(),
      },
      { requiredKeys: ['original', 'trigger', 'reason', 'detail'] },
    );
    const names: string[] = Object.values(PARKED_ATTRIBUTES);

    fc.assert(
      fc.property(request, (rejectedRequest) => {
        const attributes = parkedMessageAttributes(rejectedRequest, PARKED_AT);

        expect(Object.keys(attributes).length).toBeLessThanOrEqual(10);
        for (const [name, value] of Object.entries(attributes)) {
          expect(names).toContain(name);
          expect(value.DataType).toBe('String');
          expect(value.StringValue?.length ?? 0).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps attribute values to characters SQS accepts when the detail echoes a control character', () => {
    // A JSON-escaped control character in an unknown key is legal JSON in a legal SQS body, and the
    // violation detail names that key.
    const parsed = parseStopMessageBody(
      '{"DatabaseName":"sales","TableName":"daily_mv","Table\\u0001Name":1}',
    );
    const detail = describeViolations(parsed.ok ? [] : parsed.violations);

    const attributes = parkedMessageAttributes(rejected({ detail }), PARKED_AT);

    expect(attributes[PARKED_ATTRIBUTES.detail]?.StringValue).toMatch(SQS_TEXT);
  });

  it('cuts a long detail without splitting a surrogate pair', () => {
    const detail = `a${'\u{1F600}'.repeat(3000)}`;

    const attributes = parkedMessageAttributes(rejected({ detail }), PARKED_AT);

    const cut = attributes[PARKED_ATTRIBUTES.detail]?.StringValue ?? '';
    expect(detail.startsWith(cut)).toBe(true);
    expect(cut.isWellFormed()).toBe(true);
  });
});

describe('outcome reporter (log line and metric)', () => {
  const fakeObservability = () => {
    const logger = { info: vi.fn(), warn: vi.fn() } satisfies Pick<Logger, 'info' | 'warn'>;
    const metrics = { addMetric: vi.fn() } satisfies Pick<Metrics, 'addMetric'>;
    return { logger, metrics, report: createOutcomeReporter(logger, metrics) };
  };

  const outcomeOf = (overrides: Partial<StopOutcome> = {}): StopOutcome => ({
    outcome: 'stop-requested',
    trigger: 'sqs',
    target: stopTarget(),
    idempotencyKey: 'message:m-1',
    replayed: false,
    messageId: 'm-1',
    durationMs: 12,
    ...overrides,
  });

  it.each([
    ['rejected', 'invalid-request', 'Rejected'],
    ['retry', 'glue-throttled', 'Retried'],
  ] as const)('logs %s (%s) as a warning and counts %s', (outcome, reason, metric) => {
    const { logger, metrics, report } = fakeObservability();
    const stopOutcome = outcomeOf({ outcome, reason });

    report(stopOutcome);

    expect(logger.warn).toHaveBeenCalledExactlyOnceWith(`stop request ${outcome}: ${reason}`, stopOutcome);
    expect(logger.info).not.toHaveBeenCalled();
    expect(metrics.addMetric).toHaveBeenCalledExactlyOnceWith(metric, 'Count', 1);
  });

  it.each([
    ['stop-requested', 'StopRequested'],
    ['already-stopping', 'AlreadyStopping'],
    ['not-running', 'NotRunning'],
  ] as const)('logs %s as info and counts %s', (outcome, metric) => {
    const { logger, metrics, report } = fakeObservability();
    const stopOutcome = outcomeOf({ outcome });

    report(stopOutcome);

    expect(logger.info).toHaveBeenCalledExactlyOnceWith(`stop request ${outcome}`, stopOutcome);
    expect(logger.warn).not.toHaveBeenCalled();
    expect(metrics.addMetric).toHaveBeenCalledExactlyOnceWith(metric, 'Count', 1);
  });

  it('also counts Replayed when the outcome came from the idempotency store', () => {
    const { metrics, report } = fakeObservability();

    report(outcomeOf({ outcome: 'not-running', replayed: true }));

    expect(metrics.addMetric.mock.calls).toEqual([
      ['NotRunning', 'Count', 1],
      [REPLAYED_METRIC, 'Count', 1],
    ]);
  });

  it('has one distinct metric name per outcome', () => {
    const names = OUTCOMES.map((outcome) => OUTCOME_METRICS[outcome]);

    expect(new Set([...names, REPLAYED_METRIC]).size).toBe(OUTCOMES.length + 1);
  });

  it('logs a copy of the outcome, so the caller’s object is never shared with the logger', () => {
    const { logger, report } = fakeObservability();
    const stopOutcome = outcomeOf();

    report(stopOutcome);

    expect(logger.info.mock.calls[0]?.[1]).not.toBe(stopOutcome);
  });
});

describe('idempotent stop: the idempotency layer’s errors in the core’s vocabulary', () => {
  const TABLE = 'glue-mv-stop-idempotency';
  const command: StopCommand = { idempotencyKey: 'key:nightly-1', target: stopTarget() };

  const fakeStopper = (failure?: unknown) => {
    const stopRefresh = vi.fn<RefreshStopper['stopRefresh']>(async () => {
      if (failure !== undefined) throw failure;
    });
    return { stopRefresh };
  };

  /** Built as the runtime builds it, with the invocation's context registered. */
  const idempotentStop = (stopper: RefreshStopper) => {
    const stop = createIdempotentStop({ stopper, dynamoDb, tableName: TABLE, expiresAfterSeconds: 3600 });
    stop.registerLambdaContext(lambdaContext());
    return stop;
  };

  /** The payload hash the layer stores for `command`, read from the record a first run writes. */
  const storedValidationFor = async (stopCommand: StopCommand): Promise<string> => {
    dynamoDbMock.on(PutItemCommand).resolves({}).on(UpdateItemCommand).resolves({});
    await idempotentStop(fakeStopper()).execute(stopCommand);
    const validation = dynamoDbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item?.validation?.S;
    dynamoDbMock.reset();
    if (validation === undefined) throw new Error('the first run stored no validation hash');
    return validation;
  };

  /** DynamoDB's answer when the key already has a record: the condition fails and the old item comes back. */
  const existingRecord = (
    item: Record<string, { S: string } | { N: string } | { M: Record<string, { S: string }> }>,
  ) =>
    new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: { httpStatusCode: 400 },
      Item: {
        id: { S: `glue-mv-stop#whatever` },
        expiration: { N: String(Math.floor(Date.now() / 1000) + 3600) },
        ...item,
      },
    });

  it('calls Glue once on a first run and returns the result, not replayed', async () => {
    dynamoDbMock.on(PutItemCommand).resolves({}).on(UpdateItemCommand).resolves({});
    const stopper = fakeStopper();

    const recorded = await idempotentStop(stopper).execute(command);

    expect(recorded).toMatchObject({ result: 'stop-requested', replayed: false });
    expect(stopper.stopRefresh).toHaveBeenCalledExactlyOnceWith(command.target);
  });

  it('answers from a completed record with the same target as replayed, without calling Glue', async () => {
    const validation = await storedValidationFor(command);
    dynamoDbMock.on(PutItemCommand).rejects(
      existingRecord({
        status: { S: 'COMPLETED' },
        validation: { S: validation },
        data: { M: { result: { S: 'not-running' }, decidedAt: { S: '2026-11-29T02:00:07.000Z' } } },
      }),
    );
    const stopper = fakeStopper();

    const recorded = await idempotentStop(stopper).execute(command);

    expect(recorded).toStrictEqual({
      result: 'not-running',
      decidedAt: '2026-11-29T02:00:07.000Z',
      replayed: true,
    });
    expect(stopper.stopRefresh).not.toHaveBeenCalled();
  });

  it('refuses a key reused for another target as a permanent idempotency-key-reused', async () => {
    const otherTarget = await storedValidationFor({
      ...command,
      target: stopTarget({ TableName: 'other_mv' }),
    });
    dynamoDbMock.on(PutItemCommand).rejects(
      existingRecord({
        status: { S: 'COMPLETED' },
        validation: { S: otherTarget },
        data: { M: { result: { S: 'stop-requested' }, decidedAt: { S: '2026-11-29T02:00:07.000Z' } } },
      }),
    );
    const stopper = fakeStopper();

    const error = await rejectionOf(idempotentStop(stopper).execute(command));

    expect(error).toBeInstanceOf(PermanentStopError);
    expect(error).toMatchObject({
      reason: 'idempotency-key-reused',
      message: 'idempotency key "key:nightly-1" was already used for a different target',
    });
    expect(stopper.stopRefresh).not.toHaveBeenCalled();
  });

  it('retries a request whose twin is still in progress as transient duplicate-in-progress', async () => {
    const validation = await storedValidationFor(command);
    dynamoDbMock.on(PutItemCommand).rejects(
      existingRecord({
        status: { S: 'INPROGRESS' },
        validation: { S: validation },
        in_progress_expiration: { N: String(Date.now() + 30_000) },
      }),
    );
    const stopper = fakeStopper();

    const error = await rejectionOf(idempotentStop(stopper).execute(command));

    expect(error).toBeInstanceOf(TransientStopError);
    expect(error).toMatchObject({ reason: 'duplicate-in-progress' });
    expect(stopper.stopRefresh).not.toHaveBeenCalled();
  });

  it('retries as transient idempotency-store-unavailable when the table cannot be written, without calling Glue', async () => {
    dynamoDbMock
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', $metadata: {} }));
    const stopper = fakeStopper();

    const error = await rejectionOf(idempotentStop(stopper).execute(command));

    expect(error).toBeInstanceOf(TransientStopError);
    expect(error).toMatchObject({ reason: 'idempotency-store-unavailable' });
    expect(stopper.stopRefresh).not.toHaveBeenCalled();
  });

  it('passes a permanent Glue refusal through unchanged and frees the key for a redrive', async () => {
    dynamoDbMock.on(PutItemCommand).resolves({}).on(DeleteItemCommand).resolves({});
    const denied = new GlueCallError({
      code: 'AccessDeniedException',
      message: 'denied',
      httpStatusCode: 400,
    });

    const error = await rejectionOf(idempotentStop(fakeStopper(denied)).execute(command));

    expect(error).toBeInstanceOf(PermanentStopError);
    expect(error).toMatchObject({ reason: 'glue-access-denied' });
    expect(dynamoDbMock.commandCalls(DeleteItemCommand)).toHaveLength(1);
    expect(dynamoDbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });
});
