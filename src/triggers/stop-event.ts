/**
 * EventBridge trigger: one stop request event delivered by the stack's rule (asynchronous invocation).
 * A retry outcome fails the invocation, so Lambda's async retries and the on-failure destination take over
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
 */
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { parseStopEvent } from '../request/parse.ts';
import { accountIdOf } from '../runtime/lambda-context.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import { StopRetryError } from '../stop/errors.ts';
import { handleStopRequest } from '../stop/handle-stop-request.ts';
import type { StopOutcome } from '../stop/outcome.ts';

/** When the event happened: a scope request without IssuedAt counts as issued then. */
export const eventTime = (event: { time?: unknown }): { receivedAt?: string } => {
  const millis = typeof event?.time === 'string' ? Date.parse(event.time) : Number.NaN;
  return Number.isFinite(millis) ? { receivedAt: new Date(millis).toISOString() } : {};
};

export const createStopEventHandler =
  (runtime: StopRuntime) =>
  async (event: EventBridgeEvent<string, unknown>, context: Context): Promise<StopOutcome> => {
    runtime.startInvocation(context);
    try {
      const outcome = await handleStopRequest(
        {
          parsed: parseStopEvent(event),
          // Lambda keeps the request id across its async retries, so it stands in for a missing event id.
          delivery: {
            kind: 'eventbridge',
            eventId: typeof event?.id === 'string' ? event.id : context.awsRequestId,
          },
          accountId: accountIdOf(context),
          original: JSON.stringify(event),
          ...eventTime(event),
        },
        runtime.dependencies,
      );
      if (outcome.outcome === 'retry') throw new StopRetryError(outcome);
      return outcome;
    } finally {
      await runtime.endInvocation();
    }
  };
