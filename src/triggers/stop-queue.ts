/**
 * SQS trigger: a batch of stop requests from the stop queue. Records run in parallel and independently;
 * the reply is a partial batch response, so only records that must be retried come back
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { interpretQueueMessage } from '../request/queue-message.ts';
import { accountIdOf } from '../runtime/lambda-context.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import { StopRetryError } from '../stop/errors.ts';
import { handleStopRequest } from '../stop/handle-stop-request.ts';
import type { StopOutcome } from '../stop/outcome.ts';

/** When the producer sent the message: a scope request without IssuedAt counts as issued then. */
const sentAt = (record: SQSRecord): { receivedAt?: string } => {
  const millis = Number(record.attributes?.SentTimestamp);
  return Number.isFinite(millis) && millis > 0 ? { receivedAt: new Date(millis).toISOString() } : {};
};

export const createStopQueueHandler =
  (runtime: StopRuntime) =>
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    runtime.startInvocation(context);
    const accountId = accountIdOf(context);
    const stopRecord = async (record: SQSRecord): Promise<StopOutcome | undefined> => {
      const message = interpretQueueMessage(record.body, runtime.config.policy.costGuards);
      if (message.kind === 'alarm-ignored') {
        // A redriven alarm state change that does not call for a stop: done, and said so.
        runtime.logger.info(`alarm ${message.alarmName} ignored: ${message.why}`, {
          messageId: record.messageId,
        });
        return undefined;
      }
      const outcome = await handleStopRequest(
        {
          parsed: message.parsed,
          delivery: { kind: 'sqs', messageId: record.messageId },
          accountId,
          original: record.body,
          ...sentAt(record),
        },
        runtime.dependencies,
      );
      // Throwing marks the record as a batch item failure: SQS redelivers it after the visibility timeout.
      if (outcome.outcome === 'retry') throw new StopRetryError(outcome);
      return outcome;
    };
    try {
      return await processPartialResponse(event, stopRecord, new BatchProcessor(EventType.SQS), {
        context,
        processInParallel: true,
        // A batch where every record must be retried is still a normal partial response, not a crash.
        throwOnFullBatchFailure: false,
      });
    } finally {
      await runtime.endInvocation();
    }
  };
