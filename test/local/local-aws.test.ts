import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../../local/local-aws.ts';

let local: LocalAws;
let sqs: SQSClient;
beforeAll(async () => {
  local = await startLocalAws({ exportEnv: false });
  sqs = new SQSClient({
    endpoint: local.sqsEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});
afterAll(async () => {
  sqs?.destroy();
  await local?.close();
});

describe('local SQS (fauxqs)', () => {
  it('takes the characters SQS takes, astral ones included, and gives them back unchanged', async () => {
    const body = JSON.stringify({
      DatabaseName: 'sales',
      TableName: 'daily_\u{1F600}_mv',
      Reason: '\u{10FFFF}',
    });

    await sqs.send(new SendMessageCommand({ QueueUrl: local.stopQueueUrl, MessageBody: body }));
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: local.stopQueueUrl, WaitTimeSeconds: 0 }),
    );

    expect(Messages.map((m) => m.Body)).toEqual([body]);
  });

  it('still refuses what SQS refuses (U+FFFF)', async () => {
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: local.stopQueueUrl, MessageBody: 'nope \uFFFF' })),
    ).rejects.toThrow();
  });
});
