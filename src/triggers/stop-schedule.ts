/**
 * Maintenance-window trigger: EventBridge Scheduler invokes this function (asynchronously) with the
 * payload built by `schedulePayloadTemplate`. It becomes a scope request keyed by window and scheduled
 * time, so a delivery Scheduler retries never acts twice.
 */
import * as z from 'zod/mini';
import { schedulePayloadSchema, scopeRequestForWindow } from '../policy/schedule-payload.ts';
import { violationsOf } from '../request/parse.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import type { StopOutcome } from '../stop/outcome.ts';
import { createAsyncTrigger } from './skeleton.ts';
import { asyncDelivery, type Read } from './stop-event.ts';

/** A window payload: the window's scope request, keyed by window and scheduled time. */
export const readSchedulePayload = (payload: unknown, prefix = ''): Read => {
  const result = z.safeParse(schedulePayloadSchema, payload);
  if (!result.success)
    return {
      kind: 'request',
      parsed: { kind: 'invalid', violations: violationsOf(result.error, payload, prefix) },
    };
  return {
    kind: 'request',
    parsed: { kind: 'valid', request: scopeRequestForWindow(result.data), eventId: result.data.executionId },
    receivedAt: result.data.scheduledTime,
  };
};

export const createStopScheduleHandler = (runtime: StopRuntime) =>
  createAsyncTrigger<StopOutcome>(runtime, (payload, context) =>
    asyncDelivery(payload, context, 'schedule', (p) => readSchedulePayload(p)),
  );
