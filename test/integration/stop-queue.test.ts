import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqsEvent, sqsRecord, stopEvent } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { LOCAL_ACCOUNT_ID } from '../../local/local-aws.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const STOP = 'StopMaterializedViewRefreshTaskRun';
const LIST_OPERATION = 'ListMaterializedViewRefreshTaskRuns';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ glue: { deny: (request) => request.databaseName === 'restricted' } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  h.local.glue.reset();
  h.outcomes.length = 0;
  await h.takeDeadLetters();
});

describe('SQS handler outcomes', () => {
  it('stops a running refresh and reports stop-requested', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });

    const response = await h.queueHandler(
      sqsEvent(sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv', RequestedBy: 'test' })),
      lambdaContext(),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(h.local.glue.getRun(runId)?.status).toBe('STOPPED');
    expect(h.outcomes).toMatchObject([
      {
        outcome: 'stop-requested',
        trigger: 'sqs',
        replayed: false,
        requestedBy: 'test',
        target: { CatalogId: LOCAL_ACCOUNT_ID, DatabaseName: 'sales', TableName: 'daily_mv' },
      },
    ]);
  });

  it('treats MaterializedViewRefreshTaskStopping as the terminal outcome already-stopping', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv', stopping: true });

    const response = await h.queueHandler(
      sqsEvent(sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' })),
      lambdaContext(),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(h.outcomes.map((o) => o.outcome)).toEqual(['already-stopping']);
    expect(await h.takeDeadLetters()).toHaveLength(0);
  });

  it('treats MaterializedViewRefreshTaskNotRunning as the terminal outcome not-running', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv', status: 'SUCCEEDED' });

    const response = await h.queueHandler(
      sqsEvent(sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' })),
      lambdaContext(),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(h.outcomes.map((o) => o.outcome)).toEqual(['not-running']);
  });

  it('parks an invalid request in the dead-letter queue with field and rule, without calling Glue', async () => {
    const body = JSON.stringify({ DatabaseName: 'sales', Tablename: 'daily_mv' });
    const record = sqsRecord(body);

    const response = await h.queueHandler(sqsEvent(record), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(h.local.glue.callCount()).toBe(0);
    const [parked, ...rest] = await h.takeDeadLetters();
    expect(rest).toHaveLength(0);
    expect(parked?.Body).toBe(body);
    const attributes = parked?.MessageAttributes ?? {};
    expect(attributes['glue-mv-stop.reason']?.StringValue).toBe('invalid-request');
    expect(attributes['glue-mv-stop.detail']?.StringValue).toBe(
      'TableName: is required (or TableNames, for a scope) (required); Tablename: is not a field of the stop request (unknown-field)',
    );
    expect(attributes['glue-mv-stop.message-id']?.StringValue).toBe(record.messageId);
    expect(h.outcomes).toMatchObject([{ outcome: 'rejected', reason: 'invalid-request' }]);
  });

  it('parks a body that is not JSON', async () => {
    const response = await h.queueHandler(sqsEvent(sqsRecord('stop sales.daily_mv please')), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    const parked = await h.takeDeadLetters();
    expect(parked.map((m) => m.MessageAttributes?.['glue-mv-stop.detail']?.StringValue)).toEqual([
      '(body): is not valid JSON (json)',
    ]);
  });

  it.each([
    ['AccessDeniedException', 'glue-access-denied', 'restricted', 'salaries_mv'],
    ['EntityNotFoundException', 'table-not-found', 'sales', 'salaries_mv'],
    ['InvalidInputException', 'glue-invalid-input', 'sales', 'orders'],
  ])('parks %s as %s at once, never retried', async (_code, reason, database, table) => {
    h.local.glue.seedRun({ databaseName: 'restricted', tableName: 'salaries_mv' });
    h.local.glue.addTable({ databaseName: 'sales', tableName: 'orders', plain: true });

    const response = await h.queueHandler(
      sqsEvent(sqsRecord({ DatabaseName: database, TableName: table })),
      lambdaContext(),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(h.local.glue.callCount(STOP)).toBe(1);
    expect(h.outcomes).toMatchObject([{ outcome: 'rejected', reason }]);
    const parked = await h.takeDeadLetters();
    expect(parked.map((m) => m.MessageAttributes?.['glue-mv-stop.reason']?.StringValue)).toEqual([reason]);
  });

  // Three attempts: a throttled Stop is sent again by the SDK (Glue refused it before acting); a Stop that
  // failed in a way that may have carried it out is sent again by the request itself, which (with a run
  // guard) reads the view first.
  it.each([
    ['throttle', 'glue-throttled', 3],
    ['internal-error', 'glue-server-error', 3],
    ['service-unavailable', 'glue-server-error', 3],
    ['operation-timeout', 'glue-operation-timeout', 1],
    ['connection-reset', 'network-error', 3],
  ] as const)(
    'hands a %s failure back to SQS as a batch item failure (%s)',
    async (kind, reason, glueCalls) => {
      h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
      h.local.glue.injectFault({ operation: STOP, kind, times: Number.POSITIVE_INFINITY });
      const failing = sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' });

      const response = await h.queueHandler(sqsEvent(failing), lambdaContext());

      expect(response.batchItemFailures).toEqual([{ itemIdentifier: failing.messageId }]);
      expect(h.local.glue.callCount(STOP)).toBe(glueCalls);
      expect(h.outcomes).toMatchObject([{ outcome: 'retry', reason }]);
      expect(await h.takeDeadLetters()).toHaveLength(0);
    },
  );

  it('reads a guarded view again after a Stop that failed with a 5xx, and stops nothing when its run was replaced', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    // The Stop is carried out, but its answer is a 500; meanwhile a new run replaces the stopped one.
    h.local.glue.injectFault({ operation: STOP, kind: 'internal-error', afterOperation: true });
    let replaced: string | undefined;
    h.local.glue.setFaultHook(({ operation }) => {
      if (
        operation === LIST_OPERATION &&
        replaced === undefined &&
        h.local.glue.getRun(runId)?.status !== 'RUNNING'
      ) {
        replaced = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
      }
      return undefined;
    });
    const record = sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv', RunId: runId });

    const response = await h.queueHandler(sqsEvent(record), lambdaContext());
    h.local.glue.setFaultHook(undefined);

    expect(response.batchItemFailures).toEqual([]);
    expect(h.local.glue.callCount(STOP)).toBe(1);
    expect(replaced).toBeDefined();
    expect(h.local.glue.getRun(replaced ?? '')?.status).toBe('RUNNING');
    expect(h.outcomes).toMatchObject([{ outcome: 'skipped', runId: replaced }]);
  });

  it('retries OperationTimeout on redelivery and then ends in a terminal outcome', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    // The stop took effect but the answer was an OperationTimeout.
    h.local.glue.injectFault({ operation: STOP, kind: 'operation-timeout', afterOperation: true });
    const record = sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' });

    const first = await h.queueHandler(sqsEvent(record), lambdaContext());
    const redelivery = await h.queueHandler(
      sqsEvent({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }),
      lambdaContext(),
    );

    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(redelivery.batchItemFailures).toEqual([]);
    expect(h.outcomes.map((o) => o.outcome)).toEqual(['retry', 'not-running']);
    expect(h.local.glue.getRun(runId)?.status).toBe('STOPPED');
  });

  it('processes the records of a batch independently: one failure holds back no other record', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'a_mv' });
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'b_mv' });
    h.local.glue.injectFault({
      operation: STOP,
      kind: 'operation-timeout',
      match: (input) => input.TableName === 'b_mv',
    });
    const ok = sqsRecord({ DatabaseName: 'sales', TableName: 'a_mv' });
    const retried = sqsRecord({ DatabaseName: 'sales', TableName: 'b_mv' });
    const invalid = sqsRecord({ TableName: 'c_mv' });
    const wrapped = sqsRecord(stopEvent({ DatabaseName: 'sales', TableName: 'c_mv' }));

    const response = await h.queueHandler(sqsEvent(ok, retried, invalid, wrapped), lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: retried.messageId }]);
    const byMessage = Object.fromEntries(h.outcomes.map((o) => [o.messageId, o.outcome]));
    expect(byMessage).toEqual({
      [ok.messageId]: 'stop-requested',
      [retried.messageId]: 'retry',
      [invalid.messageId]: 'rejected',
      [wrapped.messageId]: 'rejected',
    });
  });
});

describe('SQS handler on messages redriven from the dead-letter queue', () => {
  it('accepts a Lambda on-failure invocation record and stops the event it carries, once', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const event = stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' });
    const invocationRecord = {
      version: '1.0',
      timestamp: '2026-11-29T02:03:00.000Z',
      requestContext: {
        requestId: crypto.randomUUID(),
        functionArn: `arn:aws:lambda:us-east-1:${LOCAL_ACCOUNT_ID}:function:glue-mv-stop-dev-stopFromEvent:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'StopRetryError', errorMessage: 'stop will be retried: glue-throttled' },
    };

    const response = await h.queueHandler(sqsEvent(sqsRecord(invocationRecord)), lambdaContext());
    await h.eventHandler(event, lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(h.outcomes.map((o) => [o.outcome, o.idempotencyKey, o.replayed])).toEqual([
      ['stop-requested', `event:${event.id}`, false],
      ['stop-requested', `event:${event.id}`, true],
    ]);
    expect(h.local.glue.callCount(STOP)).toBe(1);
  });

  it('names the field inside the invocation record when its event is invalid', async () => {
    const record = sqsRecord({ requestContext: {}, requestPayload: stopEvent({ DatabaseName: 'sales' }) });

    await h.queueHandler(sqsEvent(record), lambdaContext());

    expect(h.outcomes).toMatchObject([
      {
        outcome: 'rejected',
        detail: 'requestPayload.detail.TableName: is required (or TableNames, for a scope) (required)',
      },
    ]);
  });
});

describe('SQS handler on scope tasks that did not come from an expansion', () => {
  const task = (overrides: Record<string, unknown>) => ({
    ScopeTask: {
      Kind: 'stop',
      CatalogId: LOCAL_ACCOUNT_ID,
      DatabaseName: 'sales',
      TableNames: ['*'],
      IssuedAt: new Date().toISOString(),
      RootKey: 'key:forged',
      Views: [{ TableName: 'daily_mv', RunId: crypto.randomUUID() }],
      ...overrides,
    },
  });
  const salesDailyOnly = () =>
    h.handlers({
      config: {
        policy: { allow: [{ database: 'sales', tables: ['daily_*'] }], dryRun: false, costGuards: [] },
      },
    });

  it('parks a damaged task as invalid-request, naming the field, without calling Glue', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const body = JSON.stringify(task({ Views: [{ TableName: 'daily_mv', RunId: 'run-1' }] }));

    const response = await h.queueHandler(sqsEvent(sqsRecord(body)), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(h.outcomes).toMatchObject([{ outcome: 'rejected', reason: 'invalid-request' }]);
    const [parked, ...rest] = await h.takeDeadLetters();
    expect(rest).toHaveLength(0);
    expect(parked?.Body).toBe(body);
    expect(parked?.MessageAttributes?.['glue-mv-stop.detail']?.StringValue).toMatch(
      /^ScopeTask\.Views\.0\.RunId: .*\(pattern\)$/,
    );
    expect(h.local.glue.calls).toEqual([]);
    expect(h.local.glue.getRun(runId)?.status).toBe('RUNNING');
  });

  it('refuses a task for a database outside the allow-list as not-allowed, with zero Glue calls', async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'hr', tableName: 'daily_mv' });
    const body = JSON.stringify(
      task({ DatabaseName: 'hr', Views: [{ TableName: 'daily_mv', RunId: runId }] }),
    );

    const response = await salesDailyOnly().queueHandler(sqsEvent(sqsRecord(body)), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    expect(h.outcomes).toMatchObject([
      { outcome: 'not-allowed', reason: 'database-not-allowed', scope: { DatabaseName: 'hr' } },
    ]);
    const parked = await h.takeDeadLetters();
    expect(parked.map((m) => [m.Body, m.MessageAttributes?.['glue-mv-stop.outcome']?.StringValue])).toEqual([
      [body, 'not-allowed'],
    ]);
    expect(h.local.glue.calls).toEqual([]);
    expect(h.local.glue.getRun(runId)?.status).toBe('RUNNING');
  });

  it('leaves a view of the task outside the allow-list alone, and stops the others', async () => {
    const daily = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const secret = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'secret_mv' });
    const body = task({
      IssuedAt: new Date(Date.now() + 1_000).toISOString(),
      Views: [
        { TableName: 'daily_mv', RunId: daily },
        { TableName: 'secret_mv', RunId: secret },
      ],
    });

    await salesDailyOnly().queueHandler(sqsEvent(sqsRecord(body)), lambdaContext());

    expect(h.outcomes.map((o) => [o.outcome, o.target?.TableName])).toEqual([
      ['stop-requested', 'daily_mv'],
      ['expanded', undefined],
    ]);
    expect(h.outcomes.at(-1)?.detail).toContain('1 outside the allow-list left alone');
    expect(h.local.glue.calls.filter((c) => c.operation === STOP).map((c) => c.input.TableName)).toEqual([
      'daily_mv',
    ]);
    expect(h.local.glue.getRun(secret)?.status).toBe('RUNNING');
  });
});
