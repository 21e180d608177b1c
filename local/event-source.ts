/**
 * A small stand-in for Lambda's SQS event source mapping, for integration tests and benchmarks that drain
 * a real local queue (fauxqs) through a handler.
 *
 * It behaves like the mapping with `ReportBatchItemFailures` turned on
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html): each of
 * `maximumConcurrency` instances long-polls the queue, hands the batch to its own handler as a real-shaped
 * `SQSEvent`, then deletes every record the handler did not report in `batchItemFailures`. A handler that
 * throws, or answers an invalid batch response, fails the whole batch: nothing is deleted. Failed records
 * reappear after the visibility timeout. A record that has been received `maxReceiveCount` times and fails
 * again is moved to the dead-letter queue, as a redrive policy would.
 *
 * Differences from the real service, all deliberate:
 * - The visibility timeout is set per ReceiveMessage call (the queue's own attribute is left alone).
 * - An exhausted record is moved as soon as it fails for the last time, not on the receive after that.
 *   The moved copy is a new message (new MessageId and SentTimestamp) with the same body and message
 *   attributes. Without `deadLetterQueueUrl` it is deleted: the drain must end, and a queue with no redrive
 *   policy would otherwise keep it until the retention period expires. Either way it counts in
 *   `deadLettered`.
 * - Long polls last at most 1 s and are never abandoned: when the queue has gone idle, the drain ends once
 *   the polls still waiting have returned, so no message sent after the drain is swallowed by a dead poll.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context.ts';
import { LOCAL_REGION } from './local-aws.ts';

export interface EventSourceOptions {
  queueUrl: string;
  sqsEndpoint: string;
  /** One handler per concurrent "instance" (index 0..maximumConcurrency-1): lets each instance have its own
   *  clients and rate limiter, as separate Lambda instances would. Called once per instance. */
  handlerFor: (instance: number) => (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  /** Records per invocation, at most. Default 10 (1..10). */
  batchSize?: number;
  /** Instances polling and invoking at once. Default 5. */
  maximumConcurrency?: number;
  /** Failed records come back after this. Default 2 (0..43200, whole seconds as SQS takes it). */
  visibilityTimeoutSeconds?: number;
  /** After this many receives a record that fails again is moved to `deadLetterQueueUrl` (deleted when there
   *  is none) and counted in `deadLettered`. Default 5. */
  maxReceiveCount?: number;
  deadLetterQueueUrl?: string;
  /** Stop when the queue has been empty (no visible, in-flight or delayed messages) for this long.
   *  Default 500 ms. */
  idleMs?: number;
  /** Hard stop: the drain rejects with `DrainTimeoutError`. Default 120 s. */
  timeoutMs?: number;
  /** Context for each invocation (called per invocation, so each gets its own request id and deadline).
   *  Default: `lambdaContext()` from `lambda-context.ts`. */
  context?: (instance: number) => Context;
}

export interface EventSourceReport {
  /** Handler invocations. */
  invocations: number;
  /** Records handed to the handler, redeliveries included. */
  recordsDelivered: number;
  /** Records an invocation failed: those reported in `batchItemFailures`, or the whole batch when the handler
   *  threw or answered an invalid batch response. */
  batchItemFailures: number;
  /** Invocations that threw or answered an invalid batch response (all their records failed). */
  failedInvocations: number;
  /** Records that exhausted `maxReceiveCount` (moved to the dead-letter queue, or dropped without one). */
  deadLettered: number;
  durationMs: number;
}

/** The queue did not go idle before `timeoutMs`. `report` holds the counts so far. */
export class DrainTimeoutError extends Error {
  override readonly name = 'DrainTimeoutError';
  readonly report: EventSourceReport;
  constructor(message: string, report: EventSourceReport) {
    super(message);
    this.report = report;
  }
}

const LONG_POLL_SECONDS = 1;
const MAX_BATCH_SIZE = 10;
const QUEUE_DEPTH_ATTRIBUTES: QueueAttributeName[] = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
];

interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

const isAbort = (err: unknown): boolean => err instanceof Error && err.name === 'AbortError';

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`drainQueue: ${name} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

/** `arn:aws:sqs:us-east-1:123456789012:name` → `us-east-1`. */
function regionOf(arn: string): string {
  const region = arn.split(':')[3];
  if (!region) throw new Error(`drainQueue: unexpected queue ARN ${JSON.stringify(arn)}`);
  return region;
}

/** The SQS message attributes in Lambda's event shape (binary values base64-encoded). */
function lambdaMessageAttributes(message: Message): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    const attribute: SQSMessageAttributes[string] = {
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
    if (value.StringValue !== undefined) attribute.stringValue = value.StringValue;
    if (value.BinaryValue !== undefined)
      attribute.binaryValue = Buffer.from(value.BinaryValue).toString('base64');
    out[name] = attribute;
  }
  return out;
}

/** One received message as Lambda puts it in `event.Records`. */
function toRecord(message: Message, eventSourceARN: string, awsRegion: string): SQSRecord {
  const { MessageId: messageId, ReceiptHandle: receiptHandle, Body: body, MD5OfBody: md5OfBody } = message;
  const attributes = message.Attributes ?? {};
  const {
    ApproximateReceiveCount,
    SentTimestamp,
    SenderId,
    ApproximateFirstReceiveTimestamp,
    ...otherAttributes
  } = attributes;
  if (
    messageId === undefined ||
    receiptHandle === undefined ||
    body === undefined ||
    md5OfBody === undefined ||
    ApproximateReceiveCount === undefined ||
    SentTimestamp === undefined ||
    SenderId === undefined ||
    ApproximateFirstReceiveTimestamp === undefined
  ) {
    throw new Error(
      `drainQueue: ReceiveMessage answered a message without id, receipt handle, body, MD5 or system ` +
        `attributes: ${JSON.stringify(message)}`,
    );
  }
  const record: SQSRecord = {
    messageId,
    receiptHandle,
    body,
    attributes: {
      ...otherAttributes,
      ApproximateReceiveCount,
      SentTimestamp,
      SenderId,
      ApproximateFirstReceiveTimestamp,
    },
    messageAttributes: lambdaMessageAttributes(message),
    md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
  if (message.MD5OfMessageAttributes !== undefined)
    record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}

/**
 * The message ids an invocation failed, read as Lambda reads a batch response: `undefined`/`null`, an empty
 * object or an empty/absent `batchItemFailures` list mean full success; an entry whose `itemIdentifier` is
 * missing, empty, not a string or not a message id of the batch makes the whole batch fail.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting
 */
export function failedMessageIds(response: unknown, records: readonly SQSRecord[]): Set<string> | 'all' {
  if (response === undefined || response === null) return new Set();
  if (typeof response !== 'object' || Array.isArray(response)) return 'all';
  const failures: unknown = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return 'all';
  const inBatch = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const failure of failures) {
    const id: unknown =
      typeof failure === 'object' && failure !== null
        ? (failure as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    if (typeof id !== 'string' || !inBatch.has(id)) return 'all';
    failed.add(id);
  }
  return failed;
}

/**
 * Drains a queue through `handlerFor(instance)` handlers the way Lambda's SQS event source mapping would,
 * and resolves once the queue has stayed empty for `idleMs`.
 *
 * @example
 * const report = await drainQueue({
 *   queueUrl: aws.stopQueueUrl,
 *   sqsEndpoint: aws.sqsEndpoint,
 *   handlerFor: () => handler,
 *   deadLetterQueueUrl: aws.deadLetterQueueUrl,
 * });
 * report.deadLettered; // records that failed maxReceiveCount times
 */
export async function drainQueue(options: EventSourceOptions): Promise<EventSourceReport> {
  const batchSize = checkInteger('batchSize', options.batchSize ?? 10, 1, MAX_BATCH_SIZE);
  const concurrency = checkInteger('maximumConcurrency', options.maximumConcurrency ?? 5, 1, 1000);
  const visibilityTimeout = checkInteger(
    'visibilityTimeoutSeconds',
    options.visibilityTimeoutSeconds ?? 2,
    0,
    43_200,
  );
  const maxReceiveCount = checkInteger('maxReceiveCount', options.maxReceiveCount ?? 5, 1, 1000);
  const idleMs = options.idleMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const contextFor = options.context ?? (() => lambdaContext());
  const { queueUrl, deadLetterQueueUrl } = options;

  const startedAt = performance.now();
  const report: EventSourceReport = {
    invocations: 0,
    recordsDelivered: 0,
    batchItemFailures: 0,
    failedInvocations: 0,
    deadLettered: 0,
    durationMs: 0,
  };
  const snapshot = (): EventSourceReport => ({ ...report, durationMs: performance.now() - startedAt });

  // The mapping's own poller, not the function's: one client shared by all instances.
  const sqs = new SQSClient({
    endpoint: options.sqsEndpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

  let stopped = false;
  let failure: unknown;
  const abort = new AbortController();
  let timeoutTimer: NodeJS.Timeout | undefined;
  let lastDepth: QueueDepth | undefined;

  const fail = (err: unknown): void => {
    if (stopped) return;
    stopped = true;
    failure = err;
    // Failing anyway: pending polls are abandoned rather than waited for.
    abort.abort();
  };

  async function queueArn(url: string): Promise<string> {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    const arn = out.Attributes?.QueueArn;
    if (arn === undefined) throw new Error(`drainQueue: no QueueArn for ${url}`);
    return arn;
  }

  async function queueDepth(): Promise<QueueDepth> {
    const out = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: QUEUE_DEPTH_ATTRIBUTES }),
      { abortSignal: abort.signal },
    );
    const count = (name: QueueAttributeName): number => {
      const n = Number(out.Attributes?.[name] ?? Number.NaN);
      if (!Number.isFinite(n)) throw new Error(`drainQueue: GetQueueAttributes answered no ${name}`);
      return n;
    };
    return {
      visible: count('ApproximateNumberOfMessages'),
      inFlight: count('ApproximateNumberOfMessagesNotVisible'),
      delayed: count('ApproximateNumberOfMessagesDelayed'),
    };
  }

  async function receive(): Promise<Message[]> {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: batchSize,
        WaitTimeSeconds: LONG_POLL_SECONDS,
        VisibilityTimeout: visibilityTimeout,
        MessageSystemAttributeNames: ['All'],
        AttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    return out.Messages ?? [];
  }

  /** Moves (or, without a dead-letter queue, drops) an exhausted record; the caller deletes the original. */
  async function deadLetter(message: Message): Promise<void> {
    if (deadLetterQueueUrl !== undefined) {
      const input: ConstructorParameters<typeof SendMessageCommand>[0] = {
        QueueUrl: deadLetterQueueUrl,
        MessageBody: message.Body,
      };
      if (message.MessageAttributes !== undefined) input.MessageAttributes = message.MessageAttributes;
      await sqs.send(new SendMessageCommand(input));
    }
    report.deadLettered += 1;
  }

  async function deleteRecords(records: readonly SQSRecord[]): Promise<void> {
    if (records.length === 0) return;
    const out = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: records.map((r, i) => ({ Id: `r${i}`, ReceiptHandle: r.receiptHandle })),
      }),
    );
    if (out.Failed !== undefined && out.Failed.length > 0) {
      throw new Error(`drainQueue: DeleteMessageBatch failed for ${JSON.stringify(out.Failed)}`);
    }
  }

  async function invoke(
    instance: number,
    handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>,
    messages: readonly Message[],
    eventSourceARN: string,
    awsRegion: string,
  ): Promise<void> {
    const records = messages.map((m) => toRecord(m, eventSourceARN, awsRegion));
    report.invocations += 1;
    report.recordsDelivered += records.length;

    let failed: Set<string> | 'all';
    try {
      failed = failedMessageIds(await handler({ Records: records }, contextFor(instance)), records);
    } catch {
      failed = 'all';
    }
    if (failed === 'all') {
      report.failedInvocations += 1;
      failed = new Set(records.map((r) => r.messageId));
    }
    report.batchItemFailures += failed.size;

    const toDelete: SQSRecord[] = [];
    for (const [i, record] of records.entries()) {
      const message = messages[i];
      if (!failed.has(record.messageId)) {
        toDelete.push(record);
      } else if (message && Number(record.attributes.ApproximateReceiveCount) >= maxReceiveCount) {
        await deadLetter(message);
        toDelete.push(record);
      }
    }
    await deleteRecords(toDelete);
  }

  async function runInstance(instance: number, eventSourceARN: string, awsRegion: string): Promise<void> {
    let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    try {
      handler = options.handlerFor(instance);
    } catch (err) {
      fail(err);
      return;
    }
    while (!stopped) {
      try {
        const messages = await receive();
        if (messages.length > 0) await invoke(instance, handler, messages, eventSourceARN, awsRegion);
      } catch (err) {
        if (stopped && isAbort(err)) return;
        fail(err);
      }
    }
  }

  async function watchForIdle(): Promise<void> {
    const interval = Math.max(10, Math.min(100, idleMs / 5));
    let emptySince: number | undefined;
    while (!stopped) {
      try {
        lastDepth = await queueDepth();
      } catch (err) {
        if (stopped && isAbort(err)) return;
        fail(err);
        return;
      }
      const now = performance.now();
      if (lastDepth.visible + lastDepth.inFlight + lastDepth.delayed > 0) {
        emptySince = undefined;
      } else {
        emptySince ??= now;
        // Idle: polls still waiting are let finish (at most LONG_POLL_SECONDS), none is abandoned.
        if (now - emptySince >= idleMs) stopped = true;
      }
      if (!stopped) await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }

  try {
    const eventSourceARN = await queueArn(queueUrl);
    // Fail fast on a wrong dead-letter queue rather than when the first record is exhausted.
    if (deadLetterQueueUrl !== undefined) await queueArn(deadLetterQueueUrl);
    const awsRegion = regionOf(eventSourceARN);

    const timedOut = new Promise<void>((resolve) => {
      timeoutTimer = setTimeout(() => {
        const depth =
          lastDepth === undefined
            ? 'queue depth unknown'
            : `${lastDepth.visible} visible, ${lastDepth.inFlight} in flight, ${lastDepth.delayed} delayed`;
        fail(
          new DrainTimeoutError(
            `drainQueue: ${queueUrl} was not drained within ${timeoutMs} ms (${depth}; ` +
              `${report.invocations} invocations, ${report.recordsDelivered} records delivered, ` +
              `${report.deadLettered} dead-lettered)`,
            snapshot(),
          ),
        );
        resolve();
      }, timeoutMs);
    });
    const instances = Array.from({ length: concurrency }, (_, i) =>
      runInstance(i, eventSourceARN, awsRegion),
    );
    // On a timeout, a handler that never returns must not hold the drain: stop waiting for the instances.
    await Promise.race([Promise.all([watchForIdle(), ...instances]), timedOut]);
  } finally {
    clearTimeout(timeoutTimer);
    sqs.destroy();
  }
  if (failure !== undefined) throw failure;
  return snapshot();
}
