import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrainTimeoutError, drainQueue, failedMessageIds } from '../../local/event-source.ts';
import { sqsRecord } from '../../local/events.ts';
import { LOCAL_REGION } from '../../local/local-aws.ts';

let fauxqs: FauxqsServer;
let sqs: SQSClient;
let queueSeq = 0;

beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false, defaultRegion: LOCAL_REGION });
  sqs = new SQSClient({
    endpoint: fauxqs.address,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});
afterAll(async () => {
  sqs.destroy();
  await fauxqs.stop();
});

/** A fresh queue per test; fauxqs's virtual-host URL is rewritten to the listening address. */
function createQueue(name: string): { url: string; arn: string } {
  const queue = fauxqs.createQueue(`${name}-${++queueSeq}`);
  return { url: queue.queueUrl.replace(/^https?:\/\/[^/]+/, fauxqs.address), arn: queue.queueArn };
}

async function send(queueUrl: string, bodies: readonly string[]): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.slice(i, i + 10).map((body, j) => ({
          Id: `m${i + j}`,
          MessageBody: body,
          MessageAttributes: { kind: { DataType: 'String', StringValue: 'stop-request' } },
        })),
      }),
    );
  }
}

async function depth(queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fail = (records: readonly SQSRecord[]): SQSBatchResponse => ({
  batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })),
});

// The drains below wait out real visibility timeouts (1 s each), so they run side by side.
describe.concurrent('drainQueue (Lambda SQS event source stand-in over fauxqs)', () => {
  it('delivers every message; a record failed twice comes back twice and is then deleted', async ({
    expect,
  }) => {
    const queue = createQueue('drain');
    const bodies = Array.from({ length: 25 }, (_, i) => `message-${i}`);
    await send(queue.url, bodies);
    const deliveries = new Map<string, SQSRecord[]>();

    const report = await drainQueue({
      queueUrl: queue.url,
      sqsEndpoint: fauxqs.address,
      visibilityTimeoutSeconds: 1,
      idleMs: 200,
      handlerFor: () => async (event: SQSEvent) => {
        for (const r of event.Records) deliveries.set(r.body, [...(deliveries.get(r.body) ?? []), r]);
        return fail(
          event.Records.filter((r) => r.body === 'message-7' && r.attributes.ApproximateReceiveCount !== '3'),
        );
      },
    });

    expect([...deliveries.keys()].sort()).toEqual([...bodies].sort());
    const counts = Object.fromEntries([...deliveries].map(([body, rs]) => [body, rs.length]));
    expect(counts).toEqual(Object.fromEntries(bodies.map((b) => [b, b === 'message-7' ? 3 : 1])));
    expect(deliveries.get('message-7')?.map((r) => r.attributes.ApproximateReceiveCount)).toEqual([
      '1',
      '2',
      '3',
    ]);
    expect(report).toMatchObject({
      recordsDelivered: 27,
      batchItemFailures: 2,
      failedInvocations: 0,
      deadLettered: 0,
    });
    expect(report.invocations).toBeGreaterThanOrEqual(5); // 25 records in batches of at most 10, plus 2 retries
    expect(report.durationMs).toBeGreaterThanOrEqual(2_000); // two visibility timeouts
    expect(await depth(queue.url)).toBe(0);
  });

  it('builds real-shaped SQS records', async ({ expect }) => {
    const queue = createQueue('shape');
    await send(queue.url, ['{"databaseName":"sales","tableName":"mv"}']);
    const events: SQSEvent[] = [];

    await drainQueue({
      queueUrl: queue.url,
      sqsEndpoint: fauxqs.address,
      idleMs: 100,
      handlerFor: () => async (event) => {
        events.push(event);
        return { batchItemFailures: [] };
      },
    });

    expect(events).toHaveLength(1);
    expect(events[0]?.Records[0]).toEqual({
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      body: '{"databaseName":"sales","tableName":"mv"}',
      attributes: expect.objectContaining({
        ApproximateReceiveCount: '1',
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      }),
      messageAttributes: {
        kind: { stringValue: 'stop-request', stringListValues: [], binaryListValues: [], dataType: 'String' },
      },
      md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      eventSource: 'aws:sqs',
      eventSourceARN: queue.arn,
      awsRegion: LOCAL_REGION,
    });
  });

  it('moves a poison message to the dead-letter queue after maxReceiveCount deliveries', async ({
    expect,
  }) => {
    const queue = createQueue('poison');
    const dlq = createQueue('poison-dlq');
    await send(queue.url, ['ok-1', 'poison', 'ok-2']);
    const poisonDeliveries: string[] = [];

    const report = await drainQueue({
      queueUrl: queue.url,
      sqsEndpoint: fauxqs.address,
      deadLetterQueueUrl: dlq.url,
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 3,
      idleMs: 200,
      handlerFor: () => async (event) => {
        const poison = event.Records.filter((r) => r.body === 'poison');
        poisonDeliveries.push(...poison.map((r) => r.attributes.ApproximateReceiveCount));
        return fail(poison);
      },
    });

    expect(poisonDeliveries).toEqual(['1', '2', '3']);
    expect(report).toMatchObject({ recordsDelivered: 5, batchItemFailures: 3, deadLettered: 1 });
    expect(await depth(queue.url)).toBe(0);
    const parked = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlq.url,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(parked.Messages?.map((m) => [m.Body, m.MessageAttributes?.kind?.StringValue])).toEqual([
      ['poison', 'stop-request'],
    ]);
  });

  it('a handler that throws fails its whole batch: nothing is deleted and every record comes back', async ({
    expect,
  }) => {
    const queue = createQueue('throws');
    await send(queue.url, ['a', 'b', 'c']);
    const batches: string[][] = [];

    const report = await drainQueue({
      queueUrl: queue.url,
      sqsEndpoint: fauxqs.address,
      maximumConcurrency: 1,
      visibilityTimeoutSeconds: 1,
      idleMs: 200,
      handlerFor: () => async (event) => {
        batches.push(event.Records.map((r) => `${r.body}#${r.attributes.ApproximateReceiveCount}`));
        if (batches.length === 1) throw new Error('cold start failure');
        return { batchItemFailures: [] };
      },
    });

    expect(batches.flat().sort()).toEqual(['a#1', 'a#2', 'b#1', 'b#2', 'c#1', 'c#2']);
    expect(report).toMatchObject({ failedInvocations: 1, batchItemFailures: batches[0]?.length });
  });

  it('honours maximumConcurrency: at most N invocations overlap, one handler per instance', async ({
    expect,
  }) => {
    const queue = createQueue('concurrency');
    await send(
      queue.url,
      Array.from({ length: 24 }, (_, i) => `m-${i}`),
    );
    const instances: number[] = [];
    let active = 0;
    let maxActive = 0;

    const report = await drainQueue({
      queueUrl: queue.url,
      sqsEndpoint: fauxqs.address,
      batchSize: 2,
      maximumConcurrency: 3,
      idleMs: 100,
      handlerFor: (instance) => {
        instances.push(instance);
        return async () => {
          active += 1;
          maxActive = Math.max(maxActive, active);
          await sleep(40);
          active -= 1;
          return { batchItemFailures: [] };
        };
      },
    });

    expect(instances.sort()).toEqual([0, 1, 2]);
    expect(maxActive).toBe(3);
    expect(report.recordsDelivered).toBe(24);
    expect(report.invocations).toBeGreaterThanOrEqual(12);
  });

  it('rejects with DrainTimeoutError when the queue does not drain in time', async ({ expect }) => {
    const queue = createQueue('stuck');
    await send(queue.url, ['never-succeeds']);

    const started = performance.now();
    const err = await drainQueue({
      queueUrl: queue.url,
      sqsEndpoint: fauxqs.address,
      visibilityTimeoutSeconds: 1,
      maxReceiveCount: 100,
      timeoutMs: 800,
      handlerFor: () => async (event) => fail(event.Records),
    }).catch((e: unknown) => e);

    expect(performance.now() - started).toBeLessThan(1_500);
    expect(err).toBeInstanceOf(DrainTimeoutError);
    expect(err).toMatchObject({ name: 'DrainTimeoutError', report: { recordsDelivered: 1 } });
    expect((err as Error).message).toContain('was not drained within 800 ms (0 visible, 1 in flight');
  });

  it('rejects bad options before touching the queue', async ({ expect }) => {
    await expect(
      drainQueue({
        queueUrl: 'x',
        sqsEndpoint: fauxqs.address,
        batchSize: 11,
        handlerFor: () => async () => ({ batchItemFailures: [] }),
      }),
    ).rejects.toThrow(/batchSize must be an integer in 1\.\.10/);
  });
});

describe('failedMessageIds (reading a batch response as Lambda does)', () => {
  const records = [sqsRecord('a', { messageId: 'id-a' }), sqsRecord('b', { messageId: 'id-b' })];

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an empty object', {}],
    ['an empty list', { batchItemFailures: [] }],
    ['a null list', { batchItemFailures: null }],
  ])('%s means full success', (_label, response) => {
    expect(failedMessageIds(response, records)).toEqual(new Set());
  });

  it('names the reported records', () => {
    expect(failedMessageIds({ batchItemFailures: [{ itemIdentifier: 'id-b' }] }, records)).toEqual(
      new Set(['id-b']),
    );
  });

  it.each([
    ['an empty itemIdentifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null itemIdentifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a wrong key', { batchItemFailures: [{ messageId: 'id-a' }] }],
    ['an id not in the batch', { batchItemFailures: [{ itemIdentifier: 'id-z' }] }],
    ['a list that is not a list', { batchItemFailures: 'id-a' }],
    ['a non-object response', 'ok'],
  ])('%s fails the whole batch', (_label, response) => {
    expect(failedMessageIds(response, records)).toBe('all');
  });
});
