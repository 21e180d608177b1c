import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sqsEvent, sqsRecord, stopEvent } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { createViewLedger, viewItemId } from '../../src/adapters/view-ledger.ts';
import { FINISH_RESERVE_MS } from '../../src/runtime/budget.ts';
import { createAwsClients } from '../../src/runtime/clients.ts';
import { reasonOf } from '../../src/stop/outcome.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const STOP = 'StopMaterializedViewRefreshTaskRun';
let h: Harness;
let dynamoDb: DynamoDBClient;
const deniedDatabases = new Set(['restricted']);

beforeAll(async () => {
  h = await startHarness({ glue: { deny: (request) => deniedDatabases.has(request.databaseName ?? '') } });
  dynamoDb = new DynamoDBClient({ endpoint: h.local.dynamoDbEndpoint });
});
afterAll(async () => {
  dynamoDb?.destroy();
  await h?.close();
});
beforeEach(async () => {
  h.local.glue.reset();
  h.outcomes.length = 0;
  await h.takeDeadLetters();
});

const idempotencyRecords = async () => {
  const { Items = [] } = await dynamoDb.send(
    new ScanCommand({ TableName: h.local.config.idempotencyTableName }),
  );
  return Items;
};

describe('idempotency over a real local DynamoDB', () => {
  it('answers a replay after completion from the record, without calling Glue', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const record = sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' });

    await h.queueHandler(sqsEvent(record), lambdaContext());
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' }); // a new run starts meanwhile
    const replay = await h.queueHandler(sqsEvent(record), lambdaContext());

    expect(replay.batchItemFailures).toEqual([]);
    expect(h.local.glue.callCount(STOP)).toBe(1);
    expect(h.outcomes.map((o) => [o.outcome, o.replayed])).toEqual([
      ['stop-requested', false],
      ['stop-requested', true],
    ]);
  });

  it('keys on the producer IdempotencyKey across messages and triggers', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const request = {
      DatabaseName: 'sales',
      TableName: 'daily_mv',
      IdempotencyKey: `nightly-${crypto.randomUUID()}`,
    };

    await h.queueHandler(sqsEvent(sqsRecord(request)), lambdaContext());
    await h.queueHandler(sqsEvent(sqsRecord(request)), lambdaContext());
    await h.eventHandler(stopEvent(request), lambdaContext());

    expect(h.local.glue.callCount(STOP)).toBe(1);
    expect(h.outcomes.map((o) => o.replayed)).toEqual([false, true, true]);
  });

  it('treats one EventBridge event delivered directly and through the queue as one request', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const event = stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' });

    await h.eventHandler(event, lambdaContext());
    await h.queueHandler(sqsEvent(sqsRecord(event)), lambdaContext());

    expect(h.local.glue.callCount(STOP)).toBe(1);
    expect(h.outcomes.map((o) => o.idempotencyKey)).toEqual([`event:${event.id}`, `event:${event.id}`]);
  });

  it('rejects a reused key with a different target instead of answering with the first result', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'weekly_mv' });
    const IdempotencyKey = `reused-${crypto.randomUUID()}`;

    await h.queueHandler(
      sqsEvent(sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv', IdempotencyKey })),
      lambdaContext(),
    );
    const second = await h.queueHandler(
      sqsEvent(sqsRecord({ DatabaseName: 'sales', TableName: 'weekly_mv', IdempotencyKey })),
      lambdaContext(),
    );

    expect(second.batchItemFailures).toEqual([]);
    expect(h.local.glue.callCount(STOP)).toBe(1);
    expect(h.outcomes[1]).toMatchObject({ outcome: 'rejected', reason: 'idempotency-key-reused' });
    const parked = await h.takeDeadLetters();
    expect(parked.map((m) => m.MessageAttributes?.['glue-mv-stop.reason']?.StringValue)).toEqual([
      'idempotency-key-reused',
    ]);
  });

  it('lets two concurrent duplicates make exactly one Glue call; the other is retried', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.setLatency(300);
    const record = sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' });

    const [a, b] = await Promise.all([
      h.queueHandler(sqsEvent(record), lambdaContext()),
      h.queueHandler(sqsEvent({ ...record, receiptHandle: 'another-delivery' }), lambdaContext()),
    ]);

    expect(h.local.glue.callCount(STOP)).toBe(1);
    expect([...a.batchItemFailures, ...b.batchItemFailures]).toEqual([{ itemIdentifier: record.messageId }]);
    expect(h.outcomes.map((o) => `${o.outcome}:${reasonOf(o) ?? ''}`).sort()).toEqual([
      'retry:duplicate-in-progress',
      'stop-requested:',
    ]);
  });

  it('makes no Glue call and retries when the idempotency store is unreachable', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const clients = createAwsClients();
    const unreachable = {
      ...clients,
      dynamoDb: new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 2 }),
    };
    const { queueHandler } = h.handlers({ clients: unreachable });
    const record = sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' });

    const response = await queueHandler(sqsEvent(record), lambdaContext());

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(h.local.glue.callCount()).toBe(0);
    expect(h.outcomes).toMatchObject([{ outcome: 'retry', reason: 'idempotency-store-unavailable' }]);
  });

  it('keeps no record for a refused stop, so a redrive after the fix proceeds', async () => {
    h.local.glue.seedRun({ databaseName: 'restricted', tableName: 'salaries_mv' });
    const request = {
      DatabaseName: 'restricted',
      TableName: 'salaries_mv',
      IdempotencyKey: `fix-${crypto.randomUUID()}`,
    };
    await h.queueHandler(sqsEvent(sqsRecord(request)), lambdaContext());
    const [parked] = await h.takeDeadLetters();

    deniedDatabases.delete('restricted'); // the operator grants the missing permission...
    try {
      const redrive = await h.queueHandler(sqsEvent(sqsRecord(parked?.Body ?? '')), lambdaContext()); // ...and redrives

      expect(redrive.batchItemFailures).toEqual([]);
      expect(h.outcomes.map((o) => `${o.outcome}:${reasonOf(o) ?? ''}`)).toEqual([
        'rejected:glue-access-denied',
        'stop-requested:',
      ]);
      expect(h.local.glue.callCount(STOP)).toBe(2);
    } finally {
      deniedDatabases.add('restricted');
    }
  });

  it('writes the configured expiry on completed records', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const { queueHandler } = h.handlers({ config: { idempotencyExpirySeconds: 600 } });
    const before = Math.floor(Date.now() / 1000);

    await queueHandler(
      sqsEvent(sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv', IdempotencyKey: 'expiry-check' })),
      lambdaContext(),
    );

    const after = Math.ceil(Date.now() / 1000);
    // Other tests' records carry the harness default of 3600 s; only this one can fall in the window.
    const expiring = (await idempotencyRecords()).filter((item) => {
      const expiration = Number(item.expiration?.N);
      return expiration >= before + 600 && expiration <= after + 600;
    });
    expect(expiring.map((item) => item.status?.S)).toEqual(['COMPLETED']);
  });
});

describe('a function that dies mid-call', () => {
  it('leaves an in-progress record that expires with the remaining time, then the redelivery proceeds', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.injectFault({ operation: STOP, kind: 'hang' });
    const record = sqsRecord({
      DatabaseName: 'sales',
      TableName: 'daily_mv',
      IdempotencyKey: `crash-${crypto.randomUUID()}`,
    });
    // Enough for the stop to start: the runtime keeps FINISH_RESERVE_MS of the remaining time back.
    const remainingMs = FINISH_RESERVE_MS + 1500;

    // 1. A real function process starts the stop and is killed while Glue has not answered.
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/invoke-stop-queue.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          ...h.local.env,
          GLUE_MV_STOP_EVENT: JSON.stringify(sqsEvent(record)),
          GLUE_MV_STOP_REMAINING_MS: String(remainingMs),
        },
        stdio: 'ignore',
      },
    );
    const killedAt = await new Promise<number>((resolve, reject) => {
      const poll = setInterval(() => {
        if (h.local.glue.callCount(STOP) === 1) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve(Date.now());
        }
      }, 10);
      child.on('error', reject);
      setTimeout(() => reject(new Error('the child never called Glue')), 15_000);
    });
    await new Promise((resolve) => child.on('exit', resolve));

    // 2. The record it left is INPROGRESS and expires with the invocation's remaining time.
    const [inProgress] = (await idempotencyRecords()).filter((item) => item.status?.S === 'INPROGRESS');
    const inProgressExpiry = Number(inProgress?.in_progress_expiration?.N);
    expect(inProgressExpiry).toBeGreaterThan(killedAt - 15_000);
    expect(inProgressExpiry).toBeLessThanOrEqual(killedAt + remainingMs);

    // 3. A redelivery before that time is retried; one after it proceeds and stops the refresh.
    const early = await h.queueHandler(sqsEvent(record), lambdaContext());
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, inProgressExpiry - Date.now()) + 50));
    const late = await h.queueHandler(sqsEvent(record), lambdaContext());

    expect(early.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(late.batchItemFailures).toEqual([]);
    expect(h.outcomes.map((o) => o.outcome)).toEqual(['retry', 'stop-requested']);
    expect(h.local.glue.callCount(STOP)).toBe(2);
  });
});

describe('the view ledger over a real local DynamoDB', () => {
  const ledgerAt = (nowMs: number) =>
    createViewLedger({
      dynamoDb,
      tableName: h.local.config.idempotencyTableName,
      expiresAfterSeconds: 3_600,
      now: () => nowMs,
    });
  const result = (n: number) => ({
    result: 'stop-requested' as const,
    decidedAt: '2026-12-02T10:00:00.000Z',
    runId: `run-${n}`,
  });

  it('reads back what it wrote, across the batch limits of both calls (100 keys, 25 items)', async () => {
    const ledger = ledgerAt(Date.now());
    const keys = Array.from({ length: 150 }, (_, i) => `key:scope-ledger-${crypto.randomUUID()}-${i}`);
    // Every other key written, one of them twice in the call (the later record wins).
    const written = keys.filter((_, i) => i % 2 === 0).map((key, i) => ({ key, result: result(i) }));
    await ledger.write([...written, { key: written[0]?.key ?? '', result: result(999) }]);

    const read = await ledger.read(keys);

    expect(read.size).toBe(75);
    expect(read.get(keys[0] ?? '')).toEqual(result(999));
    expect(read.get(keys[2] ?? '')).toEqual(result(1));
    expect(read.has(keys[1] ?? '')).toBe(false);
  });

  it('keeps its items apart from the idempotency records, with the TTL attribute, and reads an expired one as none', async () => {
    const key = `key:scope-ledger-${crypto.randomUUID()}`;
    const writtenAt = Date.parse('2026-12-02T10:00:00.000Z');
    await ledgerAt(writtenAt).write([{ key, result: result(1) }]);

    const item = (await idempotencyRecords()).find((i) => i.id?.S === viewItemId(key));
    expect(item?.id?.S).toMatch(/^glue-mv-stop#view#[0-9a-f]{64}$/);
    expect(item?.expiration?.N).toBe(String(writtenAt / 1000 + 3_600));
    expect((await ledgerAt(writtenAt + 3_599_000).read([key])).size).toBe(1);
    expect((await ledgerAt(writtenAt + 3_600_000).read([key])).size).toBe(0);
  });

  it('fails as a retry (idempotency-store-unavailable) when the table cannot be reached', async () => {
    const ledger = createViewLedger({ dynamoDb, tableName: 'no-such-table', expiresAfterSeconds: 60 });
    await expect(ledger.read(['k'])).rejects.toMatchObject({
      failure: { kind: 'retry', reason: 'idempotency-store-unavailable' },
    });
    await expect(ledger.write([{ key: 'k', result: result(1) }])).rejects.toMatchObject({
      failure: { kind: 'retry', reason: 'idempotency-store-unavailable' },
    });
  });
});
