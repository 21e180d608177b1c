/**
 * Reading and moving the messages of the dead-letter queue with plain SQS calls.
 *
 * SQS has no "peek": a message is read by receiving it, which hides it from every other consumer for its
 * visibility timeout. So the CLI receives with a short timeout (`--visibility-timeout`, default 30 s),
 * keeps what it received only as long as the command needs it, and then hands every message it did not
 * delete back at once (ChangeMessageVisibility to 0), also when the command fails or is interrupted.
 * Nothing consumes the dead-letter queue, so the receive count each read adds is harmless.
 *
 * A move is send-then-delete: the message is sent to the stop queue first and deleted from the
 * dead-letter queue only once SQS has it. A crash between the two leaves a copy in both; the copy sent
 * again on the next redrive is a repeat the stop queue's idempotency absorbs (see docs/cli.md for which
 * messages carry a key of their own).
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

const BATCH = 10;

export interface HeldMessage {
  readonly message: Message;
  /** The receipt handle of the latest receive: the one SQS accepts for delete and visibility changes. */
  receiptHandle: string;
}

export interface ScanOptions {
  /** Seconds each received message stays hidden from others. */
  readonly visibilityTimeout: number;
  /** Stop after this many messages. */
  readonly limit: number;
  /** Stop when this becomes true (e.g. the message looked for was found). */
  readonly enough?: (held: readonly HeldMessage[]) => boolean;
  readonly onProgress?: (received: number, approximateTotal: number) => void;
  readonly signal?: AbortSignal;
}

export interface DeadLetterScan {
  readonly held: HeldMessage[];
  /** `ApproximateNumberOfMessages` when the scan started (visible messages only). */
  readonly approximateTotal: number;
}

/** ApproximateNumberOfMessages: what is visible now (others may hold more). */
export const approximateCount = async (sqs: SQSClient, queueUrl: string): Promise<number> => {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  const count = Number(Attributes.ApproximateNumberOfMessages);
  return Number.isFinite(count) ? count : 0;
};

/**
 * Receives messages until a receive brings nothing new (a one-second wait asks every SQS server, so an
 * empty answer means empty), the limit is reached, `enough` says so, or the signal aborts. Messages that
 * come back (their timeout ran out during a long scan) are kept once, with their newest receipt handle.
 */
export const scanQueue = async (
  sqs: SQSClient,
  queueUrl: string,
  options: ScanOptions,
): Promise<DeadLetterScan> => {
  const approximateTotal = await approximateCount(sqs, queueUrl);
  const byId = new Map<string, HeldMessage>();
  const held: HeldMessage[] = [];
  while (held.length < options.limit && !options.signal?.aborted) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(BATCH, options.limit - held.length),
        VisibilityTimeout: options.visibilityTimeout,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    let fresh = 0;
    for (const message of Messages) {
      if (!message.MessageId || !message.ReceiptHandle) continue;
      const known = byId.get(message.MessageId);
      if (known) {
        known.receiptHandle = message.ReceiptHandle;
        continue;
      }
      const entry = { message, receiptHandle: message.ReceiptHandle };
      byId.set(message.MessageId, entry);
      held.push(entry);
      fresh++;
    }
    options.onProgress?.(held.length, Math.max(approximateTotal, held.length));
    if (fresh === 0 || options.enough?.(held)) break;
  }
  return { held, approximateTotal };
};

const inBatches = <T>(items: readonly T[]): T[][] => {
  const batches: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH) batches.push(items.slice(i, i + BATCH));
  return batches;
};

/** SendMessageBatch takes ten entries and (on queues set to the old limit) 256 KiB in all: a large body goes alone. */
const BATCH_BYTES = 256 * 1024;

const sendBatches = <T extends { readonly body: string }>(items: readonly T[]): T[][] => {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(item.body);
    if (current.length === BATCH || (current.length > 0 && bytes + size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
};

/**
 * Makes messages visible again at once. Best effort: a handle whose timeout already ran out is refused by
 * SQS, and that message is visible anyway. Answers how many SQS did not take.
 */
export const releaseMessages = async (
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly HeldMessage[],
): Promise<number> => {
  let refused = 0;
  for (const batch of inBatches(messages)) {
    try {
      const { Failed = [] } = await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((held, i) => ({
            Id: String(i),
            ReceiptHandle: held.receiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      refused += Failed.length;
    } catch {
      refused += batch.length;
    }
  }
  return refused;
};

export type MoveResult =
  | { readonly kind: 'moved'; readonly held: HeldMessage; readonly newMessageId: string }
  | { readonly kind: 'deleted'; readonly held: HeldMessage }
  /** Not sent: nothing changed, the message stays in the dead-letter queue. */
  | { readonly kind: 'not-sent'; readonly held: HeldMessage; readonly error: string }
  /** Sent, but still in the dead-letter queue too: the next redrive sends it again. */
  | {
      readonly kind: 'sent-not-deleted';
      readonly held: HeldMessage;
      readonly newMessageId: string;
      readonly error: string;
    }
  | { readonly kind: 'not-deleted'; readonly held: HeldMessage; readonly error: string };

const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** Deletes messages from the queue; answers the error of each one SQS did not delete. */
const deleteBatch = async (
  sqs: SQSClient,
  queueUrl: string,
  batch: readonly HeldMessage[],
): Promise<Map<number, string>> => {
  const failures = new Map<number, string>();
  try {
    const { Failed = [] } = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((held, i) => ({ Id: String(i), ReceiptHandle: held.receiptHandle })),
      }),
    );
    for (const failure of Failed)
      failures.set(Number(failure.Id), `${failure.Code}: ${failure.Message ?? ''}`);
  } catch (error) {
    for (const i of batch.keys()) failures.set(i, errorText(error));
  }
  return failures;
};

/**
 * Moves each message: its `body` sent to the stop queue (SendMessageBatch, failed entries sent once more),
 * then, only for what SQS took, deleted from the dead-letter queue.
 */
export const moveMessages = async (
  sqs: SQSClient,
  from: string,
  to: string,
  items: readonly { readonly held: HeldMessage; readonly body: string }[],
  onProgress: (done: number) => void = () => {},
): Promise<MoveResult[]> => {
  const results: MoveResult[] = [];
  for (const batch of sendBatches(items)) {
    const sent = new Map<number, string>();
    const errors = new Map<number, string>();
    let pending = batch.map((item, i) => ({ item, i }));
    for (let attempt = 1; attempt <= 3 && pending.length > 0; attempt++) {
      try {
        const { Successful = [], Failed = [] } = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: to,
            Entries: pending.map(({ item, i }) => ({ Id: String(i), MessageBody: item.body })),
          }),
        );
        for (const ok of Successful) if (ok.MessageId) sent.set(Number(ok.Id), ok.MessageId);
        for (const failure of Failed)
          errors.set(Number(failure.Id), `${failure.Code}: ${failure.Message ?? ''}`);
        // A sender fault (a malformed entry) fails the same way every time.
        const retryable = new Set(Failed.filter((f) => !f.SenderFault).map((f) => Number(f.Id)));
        pending = pending.filter(({ i }) => retryable.has(i));
      } catch (error) {
        for (const { i } of pending) errors.set(i, errorText(error));
        if (attempt === 3) break;
      }
    }
    const toDelete = batch.flatMap((item, i) => (sent.has(i) ? [{ item, i }] : []));
    const deleteFailures = await deleteBatch(
      sqs,
      from,
      toDelete.map(({ item }) => item.held),
    );
    batch.forEach((item, i) => {
      const newMessageId = sent.get(i);
      if (newMessageId === undefined) {
        results.push({
          kind: 'not-sent',
          held: item.held,
          error: errors.get(i) ?? 'no answer for the entry',
        });
        return;
      }
      const position = toDelete.findIndex((d) => d.i === i);
      const deleteError = deleteFailures.get(position);
      results.push(
        deleteError === undefined
          ? { kind: 'moved', held: item.held, newMessageId }
          : { kind: 'sent-not-deleted', held: item.held, newMessageId, error: deleteError },
      );
    });
    onProgress(results.length);
  }
  return results;
};

/** Deletes messages that must not be redriven. */
export const deleteMessages = async (
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly HeldMessage[],
  onProgress: (done: number) => void = () => {},
): Promise<MoveResult[]> => {
  const results: MoveResult[] = [];
  for (const batch of inBatches(messages)) {
    const failures = await deleteBatch(sqs, queueUrl, batch);
    batch.forEach((held, i) => {
      const error = failures.get(i);
      results.push(error === undefined ? { kind: 'deleted', held } : { kind: 'not-deleted', held, error });
    });
    onProgress(results.length);
  }
  return results;
};
