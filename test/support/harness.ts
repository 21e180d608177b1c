/**
 * Both real handlers wired to local AWS stand-ins, with every outcome captured for assertions.
 */
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { drainQueue, type EventSourceOptions, type EventSourceReport } from '../../local/event-source.ts';
import {
  IN_PROCESS_CALL_SETTINGS,
  type LocalAws,
  type LocalAwsOptions,
  startLocalAws,
} from '../../local/local-aws.ts';
import type { AwsClients } from '../../src/runtime/clients.ts';
import type { StopConfig } from '../../src/runtime/config.ts';
import { createStopRuntime } from '../../src/runtime/stop-runtime.ts';
import type { StopOutcome } from '../../src/stop/outcome.ts';
import { createStopAlarmHandler } from '../../src/triggers/stop-alarm.ts';
import { createStopEventHandler } from '../../src/triggers/stop-event.ts';
import { createStopQueueHandler } from '../../src/triggers/stop-queue.ts';
import { createStopScheduleHandler } from '../../src/triggers/stop-schedule.ts';

export interface Harness {
  readonly local: LocalAws;
  readonly outcomes: StopOutcome[];
  readonly queueHandler: ReturnType<typeof createStopQueueHandler>;
  readonly eventHandler: ReturnType<typeof createStopEventHandler>;
  readonly alarmHandler: ReturnType<typeof createStopAlarmHandler>;
  readonly scheduleHandler: ReturnType<typeof createStopScheduleHandler>;
  /** Builds another set of handlers, e.g. with clients pointing somewhere unreachable. */
  handlers(options?: { clients?: AwsClients; config?: Partial<StopConfig> }): Handlers;
  /** Drains the dead-letter queue (attributes included). */
  takeDeadLetters(): Promise<Message[]>;
  /** Sends a message body to the stop queue, as a producer would. */
  sendToStopQueue(body: unknown): Promise<void>;
  /**
   * Takes every message off the stop queue without handling it (the bodies, parsed), e.g. to read the
   * tasks an expansion sent; `sendToStopQueue` puts them back.
   */
  takeStopQueue(): Promise<unknown[]>;
  /** How many messages wait on the stop queue, visible ones (SQS's ApproximateNumberOfMessages). */
  stopQueueDepth(): Promise<number>;
  /**
   * Runs the stop queue through the SQS trigger code like Lambda's event source mapping, until it is
   * empty: each concurrent instance gets its own runtime (clients, rate limiter), as Lambda instances do.
   */
  drainStopQueue(
    options?: Partial<
      Pick<
        EventSourceOptions,
        'batchSize' | 'maximumConcurrency' | 'visibilityTimeoutSeconds' | 'timeoutMs' | 'context'
      >
    >,
  ): Promise<EventSourceReport>;
  close(): Promise<void>;
}

interface Handlers {
  queueHandler: ReturnType<typeof createStopQueueHandler>;
  eventHandler: ReturnType<typeof createStopEventHandler>;
  alarmHandler: ReturnType<typeof createStopAlarmHandler>;
  scheduleHandler: ReturnType<typeof createStopScheduleHandler>;
}

export const startHarness = async (options: LocalAwsOptions = {}): Promise<Harness> => {
  const local = await startLocalAws(options);
  const outcomes: StopOutcome[] = [];
  const handlers: Harness['handlers'] = ({ clients, config } = {}) => {
    const common = {
      config: { ...local.config, ...config },
      callSettings: IN_PROCESS_CALL_SETTINGS,
      onOutcome: (outcome: StopOutcome) => outcomes.push(outcome),
      ...(clients ? { clients } : {}),
    };
    return {
      queueHandler: createStopQueueHandler(createStopRuntime({ trigger: 'sqs', ...common })),
      eventHandler: createStopEventHandler(createStopRuntime({ trigger: 'eventbridge', ...common })),
      alarmHandler: createStopAlarmHandler(createStopRuntime({ trigger: 'alarm', ...common })),
      scheduleHandler: createStopScheduleHandler(createStopRuntime({ trigger: 'schedule', ...common })),
    };
  };
  const sqs = new SQSClient({ endpoint: local.sqsEndpoint });
  /**
   * Receives every message of a queue until it answers empty: hidden for an hour, or deleted with
   * `remove`.
   */
  const takeAll = async (queueUrl: string, { remove }: { remove: boolean }): Promise<Message[]> => {
    const messages: Message[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ['All'],
          WaitTimeSeconds: 0,
          VisibilityTimeout: 3600,
        }),
      );
      if (Messages.length === 0) return messages;
      messages.push(...Messages);
      if (remove) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
        );
      }
    }
  };
  return {
    local,
    outcomes,
    ...handlers(),
    handlers,
    async sendToStopQueue(body) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: local.stopQueueUrl,
          MessageBody: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      );
    },
    drainStopQueue(options = {}) {
      return drainQueue({
        queueUrl: local.stopQueueUrl,
        sqsEndpoint: local.sqsEndpoint,
        deadLetterQueueUrl: local.deadLetterQueueUrl,
        visibilityTimeoutSeconds: 1,
        idleMs: 300,
        ...options,
        handlerFor: () => handlers().queueHandler,
      });
    },
    takeDeadLetters() {
      return takeAll(local.deadLetterQueueUrl, { remove: false });
    },
    async stopQueueDepth() {
      const { Attributes = {} } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: local.stopQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      return Number(Attributes.ApproximateNumberOfMessages);
    },
    async takeStopQueue() {
      return (await takeAll(local.stopQueueUrl, { remove: true })).map((m): unknown =>
        JSON.parse(m.Body ?? 'null'),
      );
    },
    async close() {
      sqs.destroy();
      await local.close();
    },
  };
};
