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
  EventBridgeClient,
  InternalException,
  PutEventsCommand,
  type PutEventsCommandInput,
  type PutEventsRequestEntry,
  type PutEventsResponse,
} from '@aws-sdk/client-eventbridge';
import {
  AccessDeniedException,
  EntityNotFoundException,
  GlueClient,
  GlueServiceException,
  InternalServiceException,
  InvalidInputException,
  ListMaterializedViewRefreshTaskRunsCommand,
  MaterializedViewRefreshTaskNotRunningException,
  type MaterializedViewRefreshTaskRun,
  MaterializedViewRefreshTaskStoppingException,
  OperationTimeoutException,
  StopMaterializedViewRefreshTaskRunCommand,
  ThrottlingException,
} from '@aws-sdk/client-glue';
import {
  GetQueueAttributesCommand,
  RequestThrottled,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchResult,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createDeadLetterParker,
  PARKED_ATTRIBUTES,
  parkedMessageAttributes,
} from '../../src/adapters/dead-letter-parker.ts';
import { createGlueRefreshRuns, toGlueFailure } from '../../src/adapters/glue-refresh-runs.ts';
import { createIdempotency } from '../../src/adapters/idempotency.ts';
import {
  createOutcomeEventPublisher,
  OUTCOME_EVENT_DETAIL_TYPE,
  OUTCOME_EVENT_SOURCE,
  OutcomePublishError,
  outcomeEventDetail,
  putEventsCalls,
} from '../../src/adapters/outcome-events.ts';
import {
  createOutcomeReporter,
  HANDED_ON_METRIC,
  OUTCOME_METRICS,
  REPLAYED_METRIC,
} from '../../src/adapters/outcome-reporter.ts';
import { createRateLimiter, type RateLimiter, unlimited } from '../../src/adapters/rate-limiter.ts';
import { createStopRequestQueue } from '../../src/adapters/stop-request-queue.ts';
import type { TableStopRequest } from '../../src/request/contract.ts';
import { describeViolations, parseStopMessageBody } from '../../src/request/parse.ts';
import { classifyGlueFailure } from '../../src/stop/classify.ts';
import { type Deadline, deadlineExceeded, deadlineIn } from '../../src/stop/deadline.ts';
import { GlueCallError, ReadTooOldError, StopError } from '../../src/stop/errors.ts';
import { OUTCOMES, type StopOutcome } from '../../src/stop/outcome.ts';
import type {
  ActiveRun,
  RefreshStopper,
  RejectedRequest,
  RunLister,
  RunPageReader,
  StopCommand,
  StopRequestQueue,
} from '../../src/stop/ports.ts';
import { type CommandDependencies, runStopCommand } from '../../src/stop/run-command.ts';
import {
  activeRun,
  FUNCTION_ACCOUNT_ID,
  lambdaContext,
  OTHER_RUN_ID,
  RUN_ID,
  rejectionOf,
  scopeTarget,
  stopTarget,
} from './support/records.ts';

const REGION = { region: 'us-east-1' };
const glueMock = mockClient(GlueClient);
const sqsMock = mockClient(SQSClient);
const dynamoDbMock = mockClient(DynamoDBClient);
const eventBridgeMock = mockClient(EventBridgeClient);
const glue = new GlueClient(REGION);
const sqs = new SQSClient(REGION);
const dynamoDb = new DynamoDBClient(REGION);
const eventBridge = new EventBridgeClient(REGION);

beforeEach(() => {
  glueMock.reset();
  sqsMock.reset();
  dynamoDbMock.reset();
  eventBridgeMock.reset();
});

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

describe('Glue adapter: stopRefresh (StopMaterializedViewRefreshTaskRun)', () => {
  it('sends exactly the three target fields, even when the target object carries more', async () => {
    glueMock.on(StopMaterializedViewRefreshTaskRunCommand).resolves({});
    const widerTarget = { ...stopTarget({ TableName: 'daily_mv' }), IdempotencyKey: 'k', Reason: 'r' };

    await createGlueRefreshRuns(glue).stopRefresh(widerTarget);

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
      { kind: 'rejected', reason: 'glue-invalid-input' },
    ],
    [
      'AccessDeniedException',
      () => new AccessDeniedException({ message: 'denied', ...answered(400) }),
      400,
      { kind: 'rejected', reason: 'glue-access-denied' },
    ],
    [
      'EntityNotFoundException',
      () => new EntityNotFoundException({ message: 'no such table', ...answered(400) }),
      400,
      { kind: 'rejected', reason: 'table-not-found' },
    ],
    [
      'ThrottlingException',
      () => new ThrottlingException({ message: 'slow down', ...answered(400) }),
      400,
      { kind: 'retry', reason: 'glue-throttled' },
    ],
    [
      'OperationTimeoutException',
      () => new OperationTimeoutException({ message: 'timed out', ...answered(400) }),
      400,
      { kind: 'retry', reason: 'glue-operation-timeout' },
    ],
    [
      'InternalServiceException',
      () => new InternalServiceException({ message: 'oops', ...answered(500) }),
      500,
      { kind: 'retry', reason: 'glue-server-error' },
    ],
  ] as const)(
    'turns %s into a GlueCallError with that code and status',
    async (code, exception, status, verdict) => {
      const thrown = exception();
      glueMock.on(StopMaterializedViewRefreshTaskRunCommand).rejects(thrown);

      const error = await glueCallErrorOf(createGlueRefreshRuns(glue).stopRefresh(stopTarget()));

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

    const error = await glueCallErrorOf(createGlueRefreshRuns(glue).stopRefresh(stopTarget()));

    expect(error.failure).toStrictEqual({ code: 'ECONNRESET', message: 'socket hang up' });
    expect(error.cause).toBe(reset);
    expect(classifyGlueFailure(error.failure)).toEqual({
      kind: 'retry',
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

describe('Glue adapter: activeRuns (ListMaterializedViewRefreshTaskRuns)', () => {
  const START = new Date('2026-11-29T01:30:00.000Z');

  const glueRun = (
    overrides: Partial<MaterializedViewRefreshTaskRun> = {},
  ): MaterializedViewRefreshTaskRun => ({
    CustomerId: FUNCTION_ACCOUNT_ID,
    MaterializedViewRefreshTaskRunId: RUN_ID,
    CatalogId: FUNCTION_ACCOUNT_ID,
    DatabaseName: 'sales',
    TableName: 'daily_mv',
    Role: `arn:aws:iam::${FUNCTION_ACCOUNT_ID}:role/glue-mv-refresh`,
    Status: 'RUNNING',
    CreationTime: START,
    StartTime: START,
    RefreshType: 'FULL',
    ...overrides,
  });

  const listInputs = () =>
    glueMock.commandCalls(ListMaterializedViewRefreshTaskRunsCommand).map((call) => call.args[0].input);

  it('asks for the database with the largest page, and for one table only when given one', async () => {
    glueMock.on(ListMaterializedViewRefreshTaskRunsCommand).resolves({ MaterializedViewRefreshTaskRuns: [] });
    const runs = createGlueRefreshRuns(glue);

    await runs.activeRuns({ CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales' });
    await runs.activeRuns({ CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName: 'daily_mv' });

    expect(listInputs()).toStrictEqual([
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', MaxResults: 1000 },
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName: 'daily_mv', MaxResults: 1000 },
    ]);
  });

  it('follows NextToken across pages and merges them, passing each token back', async () => {
    glueMock
      .on(ListMaterializedViewRefreshTaskRunsCommand)
      .resolvesOnce({
        MaterializedViewRefreshTaskRuns: [glueRun({ TableName: 'a_mv' })],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        MaterializedViewRefreshTaskRuns: [glueRun({ TableName: 'b_mv' })],
        NextToken: 'page-3',
      })
      .resolvesOnce({ MaterializedViewRefreshTaskRuns: [glueRun({ TableName: 'c_mv' })] });

    const active = await createGlueRefreshRuns(glue).activeRuns({
      CatalogId: FUNCTION_ACCOUNT_ID,
      DatabaseName: 'sales',
    });

    expect(active.map((run) => run.target.TableName)).toEqual(['a_mv', 'b_mv', 'c_mv']);
    expect(listInputs().map((input) => input.NextToken)).toEqual([undefined, 'page-2', 'page-3']);
  });

  it('stops paging at an empty NextToken', async () => {
    glueMock
      .on(ListMaterializedViewRefreshTaskRunsCommand)
      .resolves({ MaterializedViewRefreshTaskRuns: [glueRun()], NextToken: '' });

    const active = await createGlueRefreshRuns(glue).activeRuns({
      CatalogId: FUNCTION_ACCOUNT_ID,
      DatabaseName: 'sales',
    });

    expect(active).toHaveLength(1);
    expect(listInputs()).toHaveLength(1);
  });

  it('reduces each STARTING or RUNNING run to plain data, with StartTime as ISO-8601', async () => {
    glueMock.on(ListMaterializedViewRefreshTaskRunsCommand).resolves({
      MaterializedViewRefreshTaskRuns: [
        glueRun(),
        glueRun({ MaterializedViewRefreshTaskRunId: OTHER_RUN_ID, TableName: 'b_mv', Status: 'STARTING' }),
      ],
    });

    const active = await createGlueRefreshRuns(glue).activeRuns({
      CatalogId: FUNCTION_ACCOUNT_ID,
      DatabaseName: 'sales',
    });

    expect(active).toStrictEqual([
      activeRun({
        runId: RUN_ID,
        TableName: 'daily_mv',
        status: 'RUNNING',
        startedAt: '2026-11-29T01:30:00.000Z',
      }),
      activeRun({
        runId: OTHER_RUN_ID,
        TableName: 'b_mv',
        status: 'STARTING',
        startedAt: '2026-11-29T01:30:00.000Z',
      }),
    ]);
  });

  it.each(['SUCCEEDED', 'FAILED', 'STOPPED', undefined] as const)(
    'leaves out a run whose status is %s',
    async (Status) => {
      const finished = glueRun({ TableName: 'finished_mv' });
      if (Status === undefined) delete finished.Status;
      else finished.Status = Status;
      glueMock
        .on(ListMaterializedViewRefreshTaskRunsCommand)
        .resolves({ MaterializedViewRefreshTaskRuns: [finished, glueRun()] });

      const active = await createGlueRefreshRuns(glue).activeRuns({
        CatalogId: FUNCTION_ACCOUNT_ID,
        DatabaseName: 'sales',
      });

      expect(active.map((run) => run.target.TableName)).toEqual(['daily_mv']);
    },
  );

  it.each(['MaterializedViewRefreshTaskRunId', 'DatabaseName', 'TableName'] as const)(
    'leaves out a run without %s: it could not be stopped or guarded',
    async (field) => {
      const incomplete = glueRun();
      delete incomplete[field];
      glueMock
        .on(ListMaterializedViewRefreshTaskRunsCommand)
        .resolves({ MaterializedViewRefreshTaskRuns: [incomplete] });

      const active = await createGlueRefreshRuns(glue).activeRuns({
        CatalogId: FUNCTION_ACCOUNT_ID,
        DatabaseName: 'sales',
      });

      expect(active).toEqual([]);
    },
  );

  it('takes the queried catalog when Glue leaves CatalogId out, and omits a missing or invalid StartTime', async () => {
    const noCatalog = glueRun({ TableName: 'a_mv' });
    delete noCatalog.CatalogId;
    delete noCatalog.StartTime;
    glueMock.on(ListMaterializedViewRefreshTaskRunsCommand).resolves({
      MaterializedViewRefreshTaskRuns: [
        noCatalog,
        glueRun({ TableName: 'b_mv', StartTime: new Date(Number.NaN) }),
      ],
    });

    const active = await createGlueRefreshRuns(glue).activeRuns({
      CatalogId: '999999999999',
      DatabaseName: 'sales',
    });

    expect(active[0]).toStrictEqual({
      runId: RUN_ID,
      target: { CatalogId: '999999999999', DatabaseName: 'sales', TableName: 'a_mv' },
      status: 'RUNNING',
    });
    expect(active[1]).not.toHaveProperty('startedAt');
  });

  it('copes with a page without a run list', async () => {
    glueMock.on(ListMaterializedViewRefreshTaskRunsCommand).resolves({});

    const active = await createGlueRefreshRuns(glue).activeRuns({
      CatalogId: FUNCTION_ACCOUNT_ID,
      DatabaseName: 'sales',
    });

    expect(active).toEqual([]);
  });

  it('turns a List exception into a GlueCallError with its code and status, after any page', async () => {
    const denied = new AccessDeniedException({
      message: 'no glue:ListMaterializedViewRefreshTaskRuns',
      ...answered(400),
    });
    glueMock
      .on(ListMaterializedViewRefreshTaskRunsCommand)
      .resolvesOnce({ MaterializedViewRefreshTaskRuns: [glueRun()], NextToken: 'page-2' })
      .rejectsOnce(denied);

    const error = await glueCallErrorOf(
      createGlueRefreshRuns(glue).activeRuns({ CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales' }),
    );

    expect(error.failure).toStrictEqual({
      code: 'AccessDeniedException',
      message: denied.message,
      httpStatusCode: 400,
    });
    expect(error.cause).toBe(denied);
  });

  it('reads one page: its active runs, every table it named (finished runs too), its size and next token', async () => {
    glueMock.on(ListMaterializedViewRefreshTaskRunsCommand).resolves({
      MaterializedViewRefreshTaskRuns: [
        glueRun({ TableName: 'a_mv' }),
        glueRun({ TableName: 'b_mv', Status: 'SUCCEEDED' }),
        glueRun({ TableName: 'c_mv', Status: 'FAILED', MaterializedViewRefreshTaskRunId: OTHER_RUN_ID }),
      ],
      NextToken: 'page-2',
    });

    const read = await createGlueRefreshRuns(glue).page({
      CatalogId: FUNCTION_ACCOUNT_ID,
      DatabaseName: 'sales',
      pageToken: 'page-1',
    });

    expect(read).toStrictEqual({
      active: [activeRun({ TableName: 'a_mv' })],
      tables: new Set(['a_mv', 'b_mv', 'c_mv']),
      listed: 3,
      nextToken: 'page-2',
    });
    expect(listInputs()).toStrictEqual([
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', MaxResults: 1000, NextToken: 'page-1' },
    ]);
  });

  it('reads the first page without a token, and says there is no next page at an empty or missing NextToken', async () => {
    glueMock
      .on(ListMaterializedViewRefreshTaskRunsCommand)
      .resolvesOnce({ MaterializedViewRefreshTaskRuns: [glueRun()], NextToken: '' })
      .resolvesOnce({});
    const runs = createGlueRefreshRuns(glue);

    const first = await runs.page({
      CatalogId: FUNCTION_ACCOUNT_ID,
      DatabaseName: 'sales',
      TableName: 'daily_mv',
    });
    const empty = await runs.page({ CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales' });

    expect(first).not.toHaveProperty('nextToken');
    expect(empty).toStrictEqual({ active: [], tables: new Set(), listed: 0 });
    expect(listInputs()).toStrictEqual([
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName: 'daily_mv', MaxResults: 1000 },
      { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', MaxResults: 1000 },
    ]);
  });

  it('turns a page’s List exception into a GlueCallError with its code and status', async () => {
    glueMock
      .on(ListMaterializedViewRefreshTaskRunsCommand)
      .rejects(new ThrottlingException({ message: 'Rate exceeded', ...answered(400) }));

    const error = await glueCallErrorOf(
      createGlueRefreshRuns(glue).page({ CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales' }),
    );

    expect(error.failure).toMatchObject({ code: 'ThrottlingException', httpStatusCode: 400 });
  });
});

describe('Glue adapter: rate limiters', () => {
  /** A limiter that counts acquisitions and lets each call through only when `release` is called. */
  const gate = () => {
    const waiting: (() => void)[] = [];
    let acquired = 0;
    const limiter: RateLimiter = {
      acquire: () =>
        new Promise<void>((resolve) => {
          acquired += 1;
          waiting.push(resolve);
        }),
    };
    return { limiter, acquired: () => acquired, release: () => waiting.shift()?.() };
  };

  /** Lets pending promise callbacks run. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('sends a Stop only once the stop limiter lets it, and never touches the list limiter for it', async () => {
    glueMock.on(StopMaterializedViewRefreshTaskRunCommand).resolves({});
    const stop = gate();
    const list = gate();
    const runs = createGlueRefreshRuns(glue, { limiters: { stop: stop.limiter, list: list.limiter } });

    const stopping = runs.stopRefresh(stopTarget());
    await settle();
    const sentBeforeRelease = glueMock.calls().length;
    stop.release();
    await stopping;

    expect(sentBeforeRelease).toBe(0);
    expect(glueMock.commandCalls(StopMaterializedViewRefreshTaskRunCommand)).toHaveLength(1);
    expect([stop.acquired(), list.acquired()]).toEqual([1, 0]);
  });

  it('waits for the list limiter before every page', async () => {
    glueMock
      .on(ListMaterializedViewRefreshTaskRunsCommand)
      .resolvesOnce({ MaterializedViewRefreshTaskRuns: [], NextToken: 'page-2' })
      .resolvesOnce({ MaterializedViewRefreshTaskRuns: [] });
    const stop = gate();
    const list = gate();
    const runs = createGlueRefreshRuns(glue, { limiters: { stop: stop.limiter, list: list.limiter } });

    const listing = runs.activeRuns({ CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales' });
    await settle();
    const pagesAfterNoRelease = glueMock.calls().length;
    list.release();
    await settle();
    const pagesAfterOneRelease = glueMock.calls().length;
    list.release();
    await listing;

    expect([pagesAfterNoRelease, pagesAfterOneRelease, glueMock.calls().length]).toEqual([0, 1, 2]);
    expect([list.acquired(), stop.acquired()]).toEqual([2, 0]);
  });

  /** A limiter whose next slot comes `wait` ms from now, refusing as the real one does; it keeps the deadlines it is given. */
  const slotIn = (wait: number) => {
    const deadlines: (Deadline | undefined)[] = [];
    const limiter: RateLimiter = {
      acquire: async (deadline) => {
        deadlines.push(deadline);
        if (deadline && (deadline.signal.aborted || Date.now() + wait >= deadline.at)) {
          throw deadlineExceeded('no slot before the deadline');
        }
      },
    };
    return { limiter, deadlines };
  };

  it('sends a Stop whose slot comes before sendBy, asking the limiter for a slot by then', async () => {
    glueMock.on(StopMaterializedViewRefreshTaskRunCommand).resolves({});
    const { limiter, deadlines } = slotIn(1_000);
    const sendBy = Date.now() + 5_000;

    await createGlueRefreshRuns(glue, { limiters: { stop: limiter, list: unlimited } }).stopRefresh(
      stopTarget(),
      {
        sendBy,
      },
    );

    expect(deadlines.map((d) => d?.at)).toEqual([sendBy]);
    expect(glueMock.commandCalls(StopMaterializedViewRefreshTaskRunCommand)).toHaveLength(1);
  });

  it('refuses a Stop whose slot comes after sendBy with ReadTooOldError, without calling Glue', async () => {
    const { limiter } = slotIn(10_000);

    const error = await rejectionOf(
      createGlueRefreshRuns(glue, { limiters: { stop: limiter, list: unlimited } }).stopRefresh(
        stopTarget(),
        {
          sendBy: Date.now() + 5_000,
        },
      ),
    );

    expect(error).toBeInstanceOf(ReadTooOldError);
    expect(error).toMatchObject({ name: 'ReadTooOldError', cause: { name: 'StopError' } });
    expect(glueMock.calls()).toHaveLength(0);
  });

  it('waits for the invocation deadline, not sendBy, when the deadline comes first', async () => {
    const { limiter, deadlines } = slotIn(10_000);
    const deadline = deadlineIn(2_000);

    const error = await rejectionOf(
      createGlueRefreshRuns(glue, {
        limiters: { stop: limiter, list: unlimited },
        deadline: () => deadline,
      }).stopRefresh(stopTarget(), { sendBy: Date.now() + 5_000 }),
    );

    expect(deadlines).toEqual([deadline]);
    expect(error).toMatchObject({ name: 'StopError', failure: { reason: 'deadline-exceeded' } });
    expect(glueMock.calls()).toHaveLength(0);
  });

  it('says the deadline passed, not that the read is too old, when the invocation deadline has passed', async () => {
    const { limiter } = slotIn(0);
    const passed: Deadline = { at: Date.now() + 60_000, signal: AbortSignal.abort() };

    const error = await rejectionOf(
      createGlueRefreshRuns(glue, {
        limiters: { stop: limiter, list: unlimited },
        deadline: () => passed,
      }).stopRefresh(stopTarget(), { sendBy: Date.now() + 5_000 }),
    );

    expect(error).not.toBeInstanceOf(ReadTooOldError);
    expect(error).toMatchObject({ name: 'StopError', failure: { reason: 'deadline-exceeded' } });
  });
});

describe('dead-letter parker (SQS SendMessage)', () => {
  const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/glue-mv-stop-dead-letter';
  const PARKED_AT = new Date('2026-11-29T02:00:08.000Z');
  const parker = createDeadLetterParker(sqs, QUEUE_URL, () => PARKED_AT);

  const rejected = (overrides: Partial<RejectedRequest> = {}): RejectedRequest => ({
    original: '{"DatabaseName":"sales","Tablename":"daily_mv"}',
    trigger: 'sqs',
    outcome: 'rejected',
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

  it('names the outcome not-allowed for a request outside the allow-list', async () => {
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });

    await parker.park(
      rejected({
        outcome: 'not-allowed',
        reason: 'table-not-allowed',
        detail: 'table sales.x is not in the allow-list',
      }),
    );

    expect(sentInput()?.MessageAttributes).toMatchObject({
      [PARKED_ATTRIBUTES.outcome]: { DataType: 'String', StringValue: 'not-allowed' },
      [PARKED_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'table-not-allowed' },
    });
  });

  it('writes the request’s own outcome into the outcome attribute, for either kind of refusal', () => {
    fc.assert(
      fc.property(fc.constantFrom('rejected', 'not-allowed'), (outcome) => {
        const attributes = parkedMessageAttributes(rejected({ outcome }), PARKED_AT);

        expect(attributes[PARKED_ATTRIBUTES.outcome]?.StringValue).toBe(outcome);
      }),
      { numRuns: 1000 },
    );
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
        trigger: fc.constantFrom('sqs', 'eventbridge', 'alarm', 'schedule'),
        outcome: fc.constantFrom('rejected', 'not-allowed'),
        reason: fc.constantFrom(
          'invalid-request',
          'glue-invalid-input',
          'glue-access-denied',
          'table-not-found',
          'idempotency-key-reused',
          'catalog-not-allowed',
          'database-not-allowed',
          'table-not-allowed',
        ),
        // Short details, and long ones around the 4096 cut (a repeated chunk is cheap to build).
        detail: fc.oneof(
          { weight: 3, arbitrary: fc.string() },
          {
            weight: 1,
            arbitrary: fc
              .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 4000, max: 4200 }))
              .map(([chunk, length]) => chunk.repeat(Math.ceil(length / chunk.length))),
          },
        ),
        messageId: fc.string(),
        eventId: fc.string(),
        idempotencyKey: fc.string(),
      },
      { requiredKeys: ['original', 'trigger', 'outcome', 'reason', 'detail'] },
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
    const detail = describeViolations(parsed.kind === 'valid' ? [] : parsed.violations);

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

  // A test factory: any fields over a valid default; the reporter reads what it is given.
  const outcomeOf = (overrides: Record<string, unknown> = {}): StopOutcome =>
    ({
      outcome: 'stop-requested',
      trigger: 'sqs',
      target: stopTarget(),
      idempotencyKey: 'message:m-1',
      replayed: false,
      dryRun: false,
      messageId: 'm-1',
      durationMs: 12,
      ...overrides,
    }) as StopOutcome;

  it.each([
    ['rejected', 'invalid-request', 'Rejected'],
    ['not-allowed', 'table-not-allowed', 'NotAllowed'],
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
    ['skipped', 'Skipped'],
    ['dry-run', 'DryRun'],
    ['expanded', 'Expanded'],
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

  it('logs a stop task handed on as info and counts HandedOn, not Expanded', () => {
    const { logger, metrics, report } = fakeObservability();
    const stopOutcome = outcomeOf({
      outcome: 'expanded',
      target: undefined,
      scope: { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableNames: ['*'] },
      queued: 1,
      detail: 'handed on unstarted, for an instance with Glue budget to spare',
      handedOn: true,
    });

    report(stopOutcome);

    expect(logger.info).toHaveBeenCalledExactlyOnceWith('stop request expanded', stopOutcome);
    expect(metrics.addMetric.mock.calls).toEqual([[HANDED_ON_METRIC, 'Count', 1]]);
  });

  it('has one distinct metric name per outcome', () => {
    const names = OUTCOMES.map((outcome) => OUTCOME_METRICS[outcome]);

    expect(new Set([...names, REPLAYED_METRIC, HANDED_ON_METRIC]).size).toBe(OUTCOMES.length + 2);
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
  const command: StopCommand = {
    kind: 'table',
    idempotencyKey: 'key:nightly-1',
    target: stopTarget(),
    guard: {},
    dryRun: false,
  };

  const fakeStopper = (failure?: unknown) => {
    const stopRefresh = vi.fn<RefreshStopper['stopRefresh']>(async () => {
      if (failure !== undefined) throw failure;
    });
    return { stopRefresh };
  };

  /** The command's other ports: nothing running, a queue that records what it is given. */
  const commandPorts = (stopper: RefreshStopper, running: readonly ActiveRun[] = []) => {
    const enqueue = vi.fn<StopRequestQueue['enqueue']>(async () => undefined);
    const activeRuns = vi.fn<RunLister['activeRuns']>(async () => running);
    const page = vi.fn<RunPageReader['page']>(async () => ({
      active: running,
      tables: new Set(running.map((run) => run.target.TableName)),
      listed: running.length,
    }));
    const commands: CommandDependencies = {
      stopper,
      runs: { activeRuns, page },
      queue: { enqueue },
      allow: [{ database: 'sales', tables: ['*'] }],
    };
    return { commands, enqueue, activeRuns };
  };

  /** Built as the runtime builds it, with the invocation's context registered. */
  const idempotentStop = (stopper: RefreshStopper, commands = commandPorts(stopper).commands) => {
    const idempotency = createIdempotency({ dynamoDb, tableName: TABLE, expiresAfterSeconds: 3600 });
    idempotency.registerLambdaContext(lambdaContext());
    return {
      execute: (command: StopCommand) => idempotency.once(command, (c) => runStopCommand(c, commands)),
    };
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
    expect(stopper.stopRefresh).toHaveBeenCalledExactlyOnceWith(command.target, {});
  });

  it('expands a scope command once and records the count of tasks queued', async () => {
    dynamoDbMock.on(PutItemCommand).resolves({}).on(UpdateItemCommand).resolves({});
    const stopper = fakeStopper();
    const ports = commandPorts(stopper, [
      activeRun({ TableName: 'daily_mv' }),
      activeRun({ TableName: 'hourly_mv' }),
    ]);
    const scope: StopCommand = {
      kind: 'scope',
      idempotencyKey: 'event:e-1',
      target: scopeTarget(),
      issuedAt: '2026-11-29T02:00:00Z',
      accountId: FUNCTION_ACCOUNT_ID,
      dryRun: false,
    };

    const recorded = await idempotentStop(stopper, ports.commands).execute(scope);

    expect(recorded).toMatchObject({ result: 'expanded', queued: 1, replayed: false });
    expect(ports.enqueue).toHaveBeenCalledOnce();
    expect(ports.enqueue.mock.calls[0]?.[0]).toMatchObject([
      { ScopeTask: { Kind: 'stop', Views: [{ TableName: 'daily_mv' }, { TableName: 'hourly_mv' }] } },
    ]);
    expect(stopper.stopRefresh).not.toHaveBeenCalled();
    expect(dynamoDbMock.commandCalls(UpdateItemCommand)).toHaveLength(1);
  });

  it('answers a replayed record with its run id, run start and detail intact', async () => {
    const validation = await storedValidationFor(command);
    dynamoDbMock.on(PutItemCommand).rejects(
      existingRecord({
        status: { S: 'COMPLETED' },
        validation: { S: validation },
        data: {
          M: {
            result: { S: 'skipped' },
            decidedAt: { S: '2026-11-29T02:00:07.000Z' },
            runId: { S: OTHER_RUN_ID },
            runStartedAt: { S: '2026-11-29T02:00:01.000Z' },
            detail: { S: 'newer run, skipped' },
          },
        },
      }),
    );

    const recorded = await idempotentStop(fakeStopper()).execute(command);

    expect(recorded).toStrictEqual({
      result: 'skipped',
      decidedAt: '2026-11-29T02:00:07.000Z',
      runId: OTHER_RUN_ID,
      runStartedAt: '2026-11-29T02:00:01.000Z',
      detail: 'newer run, skipped',
      replayed: true,
    });
  });

  it('retries as unexpected-error when a stored record does not hold a valid result', async () => {
    const validation = await storedValidationFor(command);
    dynamoDbMock.on(PutItemCommand).rejects(
      existingRecord({
        status: { S: 'COMPLETED' },
        validation: { S: validation },
        data: { M: { result: { S: 'exploded' }, decidedAt: { S: '2026-11-29T02:00:07.000Z' } } },
      }),
    );

    const error = await rejectionOf(idempotentStop(fakeStopper()).execute(command));

    expect(error).toBeInstanceOf(StopError);
    expect(error).toMatchObject({ failure: { kind: 'retry', reason: 'unexpected-error' } });
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

    expect(error).toBeInstanceOf(StopError);
    expect(error).toMatchObject({
      failure: { kind: 'rejected', reason: 'idempotency-key-reused' },
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

    expect(error).toBeInstanceOf(StopError);
    expect(error).toMatchObject({ failure: { kind: 'retry', reason: 'duplicate-in-progress' } });
    expect(stopper.stopRefresh).not.toHaveBeenCalled();
  });

  it('retries as transient idempotency-store-unavailable when the table cannot be written, without calling Glue', async () => {
    dynamoDbMock
      .on(PutItemCommand)
      .rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', $metadata: {} }));
    const stopper = fakeStopper();

    const error = await rejectionOf(idempotentStop(stopper).execute(command));

    expect(error).toBeInstanceOf(StopError);
    expect(error).toMatchObject({ failure: { kind: 'retry', reason: 'idempotency-store-unavailable' } });
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

    expect(error).toBeInstanceOf(StopError);
    expect(error).toMatchObject({ failure: { kind: 'rejected', reason: 'glue-access-denied' } });
    expect(dynamoDbMock.commandCalls(DeleteItemCommand)).toHaveLength(1);
    expect(dynamoDbMock.commandCalls(UpdateItemCommand)).toHaveLength(0);
  });
});

/**
 * A clock that only moves when the limiter sleeps: no real time passes in these tests. Like a real timer,
 * a sleep always lets some time pass (here at least a microsecond, where Node's timers wait at least a
 * millisecond), and a limiter that keeps sleeping without letting anyone through fails the test instead
 * of spinning.
 */
const fakeTime = (maxSleeps = 1000) => {
  const time = { now: 0, slept: [] as number[] };
  // Sleeps run side by side, as timers do: the earliest due wakes first, the clock jumps to its time, and
  // what it sets off runs before the next one wakes.
  const due: { at: number; wake: () => void }[] = [];
  let scheduled = false;
  const wakeNext = () => {
    scheduled = false;
    due.sort((a, b) => a.at - b.at);
    const next = due.shift();
    if (!next) return;
    time.now = Math.max(time.now, next.at);
    next.wake();
    schedule();
  };
  const schedule = () => {
    if (scheduled || due.length === 0) return;
    scheduled = true;
    setImmediate(wakeNext);
  };
  return {
    time,
    now: () => time.now,
    sleep: (ms: number) =>
      new Promise<void>((resolve, reject) => {
        time.slept.push(ms);
        if (time.slept.length > maxSleeps) {
          reject(new Error(`limiter slept more than ${maxSleeps} times`));
          return;
        }
        due.push({ at: time.now + ms, wake: resolve });
        schedule();
      }),
  };
};

/** Calls acquire `count` times at once; resolves with the (fake) time each call was let through, in call order. */
const grantTimes = async (limiter: { acquire(): Promise<void> }, clock: { now(): number }, count: number) => {
  const order: number[] = [];
  const times: number[] = new Array(count).fill(Number.NaN);
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      limiter.acquire().then(() => {
        order.push(i);
        times[i] = clock.now();
      }),
    ),
  );
  return { order, times };
};

describe('createRateLimiter', () => {
  it.each([0, -1, Number.NaN])('refuses a rate of %s per second', (rate) => {
    expect(() => createRateLimiter(rate)).toThrow(RangeError);
  });

  it('spaces calls 1/rate apart from the first by default (no burst)', async () => {
    const clock = fakeTime();
    const limiter = createRateLimiter(4, { now: clock.now, sleep: clock.sleep });

    const { times } = await grantTimes(limiter, clock, 5);

    expect(times).toEqual([0, 250, 500, 750, 1000]);
  });

  it('lets a burst of `burst` calls through at once, then spaces the rest 1/rate apart', async () => {
    const clock = fakeTime();
    const limiter = createRateLimiter(5, { burst: 3, now: clock.now, sleep: clock.sleep });

    const { times } = await grantTimes(limiter, clock, 6);

    expect(times).toEqual([0, 0, 0, 200, 400, 600]);
  });

  it('lets calls through in the order they asked (FIFO)', async () => {
    const clock = fakeTime();
    const limiter = createRateLimiter(10, { burst: 2, now: clock.now, sleep: clock.sleep });

    const { order } = await grantTimes(limiter, clock, 8);

    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('refills while idle, but never beyond the burst', async () => {
    const clock = fakeTime();
    const limiter = createRateLimiter(10, { burst: 2, now: clock.now, sleep: clock.sleep });
    await grantTimes(limiter, clock, 2);
    clock.time.now += 60_000;

    const { times } = await grantTimes(limiter, clock, 4);

    expect(times).toEqual([60_000, 60_000, 60_100, 60_200]);
  });

  it('waits only for the part of a slot that has not passed yet', async () => {
    const clock = fakeTime();
    const limiter = createRateLimiter(10, { now: clock.now, sleep: clock.sleep });
    await limiter.acquire();
    clock.time.now += 40;

    await limiter.acquire();

    expect(clock.time.slept).toEqual([60]);
    expect(clock.now()).toBe(100);
  });

  it('refuses at once a caller whose slot comes after its deadline, and keeps the slot for the next caller', async () => {
    const clock = fakeTime();
    const limiter = createRateLimiter(1, { now: clock.now, sleep: clock.sleep });
    await limiter.acquire();
    const deadline = { at: 500, signal: new AbortController().signal };

    const refused = await rejectionOf(limiter.acquire(deadline));
    await limiter.acquire();

    expect(refused).toMatchObject({
      name: 'StopError',
      failure: { kind: 'retry', reason: 'deadline-exceeded' },
    });
    expect(clock.time.slept).toEqual([1000]);
    expect(clock.now()).toBe(1000);
  });

  it('refuses a caller whose deadline has already passed, even with a free slot', async () => {
    const clock = fakeTime();
    const limiter = createRateLimiter(1, { now: clock.now, sleep: clock.sleep });
    const controller = new AbortController();
    controller.abort();

    const refused = await rejectionOf(limiter.acquire({ at: 10_000, signal: controller.signal }));

    expect(refused).toMatchObject({
      name: 'StopError',
      failure: { kind: 'retry', reason: 'deadline-exceeded' },
    });
    await limiter.acquire();
    expect(clock.time.slept).toEqual([]);
  });

  it('lets a caller late for its slot by up to `catchUpMs` keep the pace: the calls after a pause bunch up', async () => {
    const clock = fakeTime();
    const limiter = createRateLimiter(10, { catchUpMs: 250, now: clock.now, sleep: clock.sleep });
    const times: number[] = [];
    const call = async () => {
      await limiter.acquire();
      times.push(clock.now());
    };
    for (let i = 0; i < 5; i++) await call();
    expect(times).toEqual([0, 0, 0, 50, 150]); // from idle: the 250 ms it may catch up on, then the pace
    clock.time.now += 230; // other work: the slots of 250 and 350 ms pass unused
    times.length = 0;

    for (let i = 0; i < 4; i++) await call();

    // Both missed slots are taken late, at once; then the pace is 100 ms again from 450 ms.
    expect(times).toEqual([380, 380, 450, 550]);
  });

  it('catches up on no more than `catchUpMs` after a longer pause', async () => {
    const clock = fakeTime();
    const limiter = createRateLimiter(10, { catchUpMs: 250, now: clock.now, sleep: clock.sleep });
    await limiter.acquire();
    clock.time.now += 60_000;

    const { times } = await grantTimes(limiter, clock, 5);

    // 60,000 − 250 ms is the earliest slot it may claim: three at once (−250, −150, −50), then every 100 ms.
    expect(times).toEqual([60_000, 60_000, 60_000, 60_050, 60_150]);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses catchUpMs = %s', (catchUpMs) => {
    expect(() => createRateLimiter(5, { catchUpMs })).toThrow(RangeError);
  });

  it('never lets more than (T + catchUpMs) × rate + 1 calls into a window of T ms, whatever the pauses', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0.5, max: 100, noNaN: true }),
        fc.integer({ min: 0, max: 1_000 }),
        fc.array(fc.integer({ min: 0, max: 600 }), { minLength: 1, maxLength: 40 }),
        async (rate, catchUpMs, pauses) => {
          const clock = fakeTime(pauses.length + 1);
          const limiter = createRateLimiter(rate, { catchUpMs, now: clock.now, sleep: clock.sleep });
          const times: number[] = [];
          for (const pause of pauses) {
            clock.time.now += pause;
            await limiter.acquire();
            times.push(clock.now());
          }

          for (let first = 0; first < times.length; first++) {
            for (let last = first; last < times.length; last++) {
              const window = (times[last] ?? 0) - (times[first] ?? 0);
              const allowed = ((window + catchUpMs) * rate) / 1_000 + 1;
              expect(last - first + 1).toBeLessThanOrEqual(allowed + 1e-9);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives call k the slot max(0, k - burst + 1) / rate, for any rate, burst and number of calls', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0.5, max: 200, noNaN: true }),
        fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
        fc.integer({ min: 1, max: 15 }),
        async (rate, burst, count) => {
          const clock = fakeTime(4 * count);
          const limiter = createRateLimiter(rate, {
            ...(burst !== undefined ? { burst } : {}),
            now: clock.now,
            sleep: clock.sleep,
          });
          const capacity = burst ?? 1;

          const { order, times } = await grantTimes(limiter, clock, count);

          expect(order).toEqual(Array.from({ length: count }, (_, i) => i));
          times.forEach((at, k) => {
            const slot = (Math.max(0, k - capacity + 1) / rate) * 1000;
            expect(at).toBeGreaterThanOrEqual(slot - 1e-6);
            expect(at).toBeLessThanOrEqual(slot + 1e-6);
          });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('unlimited', () => {
  it('lets every call through at once', async () => {
    await expect(Promise.all([unlimited.acquire(), unlimited.acquire()])).resolves.toEqual([
      undefined,
      undefined,
    ]);
  });
});

const STOP_QUEUE_URL = `https://sqs.us-east-1.amazonaws.com/${FUNCTION_ACCOUNT_ID}/glue-mv-stop-requests`;

/** Derived requests as a scope expansion makes them. */
const derived = (count: number): TableStopRequest[] =>
  Array.from({ length: count }, (_, i) => ({
    CatalogId: FUNCTION_ACCOUNT_ID,
    DatabaseName: 'sales',
    TableName: `mv_${String(i).padStart(3, '0')}`,
    RunId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    IssuedAt: '2026-11-29T02:00:00Z',
    IdempotencyKey: `scope-${i}`,
    ParentIdempotencyKey: 'event:e-1',
  }));

/** A queue whose back-off sleeps are recorded instead of waited. */
const queueWithFakeSleep = () => {
  const slept: number[] = [];
  const queue = createStopRequestQueue(sqs, STOP_QUEUE_URL, {
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
  return { queue, slept };
};

const batchInputs = (): SendMessageBatchCommandInput[] =>
  sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);

const allSent: (input: SendMessageBatchCommandInput) => SendMessageBatchResult = (input) => ({
  Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
  Failed: [],
});

describe('stop request queue (SQS SendMessageBatch)', () => {
  it('sends nothing for no requests', async () => {
    const { queue } = queueWithFakeSleep();

    await queue.enqueue([]);

    expect(sqsMock.calls()).toHaveLength(0);
  });

  it('sends batches of at most ten, with each request as its JSON body, in order', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(allSent);
    const requests = derived(25);
    const { queue, slept } = queueWithFakeSleep();

    await queue.enqueue(requests);

    const inputs = batchInputs();
    expect(inputs.map((input) => input.Entries?.length)).toEqual([10, 10, 5]);
    expect(inputs.every((input) => input.QueueUrl === STOP_QUEUE_URL)).toBe(true);
    const bodies = inputs.flatMap((input) =>
      (input.Entries ?? []).map((e) => JSON.parse(e.MessageBody ?? 'null')),
    );
    expect(bodies).toStrictEqual(requests);
    expect(slept).toEqual([]);
  });

  it('gives every entry of a batch a distinct Id', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(allSent);
    const { queue } = queueWithFakeSleep();

    await queue.enqueue(derived(30));

    for (const input of batchInputs()) {
      const ids = (input.Entries ?? []).map((e) => e.Id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  it('sends again only the entries a batch reports as failed, after a back-off', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [],
        Failed: [
          { Id: '3', SenderFault: false, Code: 'InternalError', Message: 'try again' },
          { Id: '7', SenderFault: false, Code: 'InternalError', Message: 'try again' },
        ],
      })
      .callsFake(allSent);
    const requests = derived(10);
    const { queue, slept } = queueWithFakeSleep();

    await queue.enqueue(requests);

    const [, retry] = batchInputs();
    expect(retry?.Entries?.map((e) => JSON.parse(e.MessageBody ?? 'null'))).toStrictEqual([
      requests[3],
      requests[7],
    ]);
    expect(slept).toEqual([100]);
  });

  it('sends the whole batch again when the call itself fails with an SQS exception', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .rejectsOnce(new RequestThrottled({ message: 'slow down', $metadata: { httpStatusCode: 400 } }))
      .callsFake(allSent);
    const { queue } = queueWithFakeSleep();

    await queue.enqueue(derived(4));

    expect(batchInputs().map((input) => input.Entries?.length)).toEqual([4, 4]);
  });

  it('fails with a retry StopError fan-out-incomplete, naming how many were not sent, after three attempts', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: [],
      Failed: (input.Entries ?? [])
        .filter((e) => e.Id === '2')
        .map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'still failing' })),
    }));
    const { queue, slept } = queueWithFakeSleep();

    const error = await rejectionOf(queue.enqueue(derived(10)));

    expect(error).toMatchObject({
      name: 'StopError',
      failure: { kind: 'retry', reason: 'fan-out-incomplete' },
      message:
        'could not queue every message of the fan-out: 1 of 10 not sent (InternalError: still failing)',
    });
    expect(batchInputs()).toHaveLength(3);
    expect(slept).toEqual([100, 200]);
  });

  it('names how many of the caller’s messages were not sent when SQS keeps refusing every batch', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .rejects(new RequestThrottled({ message: 'slow down', $metadata: { httpStatusCode: 400 } }));
    const { queue } = queueWithFakeSleep();

    const error = await rejectionOf(queue.enqueue(derived(15)));

    expect(error).toMatchObject({
      name: 'StopError',
      failure: { kind: 'retry', reason: 'fan-out-incomplete' },
      message: expect.stringMatching(
        /^could not queue every message of the fan-out: 15 of 15 not sent \(.*slow down/,
      ),
    });
    expect(batchInputs()).toHaveLength(6); // two batches, three attempts each
  });

  it('sends the messages several callers enqueue in the same turn together, one batch for up to ten', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(allSent);
    const requests = derived(8);
    const { queue } = queueWithFakeSleep();

    await Promise.all(requests.map((request) => queue.enqueue([request])));

    const inputs = batchInputs();
    expect(inputs.map((input) => input.Entries?.length)).toEqual([8]);
    expect(inputs[0]?.Entries?.map((e) => JSON.parse(e.MessageBody ?? 'null'))).toStrictEqual(requests);
  });

  it('fails only the caller whose message could not be sent; the others of the batch succeed', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: [],
      Failed: (input.Entries ?? [])
        .filter((e) => JSON.parse(e.MessageBody ?? 'null').TableName === 'mv_001')
        .map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'still failing' })),
    }));
    const [first, second, third] = derived(3);
    const { queue } = queueWithFakeSleep();

    const results = await Promise.allSettled([
      queue.enqueue([first as TableStopRequest]),
      queue.enqueue([second as TableStopRequest]),
      queue.enqueue([third as TableStopRequest]),
    ]);

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(results[1]).toMatchObject({
      reason: {
        failure: { kind: 'retry', reason: 'fan-out-incomplete' },
        message:
          'could not queue every message of the fan-out: 1 of 1 not sent (InternalError: still failing)',
      },
    });
    expect(batchInputs().map((input) => input.Entries?.length)).toEqual([3, 1, 1]);
  });

  it('sends a caller that enqueues after the batch went out in a batch of its own', async () => {
    sqsMock.on(SendMessageBatchCommand).callsFake(allSent);
    const { queue } = queueWithFakeSleep();

    await queue.enqueue(derived(2));
    await queue.enqueue(derived(3));

    expect(batchInputs().map((input) => input.Entries?.length)).toEqual([2, 3]);
  });

  it.each([1, 9, 10, 11, 20, 21, 39, 40, 41, 45])(
    'sends each of %i requests exactly once, in batches of at most ten, in order',
    async (count) => {
      sqsMock.on(SendMessageBatchCommand).callsFake(allSent);
      const requests = derived(count);
      const { queue } = queueWithFakeSleep();

      await queue.enqueue(requests);

      const inputs = batchInputs();
      expect(inputs).toHaveLength(Math.ceil(count / 10));
      expect(inputs.every((input) => (input.Entries?.length ?? 0) <= 10)).toBe(true);
      const bodies = inputs.flatMap((input) =>
        (input.Entries ?? []).map((e) => JSON.parse(e.MessageBody ?? 'null')),
      );
      expect(bodies).toStrictEqual(requests);
    },
  );
});

const BUS = 'glue-mv-stop-outcomes';

const outcome = (i: number, overrides: Record<string, unknown> = {}): StopOutcome =>
  ({
    outcome: 'stop-requested',
    trigger: 'sqs',
    target: stopTarget({ TableName: `mv_${i}` }),
    runId: RUN_ID,
    dryRun: false,
    idempotencyKey: `message:m-${i}`,
    replayed: false,
    messageId: `m-${i}`,
    durationMs: 12,
    ...overrides,
  }) as StopOutcome;

const outcomes = (count: number) => Array.from({ length: count }, (_, i) => outcome(i));

const putInputs = (): PutEventsCommandInput[] =>
  eventBridgeMock.commandCalls(PutEventsCommand).map((call) => call.args[0].input);

const allPublished = (input: PutEventsCommandInput): PutEventsResponse => ({
  FailedEntryCount: 0,
  Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `ev-${i}` })),
});

describe('stop request queue: messages waiting (SQS GetQueueAttributes)', () => {
  it('asks for ApproximateNumberOfMessages of the stop queue and answers it as a number', async () => {
    sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '7' } });
    const { queue } = queueWithFakeSleep();

    expect(await queue.waiting?.()).toBe(7);
    expect(sqsMock.commandCalls(GetQueueAttributesCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: STOP_QUEUE_URL, AttributeNames: ['ApproximateNumberOfMessages'] },
    ]);
  });

  it('throws when the answer holds no count, or the call fails', async () => {
    const { queue } = queueWithFakeSleep();
    sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    await expect(queue.waiting?.()).rejects.toThrow('no ApproximateNumberOfMessages');
    sqsMock.on(GetQueueAttributesCommand).rejects(new Error('AccessDenied'));
    await expect(queue.waiting?.()).rejects.toThrow('AccessDenied');
  });
});

describe('outcome event publisher (EventBridge PutEvents)', () => {
  it('uses its own source and detail-type', () => {
    expect(OUTCOME_EVENT_SOURCE).toBe('glue-mv-stop');
    expect(OUTCOME_EVENT_DETAIL_TYPE).toBe('Materialized View Refresh Stop Outcome');
  });

  it('makes no call for no outcomes', async () => {
    await createOutcomeEventPublisher(eventBridge, BUS).publish([]);

    expect(eventBridgeMock.calls()).toHaveLength(0);
  });

  it('publishes ten outcomes per PutEvents call, in order', async () => {
    eventBridgeMock.on(PutEventsCommand).callsFake(allPublished);
    const published = outcomes(23);

    await createOutcomeEventPublisher(eventBridge, BUS).publish(published);

    const inputs = putInputs();
    expect(inputs.map((input) => input.Entries?.length)).toEqual([10, 10, 3]);
    const details = inputs.flatMap((input) =>
      (input.Entries ?? []).map((e) => JSON.parse(e.Detail ?? 'null')),
    );
    expect(details).toStrictEqual(published.map((o) => ({ version: '1', ...o })));
  });

  it('puts every entry on the configured bus with the source, detail-type and the versioned outcome as detail', async () => {
    eventBridgeMock.on(PutEventsCommand).callsFake(allPublished);
    const scopeOutcome = outcome(0, {
      outcome: 'expanded',
      trigger: 'alarm',
      scope: scopeTarget({ TableNames: ['daily_*'] }),
      queued: 4,
      dryRun: true,
      requestedBy: 'cloudwatch-alarm:spend',
    });

    await createOutcomeEventPublisher(eventBridge, BUS).publish([scopeOutcome]);

    expect(putInputs()).toStrictEqual([
      {
        Entries: [
          {
            EventBusName: BUS,
            Source: OUTCOME_EVENT_SOURCE,
            DetailType: OUTCOME_EVENT_DETAIL_TYPE,
            Detail: JSON.stringify({ version: '1', ...scopeOutcome }),
          },
        ],
      },
    ]);
  });

  it('describes the detail as the outcome plus a version, without changing the outcome', () => {
    const original = outcome(1, { outcome: 'not-allowed', reason: 'table-not-allowed', detail: 'no' });

    const detail = outcomeEventDetail(original);

    expect(detail).toStrictEqual({ version: '1', ...original });
    expect(original).not.toHaveProperty('version');
  });

  it('reports entries EventBridge refused with OutcomePublishError naming the count and the codes, after sending the rest', async () => {
    eventBridgeMock
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { EventId: 'ev-0' },
          { ErrorCode: 'InternalFailure', ErrorMessage: 'try later' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' },
        ],
      })
      .callsFake(allPublished);

    const error = await rejectionOf(createOutcomeEventPublisher(eventBridge, BUS).publish(outcomes(13)));

    expect(error).toBeInstanceOf(OutcomePublishError);
    expect(error).toMatchObject({
      name: 'OutcomePublishError',
      failed: 2,
      message: '2 outcome event(s) not published: InternalFailure: try later; ThrottlingException: slow down',
    });
    expect(putInputs()).toHaveLength(2);
  });

  it('counts a whole chunk as failed when the call fails with an EventBridge exception, and goes on', async () => {
    eventBridgeMock
      .on(PutEventsCommand)
      .rejectsOnce(
        new InternalException({ message: 'service unavailable', $metadata: { httpStatusCode: 500 } }),
      )
      .callsFake(allPublished);

    const error = await rejectionOf(createOutcomeEventPublisher(eventBridge, BUS).publish(outcomes(15)));

    expect(error).toBeInstanceOf(OutcomePublishError);
    expect(error).toMatchObject({ failed: 10, message: expect.stringContaining('service unavailable') });
    expect(putInputs().map((input) => input.Entries?.length)).toEqual([10, 5]);
  });

  it('adds up call failures and entry failures across chunks', async () => {
    eventBridgeMock
      .on(PutEventsCommand)
      .rejectsOnce(new InternalException({ message: 'down', $metadata: { httpStatusCode: 500 } }))
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'x' }] });

    const error = await rejectionOf(
      createOutcomeEventPublisher(eventBridge, BUS).publish(
        outcomes(11).map((o) => ({ ...o, trigger: 'schedule' })),
      ),
    );

    expect(error).toMatchObject({ failed: 11 });
  });
});

describe('PutEvents calls', () => {
  const entry = (bytes: number): PutEventsRequestEntry => ({
    Source: OUTCOME_EVENT_SOURCE,
    DetailType: 'd',
    Detail: 'x'.repeat(bytes),
  });

  it('puts up to ten small entries in one call, in order', () => {
    const entries = Array.from({ length: 11 }, () => entry(10));

    const calls = putEventsCalls(entries);

    expect(calls.map((call) => call.length)).toEqual([10, 1]);
    expect(calls.flat()).toEqual(entries);
  });

  it('starts a new call before the entries would reach 256 KB, however few they are', () => {
    const calls = putEventsCalls([entry(100_000), entry(100_000), entry(100_000), entry(10)]);

    expect(calls.map((call) => call.length)).toEqual([2, 2]);
  });

  it('sends no call for no entries', () => {
    expect(putEventsCalls([])).toEqual([]);
  });
});

describe('outcome event detail', () => {
  it('cuts a long detail on a code point boundary so ten events fit one PutEvents call', () => {
    const detail = `a${'\u{1F600}'.repeat(5000)}`;

    const event = outcomeEventDetail({
      outcome: 'rejected',
      reason: 'invalid-request',
      trigger: 'sqs',
      replayed: false,
      dryRun: false,
      durationMs: 1,
      detail,
    });

    expect(Array.from(event.detail ?? '')).toHaveLength(4096);
    expect(detail.startsWith(event.detail ?? '')).toBe(true);
    expect((event.detail ?? '').isWellFormed()).toBe(true);
  });

  it('leaves a short detail and every other field as they are', () => {
    const outcome = {
      outcome: 'skipped' as const,
      target: stopTarget(),
      trigger: 'alarm' as const,
      replayed: false,
      dryRun: false,
      durationMs: 3,
      detail: 'newer run',
    };

    expect(outcomeEventDetail(outcome)).toEqual({ version: '1', ...outcome });
  });
});
