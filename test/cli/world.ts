/**
 * The CLI's tests run it against local AWS: the Glue and EventBridge emulators, fauxqs, and a stand-in for
 * CloudFormation that knows the stack of stage `local` (its outputs point at the local queues). The SDK
 * reaches them through `AWS_ENDPOINT_URL_*`, exported into this process, as a user's environment would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { LOCAL_ACCOUNT_ID, type LocalAws, startLocalAws } from '../../local/local-aws.ts';
import { projectRoot } from '../../scripts/build.ts';
import { captureIo } from '../../src/cli/io.ts';
import { run } from '../../src/cli/run.ts';
import { type FakeCloudFormation, startFakeCloudFormation } from './fake-cloudformation.ts';

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export interface CliWorld {
  readonly local: LocalAws;
  readonly cloudFormation: FakeCloudFormation;
  readonly sqs: SQSClient;
  /** A folder of its own, for files the tests write. */
  readonly dir: string;
  /** Runs the CLI in process, in the project folder (where config/local.json is) unless told otherwise. */
  cli(
    argv: readonly string[],
    options?: { cwd?: string; stdin?: string; tty?: boolean; now?: Date },
  ): Promise<CliResult>;
  /** Receives and deletes every message of a queue. */
  drain(queueUrl: string): Promise<Message[]>;
  /** Every message of a queue, each made visible again right after: what a reader finds now. */
  peek(queueUrl: string): Promise<Message[]>;
  close(): Promise<void>;
}

export const STAGE = 'local';

async function* chunksOf(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

export const startCliWorld = async (): Promise<CliWorld> => {
  const local = await startLocalAws();
  const cloudFormation = await startFakeCloudFormation();
  process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = cloudFormation.url;
  cloudFormation.stacks.set(`glue-mv-stop-${STAGE}`, {
    StopQueueUrl: local.stopQueueUrl,
    StopQueueArn: `arn:aws:sqs:us-east-1:${LOCAL_ACCOUNT_ID}:glue-mv-stop-requests`,
    DeadLetterQueueUrl: local.deadLetterQueueUrl,
    DeadLetterQueueArn: `arn:aws:sqs:us-east-1:${LOCAL_ACCOUNT_ID}:glue-mv-stop-dead-letter`,
    StopEventRuleArn: `arn:aws:events:us-east-1:${LOCAL_ACCOUNT_ID}:rule/glue-mv-stop-${STAGE}-stop`,
  });
  const sqs = new SQSClient({});
  const dir = await mkdtemp(path.join(tmpdir(), 'glue-mv-stop-cli-'));
  const receiveAll = async (queueUrl: string, visibility: number): Promise<Message[]> => {
    const all: Message[] = [];
    const seen = new Set<string>();
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: visibility,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      const fresh = Messages.filter((m) => !seen.has(m.MessageId ?? ''));
      if (fresh.length === 0) return all;
      for (const m of fresh) seen.add(m.MessageId ?? '');
      all.push(...fresh);
    }
  };
  return {
    local,
    cloudFormation,
    sqs,
    dir,
    async cli(argv, options = {}) {
      const io = captureIo({
        cwd: options.cwd ?? projectRoot,
        ...(options.tty !== undefined ? { tty: options.tty } : {}),
        ...(options.now !== undefined ? { now: () => options.now as Date } : {}),
        ...(options.stdin !== undefined ? { stdin: chunksOf(options.stdin) } : {}),
      });
      const code = await run(argv, io);
      return { code, out: io.out(), err: io.err() };
    },
    async drain(queueUrl) {
      const messages = await receiveAll(queueUrl, 60);
      for (let i = 0; i < messages.length; i += 10) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages
              .slice(i, i + 10)
              .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
        );
      }
      return messages;
    },
    async peek(queueUrl) {
      const messages = await receiveAll(queueUrl, 30);
      for (let i = 0; i < messages.length; i += 10) {
        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages
              .slice(i, i + 10)
              .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle ?? '', VisibilityTimeout: 0 })),
          }),
        );
      }
      return messages;
    },
    async close() {
      sqs.destroy();
      await cloudFormation.close();
      await local.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};
