/**
 * SQS adapter: sends what a scope hands on (the scope itself, its expansion's tasks, exact requests, tasks
 * handed on unstarted) to the stop queue, ten per SendMessageBatch, and sends again the entries a batch
 * reports as failed. Messages enqueued by several callers in the same turn of the event loop (the records
 * of one batch handing on their tasks side by side) go out together, so ten hand-ons cost one request. A
 * caller whose messages still fail after the last attempt gets a retry StopError for its own messages only
 * (the requests already sent carry derived idempotency keys, so sending them twice stops nothing twice).
 */
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { StopError } from '../stop/errors.ts';
import type { QueuedMessage, StopRequestQueue } from '../stop/ports.ts';

const BATCH_SIZE = 10;
const PARALLEL_BATCHES = 4;
const ATTEMPTS = 3;

export interface StopRequestQueueOptions {
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Sends one batch, again for its failed entries; the Ids still failing after the last attempt, and why. */
const sendBatch = async (
  sqs: SQSClient,
  queueUrl: string,
  entries: readonly SendMessageBatchRequestEntry[],
  sleep: (ms: number) => Promise<void>,
): Promise<{ readonly failed: ReadonlySet<string | undefined>; readonly lastError: string }> => {
  let pending = [...entries];
  let lastError = '';
  for (let attempt = 1; attempt <= ATTEMPTS && pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(100 * 2 ** (attempt - 2));
    try {
      const { Failed = [] } = await sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }),
      );
      const failed = new Set(Failed.map((f) => f.Id));
      lastError = Failed.map((f) => `${f.Code}: ${f.Message ?? ''}`).join('; ');
      // Sender faults (a malformed entry) will not succeed on a second try either; still, retrying is harmless.
      pending = pending.filter((entry) => failed.has(entry.Id));
    } catch (error) {
      lastError = String(error);
    }
  }
  return { failed: new Set(pending.map((entry) => entry.Id)), lastError };
};

/** One message waiting for the next send; `settle` gets why it was not sent, or undefined. */
interface Waiting {
  readonly body: string;
  readonly settle: (problem: string | undefined) => void;
}

export const createStopRequestQueue = (
  sqs: SQSClient,
  queueUrl: string,
  options: StopRequestQueueOptions = {},
): StopRequestQueue => {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let waiting: Waiting[] = [];

  const flush = async (): Promise<void> => {
    const messages = waiting;
    waiting = [];
    const batches: { entries: SendMessageBatchRequestEntry[]; messages: Waiting[] }[] = [];
    for (let i = 0; i < messages.length; i += BATCH_SIZE) {
      const slice = messages.slice(i, i + BATCH_SIZE);
      batches.push({
        messages: slice,
        entries: slice.map((message, j) => ({ Id: String(i + j), MessageBody: message.body })),
      });
    }
    for (let i = 0; i < batches.length; i += PARALLEL_BATCHES) {
      await Promise.all(
        batches.slice(i, i + PARALLEL_BATCHES).map(async (batch) => {
          const { failed, lastError } = await sendBatch(sqs, queueUrl, batch.entries, sleep);
          batch.entries.forEach((entry, j) => {
            batch.messages[j]?.settle(failed.has(entry.Id) ? lastError : undefined);
          });
        }),
      );
    }
  };

  return {
    async enqueue(requests: readonly QueuedMessage[]): Promise<void> {
      if (requests.length === 0) return;
      const first = waiting.length === 0;
      const results = requests.map(
        (request) =>
          new Promise<string | undefined>((settle) => {
            waiting.push({ body: JSON.stringify(request), settle });
          }),
      );
      // The first caller of this turn sends for everyone who enqueues before the turn ends.
      if (first) setImmediate(() => void flush());
      const problems = (await Promise.all(results)).filter((problem) => problem !== undefined);
      if (problems.length > 0) {
        throw StopError.retry(
          'fan-out-incomplete',
          `could not queue every message of the fan-out: ${problems.length} of ${requests.length} not sent (${problems.at(-1)})`,
        );
      }
    },
    async waiting(): Promise<number> {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      const count = Number(Attributes.ApproximateNumberOfMessages);
      if (!Number.isFinite(count))
        throw new Error('GetQueueAttributes answered no ApproximateNumberOfMessages');
      return count;
    },
  };
};
