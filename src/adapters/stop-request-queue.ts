/**
 * SQS adapter: sends what a scope hands on (the scope itself, its expansion's tasks, exact requests) to
 * the stop queue, ten per SendMessageBatch, and sends again the entries a batch reports as failed. What still fails after the
 * last attempt makes the expansion fail as a whole (and be retried: the requests already sent carry
 * derived idempotency keys, so sending them twice stops nothing twice).
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

const sendBatch = async (
  sqs: SQSClient,
  queueUrl: string,
  entries: readonly SendMessageBatchRequestEntry[],
  sleep: (ms: number) => Promise<void>,
): Promise<string[]> => {
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
  return pending.length === 0 ? [] : [`${pending.length} of ${entries.length} not sent (${lastError})`];
};

export const createStopRequestQueue = (
  sqs: SQSClient,
  queueUrl: string,
  options: StopRequestQueueOptions = {},
): StopRequestQueue => {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  return {
    async enqueue(requests: readonly QueuedMessage[]): Promise<void> {
      const batches: SendMessageBatchRequestEntry[][] = [];
      for (let i = 0; i < requests.length; i += BATCH_SIZE) {
        batches.push(
          requests
            .slice(i, i + BATCH_SIZE)
            .map((request, j) => ({ Id: String(i + j), MessageBody: JSON.stringify(request) })),
        );
      }
      const problems: string[] = [];
      for (let i = 0; i < batches.length; i += PARALLEL_BATCHES) {
        const results = await Promise.all(
          batches.slice(i, i + PARALLEL_BATCHES).map((batch) => sendBatch(sqs, queueUrl, batch, sleep)),
        );
        problems.push(...results.flat());
      }
      if (problems.length > 0) {
        throw StopError.retry(
          'fan-out-incomplete',
          `could not queue every message of the fan-out: ${problems.join('; ')}`,
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
