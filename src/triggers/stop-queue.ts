/**
 * SQS trigger: a batch of stop requests from the stop queue. Records run in parallel and independently;
 * the reply is a partial batch response, so only records that must be retried come back
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseStopMessageBody } from '../request/parse.ts';
import { accountIdOf } from '../runtime/lambda-context.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import { StopRetryError } from '../stop/errors.ts';
import { handleStopRequest } from '../stop/handle-stop-request.ts';
import type { StopOutcome } from '../stop/outcome.ts';

export const createStopQueueHandler =
  (runtime: StopRuntime) =>
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    runtime.startInvocation(context);
    const accountId = accountIdOf(context);
    const stopRecord = async (record: SQSRecord): Promise<StopOutcome> => {
      const outcome = await handleStopRequest(
        {
          parsed: parseStopMessageBody(record.body),
          delivery: { kind: 'sqs', messageId: record.messageId },
          accountId,
          original: record.body,
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
      runtime.endInvocation();
    }
  };
