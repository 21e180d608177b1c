/**
 * The chaos suite's SQS event source: Lambda's event source mapping for the stop queue (batch size,
 * maximum concurrency, ReportBatchItemFailures) over fauxqs, with the queue's redrive policy
 * (`maxReceiveCount`), plus the one thing a real queue does that fauxqs cannot be asked to do: deliver a
 * message again after it was handled (SQS is at-least-once: a duplicate has the same MessageId and body).
 *
 * - Each of `concurrency` pollers receives up to `batchSize` records with the visibility timeout, invokes
 *   its slot's execution environment, then deletes every record not reported in `batchItemFailures`.
 *   A handler error, a timeout, a kill or a crash fails the whole batch: nothing is deleted, and the
 *   records come back after the visibility timeout.
 * - Redrive: a record that fails on its `maxReceiveCount`-th receive, or is received more often than that
 *   (its last invocation died), is moved to the dead-letter queue as it was sent (body and message
 *   attributes; no reason, as SQS moves it) and deleted.
 * - Duplicates (`duplicate()`): a handled record is delivered again, same MessageId, body and SentTimestamp,
 *   a new receipt handle and a higher receive count, and follows the same rules (visibility timeout after
 *   a failure, redrive after `maxReceiveCount` receives).
 * - It ends when the queue has been empty (nothing visible, in flight or delayed), no duplicate is pending
 *   and no invocation runs, for `idleMs`; or at `deadlineAt` (then `incomplete` is set).
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { failedMessageIds } from '../../local/event-source.ts';
import type { InvocationResult } from './environments.ts';

export interface ChaosEventSourceOptions {
  readonly sqsEndpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
  /** Runs one invocation in the slot's execution environment. `sequence` numbers invocations from 0. */
  readonly invoke: (slot: number, event: SQSEvent, sequence: number) => Promise<InvocationResult>;
  /** A record was handled (not reported failed, deleted): called once per delivery that succeeded. */
  readonly onHandled?: (record: SQSRecord, message: Message, duplicate: boolean) => void;
  /** Quiet time that ends the drain. Default 1500 ms. */
  readonly idleMs?: number;
  /** Epoch ms: the drain stops here whatever is left (`incomplete`). */
  readonly deadlineAt: number;
}

export interface ChaosEventSourceStats {
  invocations: number;
  recordsDelivered: number;
  duplicatesDelivered: number;
  /** Records reported in batchItemFailures, or in a batch that failed as a whole. */
  batchItemFailures: number;
  results: Record<InvocationResult['kind'], number>;
  /** Records the redrive policy moved to the dead-letter queue (no reason attached). */
  redriven: number;
  /** Message ids of the redriven records. */
  redrivenMessageIds: string[];
  /** Deliveries per message id (duplicates included). */
  deliveries: Map<string, number>;
  invocationDurationsMs: number[];
  /** The drain hit `deadlineAt` before the queue was empty. */
  incomplete: boolean;
  durationMs: number;
}

interface PendingDuplicate {
  readonly message: Message;
  readonly record: SQSRecord;
  receiveCount: number;
  visibleAt: number;
}

/** The SQS message attributes in Lambda's event shape. */
const lambdaMessageAttributes = (message: Message): SQSMessageAttributes => {
  const out: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    const attribute: SQSMessageAttributes[string] = {
      stringListValues: value.StringListValues ?? [],
      binaryListValues: [],
      dataType: value.DataType ?? 'String',
    };
    if (value.StringValue !== undefined) attribute.stringValue = value.StringValue;
    out[name] = attribute;
  }
  return out;
};

/** One received message as Lambda puts it in `event.Records`. */
export const toRecord = (message: Message, eventSourceARN: string, awsRegion: string): SQSRecord => {
  const attributes = message.Attributes ?? {};
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'chaos',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: lambdaMessageAttributes(message),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion,
  };
  return record;
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ChaosEventSource {
  readonly #options: ChaosEventSourceOptions;
  readonly #sqs: SQSClient;
  readonly #pending: PendingDuplicate[] = [];
  #stopped = false;
  #inFlight = 0;
  #sequence = 0;
  #duplicateSequence = 0;
  readonly stats: ChaosEventSourceStats = {
    invocations: 0,
    recordsDelivered: 0,
    duplicatesDelivered: 0,
    batchItemFailures: 0,
    results: { response: 0, error: 0, timeout: 0, killed: 0, crashed: 0, 'init-failed': 0 },
    redriven: 0,
    redrivenMessageIds: [],
    deliveries: new Map(),
    invocationDurationsMs: [],
    incomplete: false,
    durationMs: 0,
  };

  constructor(options: ChaosEventSourceOptions) {
    this.#options = options;
    this.#sqs = new SQSClient({
      endpoint: options.sqsEndpoint,
      region: options.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  }

  /** Delivers a handled record once more, `afterMs` from now (an SQS duplicate). */
  duplicate(message: Message, record: SQSRecord, afterMs: number): void {
    this.#pending.push({
      message,
      record,
      receiveCount: Number(record.attributes.ApproximateReceiveCount) + 1,
      visibleAt: Date.now() + afterMs,
    });
  }

  /** Drains the queue; resolves with the stats when it is idle or at the deadline. */
  async run(): Promise<ChaosEventSourceStats> {
    const startedAt = performance.now();
    try {
      const arn = await this.#queueArn();
      const pollers = Array.from({ length: this.#options.concurrency }, (_, slot) => this.#poll(slot, arn));
      await Promise.all([this.#watch(), ...pollers]);
    } finally {
      this.#sqs.destroy();
      this.stats.durationMs = performance.now() - startedAt;
    }
    return this.stats;
  }

  async #queueArn(): Promise<string> {
    const out = await this.#sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: this.#options.queueUrl, AttributeNames: ['QueueArn'] }),
    );
    const arn = out.Attributes?.QueueArn;
    if (!arn) throw new Error(`no QueueArn for ${this.#options.queueUrl}`);
    return arn;
  }

  async #depth(): Promise<number> {
    const out = await this.#sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.#options.queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const a = out.Attributes ?? {};
    return (
      Number(a.ApproximateNumberOfMessages ?? 0) +
      Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }

  async #watch(): Promise<void> {
    const idleMs = this.#options.idleMs ?? 1_500;
    let idleSince: number | undefined;
    while (!this.#stopped) {
      if (Date.now() >= this.#options.deadlineAt) {
        this.stats.incomplete = true;
        this.#stopped = true;
        return;
      }
      const busy = this.#inFlight > 0 || this.#pending.length > 0 || (await this.#depth()) > 0;
      if (busy) {
        idleSince = undefined;
      } else {
        idleSince ??= Date.now();
        if (Date.now() - idleSince >= idleMs) this.#stopped = true;
      }
      if (!this.#stopped) await sleep(250);
    }
  }

  #takeDueDuplicates(max: number): PendingDuplicate[] {
    const now = Date.now();
    const due: PendingDuplicate[] = [];
    for (let i = 0; i < this.#pending.length && due.length < max; ) {
      const candidate = this.#pending[i];
      if (candidate && candidate.visibleAt <= now) {
        due.push(candidate);
        this.#pending.splice(i, 1);
      } else {
        i += 1;
      }
    }
    return due;
  }

  async #receive(max: number, waitSeconds: number): Promise<Message[]> {
    const out = await this.#sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#options.queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: this.#options.visibilityTimeoutSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    return out.Messages ?? [];
  }

  /** The redrive policy: the record goes to the dead-letter queue as it was sent. */
  async #redrive(message: Message): Promise<void> {
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#options.deadLetterQueueUrl,
        MessageBody: message.Body ?? '',
        ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
      }),
    );
    this.stats.redriven += 1;
    this.stats.redrivenMessageIds.push(message.MessageId ?? '');
  }

  async #delete(messages: readonly Message[]): Promise<void> {
    if (messages.length === 0) return;
    await this.#sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: this.#options.queueUrl,
        Entries: messages.map((m, i) => ({ Id: `m${i}`, ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }

  async #poll(slot: number, arn: string): Promise<void> {
    const { batchSize, maxReceiveCount, region } = this.#options;
    while (!this.#stopped) {
      const duplicates = this.#takeDueDuplicates(batchSize);
      // Duplicates held here count as in flight: the drain is not idle while a poller holds them.
      const holding = duplicates.length > 0 ? 1 : 0;
      this.#inFlight += holding;
      try {
        const received =
          duplicates.length < batchSize
            ? await this.#receive(batchSize - duplicates.length, duplicates.length > 0 ? 0 : 1)
            : [];
        if (this.#stopped) {
          // Not delivered: back to the queue (after the visibility timeout) or to the pending duplicates.
          this.#pending.push(...duplicates);
          return;
        }
        const fresh: Message[] = [];
        const exhausted: Message[] = [];
        for (const message of received) {
          const count = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
          (count > maxReceiveCount ? exhausted : fresh).push(message);
        }
        for (const message of exhausted) await this.#redrive(message);
        await this.#delete(exhausted);
        if (fresh.length + duplicates.length > 0) await this.#invoke(slot, arn, region, fresh, duplicates);
      } finally {
        this.#inFlight -= holding;
      }
    }
  }

  async #invoke(
    slot: number,
    arn: string,
    region: string,
    fresh: readonly Message[],
    duplicates: readonly PendingDuplicate[],
  ): Promise<void> {
    const { maxReceiveCount, visibilityTimeoutSeconds } = this.#options;
    const records = [
      ...fresh.map((message) => toRecord(message, arn, region)),
      ...duplicates.map((d) => {
        this.#duplicateSequence += 1;
        return {
          ...d.record,
          receiptHandle: `duplicate-${this.#duplicateSequence}`,
          attributes: { ...d.record.attributes, ApproximateReceiveCount: String(d.receiveCount) },
        };
      }),
    ];
    const sequence = this.#sequence++;
    const deliveredAt = Date.now();
    this.#inFlight += 1;
    this.stats.invocations += 1;
    this.stats.recordsDelivered += records.length;
    this.stats.duplicatesDelivered += duplicates.length;
    for (const record of records) {
      this.stats.deliveries.set(record.messageId, (this.stats.deliveries.get(record.messageId) ?? 0) + 1);
    }
    try {
      const result = await this.#options.invoke(slot, { Records: records }, sequence);
      this.stats.results[result.kind] += 1;
      this.stats.invocationDurationsMs.push(result.durationMs);
      const failedIds =
        result.kind === 'response' ? failedMessageIds(result.response, records) : ('all' as const);
      const failed = (record: SQSRecord) => failedIds === 'all' || failedIds.has(record.messageId);

      const done: Message[] = [];
      for (const [i, message] of fresh.entries()) {
        const record = records[i];
        if (!record) continue;
        if (!failed(record)) {
          done.push(message);
          this.#options.onHandled?.(record, message, false);
          continue;
        }
        this.stats.batchItemFailures += 1;
        if (Number(record.attributes.ApproximateReceiveCount) >= maxReceiveCount) {
          await this.#redrive(message);
          done.push(message);
        }
      }
      await this.#delete(done);

      for (const [i, duplicate] of duplicates.entries()) {
        const record = records[fresh.length + i];
        if (!record) continue;
        if (!failed(record)) {
          this.#options.onHandled?.(record, duplicate.message, true);
          continue;
        }
        this.stats.batchItemFailures += 1;
        if (duplicate.receiveCount >= maxReceiveCount) {
          await this.#redrive(duplicate.message);
        } else {
          duplicate.receiveCount += 1;
          duplicate.visibleAt = deliveredAt + visibilityTimeoutSeconds * 1_000;
          this.#pending.push(duplicate);
        }
      }
    } finally {
      this.#inFlight -= 1;
    }
  }
}
