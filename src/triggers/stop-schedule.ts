/**
 * Maintenance-window trigger: EventBridge Scheduler invokes this function (asynchronously) with the
 * payload built by `schedulePayloadTemplate`. It becomes a scope request keyed by window and scheduled
 * time, so a delivery Scheduler retries never acts twice.
 */
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { schedulePayloadSchema, scopeRequestForWindow } from '../policy/schedule-payload.ts';
import { violationsOf } from '../request/parse.ts';
import { accountIdOf } from '../runtime/lambda-context.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import { StopRetryError } from '../stop/errors.ts';
import { handleStopRequest } from '../stop/handle-stop-request.ts';
import type { StopOutcome } from '../stop/outcome.ts';

export const createStopScheduleHandler =
  (runtime: StopRuntime) =>
  async (payload: unknown, context: Context): Promise<StopOutcome> => {
    runtime.startInvocation(context);
    try {
      const result = z.safeParse(schedulePayloadSchema, payload);
      const eventId = result.success ? result.data.executionId : context.awsRequestId;
      const outcome = await handleStopRequest(
        {
          parsed: result.success
            ? { ok: true, request: scopeRequestForWindow(result.data), eventId }
            : { ok: false, violations: violationsOf(result.error, payload, ''), eventId },
          delivery: { kind: 'schedule', eventId },
          accountId: accountIdOf(context),
          original: JSON.stringify(payload),
          ...(result.success ? { receivedAt: result.data.scheduledTime } : {}),
        },
        runtime.dependencies,
      );
      if (outcome.outcome === 'retry') throw new StopRetryError(outcome);
      return outcome;
    } finally {
      await runtime.endInvocation();
    }
  };
