/**
 * Cost-guard trigger: CloudWatch "Alarm State Change" events for the configured alarms, delivered by an
 * EventBridge rule (asynchronous invocation). A transition into ALARM becomes a scope request; anything
 * else is logged as ignored. The alarm event's id is the request's idempotency key.
 */

import { decideOnAlarm, parseAlarmStateChange } from '../policy/cost-guard.ts';
import type { CostGuard } from '../policy/stack-config.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import type { StopOutcome } from '../stop/outcome.ts';
import { type AlarmIgnored, createAsyncTrigger } from './skeleton.ts';
import { asyncDelivery, eventTime, type Read } from './stop-event.ts';

export type { AlarmIgnored } from './skeleton.ts';

/** An alarm state change: a scope request for an alarm going into ALARM, ignored otherwise. */
export const readAlarm = (event: unknown, costGuards: readonly CostGuard[], prefix = ''): Read => {
  const alarm = parseAlarmStateChange(event);
  if (alarm.kind === 'invalid') {
    // Not an alarm state change: parked with the fields that are wrong, like any invalid request.
    return {
      kind: 'request',
      parsed: {
        kind: 'invalid',
        violations: alarm.violations.map((v) => ({
          ...v,
          field: prefix === '' ? v.field : `${prefix}.${v.field}`,
        })),
        ...(alarm.eventId ? { eventId: alarm.eventId } : {}),
      },
    };
  }
  const decision = decideOnAlarm(alarm.event, costGuards);
  if (decision.kind === 'ignore') {
    return { kind: 'alarm-ignored', alarmName: decision.alarmName, why: decision.why };
  }
  return {
    kind: 'request',
    parsed: { kind: 'valid', request: decision.request, eventId: alarm.event.id },
    ...eventTime(alarm.event),
  };
};

export const createStopAlarmHandler = (runtime: StopRuntime) =>
  createAsyncTrigger<StopOutcome | AlarmIgnored>(runtime, (event, context) =>
    asyncDelivery(event, context, 'alarm', (e) => readAlarm(e, runtime.config.policy.costGuards)),
  );
