/**
 * Both real handlers wired to local AWS stand-ins, with every outcome captured for assertions.
 */
import { type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AwsClients } from '../../src/runtime/clients.ts';
import type { StopConfig } from '../../src/runtime/config.ts';
import { createStopRuntime } from '../../src/runtime/stop-runtime.ts';
import type { StopOutcome } from '../../src/stop/outcome.ts';
import { createStopEventHandler } from '../../src/triggers/stop-event.ts';
import { createStopQueueHandler } from '../../src/triggers/stop-queue.ts';
import { type LocalAws, type LocalAwsOptions, startLocalAws } from './local-aws.ts';

export interface Harness {
  readonly local: LocalAws;
  readonly outcomes: StopOutcome[];
  readonly queueHandler: ReturnType<typeof createStopQueueHandler>;
  readonly eventHandler: ReturnType<typeof createStopEventHandler>;
  /** Builds another pair of handlers, e.g. with clients pointing somewhere unreachable. */
  handlers(options?: { clients?: AwsClients; config?: Partial<StopConfig> }): {
    queueHandler: ReturnType<typeof createStopQueueHandler>;
    eventHandler: ReturnType<typeof createStopEventHandler>;
  };
  /** Drains the dead-letter queue (attributes included). */
  takeDeadLetters(): Promise<Message[]>;
  close(): Promise<void>;
}

export const startHarness = async (options: LocalAwsOptions = {}): Promise<Harness> => {
  const local = await startLocalAws(options);
  const outcomes: StopOutcome[] = [];
  const handlers: Harness['handlers'] = ({ clients, config } = {}) => {
    const common = {
      config: { ...local.config, ...config },
      onOutcome: (outcome: StopOutcome) => outcomes.push(outcome),
      ...(clients ? { clients } : {}),
    };
    return {
      queueHandler: createStopQueueHandler(createStopRuntime({ trigger: 'sqs', ...common })),
      eventHandler: createStopEventHandler(createStopRuntime({ trigger: 'eventbridge', ...common })),
    };
  };
  const sqs = new SQSClient({ endpoint: local.sqsEndpoint });
  return {
    local,
    outcomes,
    ...handlers(),
    handlers,
    async takeDeadLetters() {
      const messages: Message[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: local.deadLetterQueueUrl,
            MaxNumberOfMessages: 10,
            MessageAttributeNames: ['All'],
            WaitTimeSeconds: 0,
            VisibilityTimeout: 3600,
          }),
        );
        if (Messages.length === 0) return messages;
        messages.push(...Messages);
      }
    },
    async close() {
      sqs.destroy();
      await local.close();
    },
  };
};
