/**
 * `dlq list | show | redrive` in process against fauxqs, over every kind of message the dead-letter queue
 * holds: requests the stack parked (plain, encoded, cut), Lambda invocation records, events a rule could
 * not deliver, and messages the stop queue gave up on.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDeadLetterParker } from '../../src/adapters/dead-letter-parker.ts';
import { type CliWorld, STAGE, startCliWorld } from './world.ts';

let world: CliWorld;

beforeAll(async () => {
  world = await startCliWorld();
});
afterAll(async () => {
  await world.close();
});

const ACCESS_DENIED = JSON.stringify({
  DatabaseName: 'sales',
  TableName: 'orders_mv',
  RequestedBy: 'billing',
});
const TYPO = '{"DatabaseName":"sales","Tablename":"orders_mv"}';
const NONCHARACTER = '{"DatabaseName":"hr","TableName":"pay\uffff"}';
const ALARM_EVENT = {
  version: '0',
  id: 'alarm-event-1',
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  time: '2026-12-01T02:00:00Z',
  detail: {
    alarmName: 'sales-glue-dpu-spend',
    state: { value: 'ALARM', timestamp: '2026-12-01T02:00:00.000+0000' },
    previousState: { value: 'OK' },
  },
};
const INVOCATION_RECORD = JSON.stringify({
  version: '1.0',
  timestamp: '2026-12-01T02:05:00.000Z',
  requestContext: {
    requestId: 'req-1',
    functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:glue-mv-stop-local-stopFromAlarm:$LATEST',
    condition: 'RetriesExhausted',
    approximateInvokeCount: 3,
  },
  requestPayload: ALARM_EVENT,
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: { errorType: 'StopError', errorMessage: 'could not queue every derived stop request' },
});
const STOP_EVENT = JSON.stringify({
  version: '0',
  id: 'stop-event-1',
  source: 'glue-mv-stop',
  'detail-type': 'Stop Materialized View Refresh',
  detail: { DatabaseName: 'marketing', TableName: 'campaign_spring' },
});
const GAVE_UP = JSON.stringify({ DatabaseName: 'finance', TableNames: ['risk_*'] });

/** Fills the dead-letter queue with one message of each kind; answers the bodies by a short name. */
const fillDeadLetterQueue = async () => {
  const url = world.local.deadLetterQueueUrl;
  const parker = createDeadLetterParker(world.sqs, url);
  await parker.park({
    original: ACCESS_DENIED,
    trigger: 'sqs',
    outcome: 'rejected',
    reason: 'glue-access-denied',
    detail: 'User is not authorized to perform: glue:StopMaterializedViewRefreshTaskRun',
    messageId: 'm-1',
    idempotencyKey: 'message:m-1',
  });
  await parker.park({
    original: TYPO,
    trigger: 'sqs',
    outcome: 'rejected',
    reason: 'invalid-request',
    detail: 'Tablename: is not a field of the stop request (unknown-field)',
  });
  await parker.park({
    original: NONCHARACTER,
    trigger: 'eventbridge',
    outcome: 'not-allowed',
    reason: 'database-not-allowed',
    detail: 'database hr is not in the allow-list',
  });
  // A body the parker had to cut (the original was over SQS's 1 MiB); written directly, as the parker does.
  await world.sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: '{"DatabaseName":"sales","TableName":"big_mv","Reason":"xxxxxxxx',
      MessageAttributes: {
        'glue-mv-stop.outcome': { DataType: 'String', StringValue: 'rejected' },
        'glue-mv-stop.reason': { DataType: 'String', StringValue: 'invalid-request' },
        'glue-mv-stop.trigger': { DataType: 'String', StringValue: 'sqs' },
        'glue-mv-stop.detail': { DataType: 'String', StringValue: 'Reason: must be at most 1024 characters' },
        'glue-mv-stop.body': {
          DataType: 'String',
          StringValue: `truncated; bytes=2000000; sha256=${'a'.repeat(64)}`,
        },
      },
    }),
  );
  await world.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: INVOCATION_RECORD }));
  await world.sqs.send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: STOP_EVENT,
      MessageAttributes: {
        ERROR_CODE: { DataType: 'String', StringValue: 'Lambda.TooManyRequestsException' },
        ERROR_MESSAGE: { DataType: 'String', StringValue: 'Rate exceeded' },
        RULE_ARN: {
          DataType: 'String',
          StringValue: 'arn:aws:events:us-east-1:123456789012:rule/glue-mv-stop-local-stop',
        },
      },
    }),
  );
  await world.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: GAVE_UP }));
};

interface Listed {
  messageId: string;
  kind: string;
  outcome: string;
  reason: string;
  trigger: string;
  target: string;
  redrive: 'send' | 'keep';
}

const listJson = async (...extra: string[]) => {
  const { code, out, err } = await world.cli(['dlq', 'list', '--stage', STAGE, '--json', ...extra]);
  expect(code, err).toBe(0);
  return JSON.parse(out) as { read: number; matched: number; groups: unknown[]; messages: Listed[] };
};

const idOf = async (reason: string) => {
  const { messages } = await listJson('--reason', reason);
  const id = messages[0]?.messageId;
  if (!id) throw new Error(`no message with reason ${reason}`);
  return id;
};

beforeEach(async () => {
  await world.drain(world.local.deadLetterQueueUrl);
  await world.drain(world.local.stopQueueUrl);
  await fillDeadLetterQueue();
});

describe('dlq list', () => {
  it('groups the messages by outcome, reason, trigger and target, and tells each kind apart', async () => {
    const json = await listJson();

    expect(json.read).toBe(7);
    const byReason = Object.fromEntries(json.messages.map((m) => [m.reason, m]));
    expect(byReason['glue-access-denied']).toMatchObject({
      kind: 'parked',
      outcome: 'rejected',
      trigger: 'sqs',
      target: 'sales.orders_mv',
      redrive: 'send',
    });
    expect(byReason['database-not-allowed']).toMatchObject({
      kind: 'parked',
      outcome: 'not-allowed',
      trigger: 'eventbridge',
      target: 'hr.pay\\uffff',
      redrive: 'keep',
    });
    expect(byReason.RetriesExhausted).toMatchObject({
      kind: 'invocation-record',
      outcome: 'failed-invocation',
      trigger: 'alarm',
      target: 'alarm:sales-glue-dpu-spend',
      redrive: 'send',
    });
    expect(byReason['Lambda.TooManyRequestsException']).toMatchObject({
      kind: 'undelivered-event',
      outcome: 'undelivered',
      trigger: 'eventbridge',
      target: 'marketing.campaign_spring',
      redrive: 'send',
    });
    expect(byReason['max-receive-count']).toMatchObject({
      kind: 'stop-queue-give-up',
      outcome: 'gave-up',
      trigger: 'sqs',
      target: 'finance.{risk_*}',
      redrive: 'send',
    });
    expect(json.messages.filter((m) => m.reason === 'invalid-request').map((m) => m.redrive)).toEqual([
      'keep',
      'keep',
    ]);
  });

  it('prints a table of groups, and one line per message with --messages', async () => {
    const groups = await world.cli(['dlq', 'list', '--stage', STAGE]);
    const messages = await world.cli(['dlq', 'list', '--stage', STAGE, '--messages']);

    expect(groups.out).toMatch(/COUNT\s+OUTCOME\s+REASON\s+TRIGGER\s+TARGET\s+OLDEST/);
    expect(groups.out).toMatch(/1\s+rejected\s+invalid-request\s+sqs\s+sales\.\?/);
    expect(groups.out).toMatch(/1\s+rejected\s+invalid-request\s+sqs\s+sales\.big_mv/);
    expect(groups.out).toContain('7 messages in 7 groups');
    expect(messages.out).toMatch(/MESSAGE ID\s+AGE\s+OUTCOME\s+REASON\s+TRIGGER\s+TARGET\s+REDRIVE/);
    expect(messages.out.trimEnd().split('\n')).toHaveLength(8);
  });

  it('hands every message back at once: all of them are visible to others when it ends', async () => {
    await listJson();
    await world.cli(['dlq', 'list', '--stage', STAGE, '--messages']);

    expect(await world.peek(world.local.deadLetterQueueUrl)).toHaveLength(7);
  });

  it('filters by reason, target glob, trigger and age', async () => {
    expect((await listJson('--reason', 'invalid-request,glue-access-denied')).matched).toBe(3);
    expect((await listJson('--target', 'sales.*')).matched).toBe(3);
    expect((await listJson('--trigger', 'alarm')).matched).toBe(1);
    expect((await listJson('--older-than', '2h')).matched).toBe(0);

    const later = await world.cli(['dlq', 'list', '--stage', STAGE, '--json', '--older-than', '2h'], {
      now: new Date(Date.now() + 3 * 3_600_000),
    });
    expect(JSON.parse(later.out).matched).toBe(7);
  });
});

describe('dlq show', () => {
  it('shows a parked message whole, its original body restored', async () => {
    const id = await idOf('database-not-allowed');

    const { code, out } = await world.cli(['dlq', 'show', '--stage', STAGE, id]);

    expect(code).toBe(0);
    expect(out).toMatch(/^message\s+\S+\nkind\s+parked: refused by the stack/);
    expect(out).toMatch(/reason\s+database-not-allowed/);
    expect(out).toMatch(/redrive\s+no: the original holds characters SQS refuses/);
    expect(out).toContain('  glue-mv-stop.body = json-string');
    expect(out).toContain('original (restored):\n{\n  "DatabaseName": "hr",\n  "TableName": "pay\uffff"\n}');
    expect(await world.peek(world.local.deadLetterQueueUrl)).toHaveLength(7);
  });

  it('shows an invocation record with the event inside it, as JSON', async () => {
    const id = await idOf('RetriesExhausted');

    const { code, out } = await world.cli(['dlq', 'show', '--stage', STAGE, id, '--json']);

    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json).toMatchObject({
      kind: 'invocation-record',
      detail: 'StopError: could not queue every derived stop request',
      redrive: { kind: 'send', body: INVOCATION_RECORD },
    });
    expect(JSON.parse(json.original).requestPayload).toEqual(ALARM_EVENT);
  });

  it('says in one line when the message is not there (exit 1)', async () => {
    const { code, err } = await world.cli(['dlq', 'show', '--stage', STAGE, 'no-such-id']);

    expect(code).toBe(1);
    expect(err).toBe('error: message no-such-id is not in the dead-letter queue (read 7 messages)\n');
    expect(await world.peek(world.local.deadLetterQueueUrl)).toHaveLength(7);
  });
});

describe('dlq redrive', () => {
  it('changes nothing with --dry-run', async () => {
    const { code, out } = await world.cli(['dlq', 'redrive', '--stage', STAGE, '--dry-run']);

    expect(code).toBe(0);
    expect(out).toContain('would move 4 messages:');
    expect(out).toMatch(/would keep \S+: an invalid request is refused again/);
    expect(out).toMatch(/would keep \S+: the original was cut to fit SQS \(2000000 bytes/);
    expect(out).toContain('dry run: nothing changed');
    expect(await world.peek(world.local.deadLetterQueueUrl)).toHaveLength(7);
    expect(await world.peek(world.local.stopQueueUrl)).toHaveLength(0);
  });

  it('moves what matches: the restored original to the stop queue, then deletes it from the dead-letter queue', async () => {
    const { code, out } = await world.cli([
      'dlq',
      'redrive',
      '--stage',
      STAGE,
      '--reason',
      'glue-access-denied',
    ]);

    expect(code).toBe(0);
    expect(out).toBe('moved 1 of 1 message to the stop queue; 6 not matched\n');
    const moved = await world.drain(world.local.stopQueueUrl);
    expect(moved.map((m) => m.Body)).toEqual([ACCESS_DENIED]);
    // The parker's attributes stay behind: the stop queue gets the request as its producer sent it.
    expect(moved[0]?.MessageAttributes).toBeUndefined();
    const left = await world.peek(world.local.deadLetterQueueUrl);
    expect(left).toHaveLength(6);
    expect(left.map((m) => m.Body)).not.toContain(ACCESS_DENIED);
  });

  it('moves every kind the stop queue reads as it is, and keeps what cannot succeed as it is', async () => {
    const { code, out, err } = await world.cli(['dlq', 'redrive', '--stage', STAGE, '--json']);

    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json).toMatchObject({ moved: 4, deleted: 0, kept: 3, failed: 0, unmatched: 0 });
    const bodies = (await world.drain(world.local.stopQueueUrl)).map((m) => m.Body).sort();
    expect(bodies).toEqual([ACCESS_DENIED, GAVE_UP, INVOCATION_RECORD, STOP_EVENT].sort());
    expect(err.match(/^kept /gm)).toHaveLength(3);
    expect(await world.peek(world.local.deadLetterQueueUrl)).toHaveLength(3);
  });

  it('deletes what must not be redriven with --delete', async () => {
    const { code, out } = await world.cli([
      'dlq',
      'redrive',
      '--stage',
      STAGE,
      '--reason',
      'invalid-request',
      '--delete',
    ]);

    expect(code).toBe(0);
    expect(out).toBe('deleted 2 of 2 messages; 5 not matched\n');
    const left = await world.peek(world.local.deadLetterQueueUrl);
    expect(left).toHaveLength(5);
    expect(await world.peek(world.local.stopQueueUrl)).toHaveLength(0);
  });

  it('filters by target glob and age', async () => {
    const young = await world.cli([
      'dlq',
      'redrive',
      '--stage',
      STAGE,
      '--target',
      'sales.*',
      '--older-than',
      '1h',
    ]);
    const all = await world.cli(
      ['dlq', 'redrive', '--stage', STAGE, '--target', 'marketing.*', '--older-than', '1h'],
      {
        now: new Date(Date.now() + 2 * 3_600_000),
      },
    );

    expect(young.out).toBe('moved 0 of 0 messages to the stop queue; 7 not matched\n');
    expect(all.out).toBe('moved 1 of 1 message to the stop queue; 6 not matched\n');
    expect((await world.drain(world.local.stopQueueUrl)).map((m) => m.Body)).toEqual([STOP_EVENT]);
  });

  it('deletes nothing it could not send, and hands every message back (exit 1)', async () => {
    const missingQueue = world.local.stopQueueUrl.replace(/[^/]+$/, 'no-such-queue');

    const { code, err } = await world.cli([
      'dlq',
      'redrive',
      '--stage',
      STAGE,
      '--queue-url',
      missingQueue,
      '--reason',
      'glue-access-denied,RetriesExhausted',
    ]);

    expect(code).toBe(1);
    expect(err.match(/^not moved: \S+: /gm)).toHaveLength(2);
    expect(err).not.toMatch(/\n\s+at /);
    expect(await world.peek(world.local.deadLetterQueueUrl)).toHaveLength(7);
  });
});
