/**
 * What a message on the stop queue can be. Producers send stop requests or stop events; everything that
 * lands in the dead-letter queue must also be redrivable to the stop queue, so it accepts those shapes too:
 * a Lambda on-failure invocation record (its `requestPayload`), a CloudWatch alarm state change (from the
 * cost-guard rule's dead-letter queue) and a maintenance-window payload (from a schedule's dead-letter queue),
 * each read exactly as its own trigger reads it; and the scope tasks the queue function sends itself while
 * it expands a scope (`src/request/scope-task.ts`). Each keeps the idempotency key it had the first time, so a
 * redrive never acts twice.
 */

import { ALARM_EVENT_SOURCE } from '../policy/cost-guard.ts';
import type { CostGuard } from '../policy/stack-config.ts';
import {
  isRecord,
  looksLikeEventBridgeEvent,
  type ParsedMessage,
  parseJsonBody,
  parseStopEvent,
  parseStopRequest,
} from '../request/parse.ts';
import { parseScopeTask, SCOPE_TASK_FIELD } from '../request/scope-task.ts';
import { readAlarm } from './stop-alarm.ts';
import type { Read } from './stop-event.ts';
import { readSchedulePayload } from './stop-schedule.ts';

export type QueueMessage =
  | { readonly kind: 'request'; readonly parsed: ParsedMessage }
  | { readonly kind: 'alarm-ignored'; readonly alarmName: string; readonly why: string };

const looksLikeInvocationRecord = (value: unknown): value is { requestPayload: unknown } =>
  isRecord(value) && isRecord(value.requestContext) && 'requestPayload' in value;

const looksLikeSchedulePayload = (value: unknown): boolean =>
  isRecord(value) && 'window' in value && 'scheduledTime' in value;

/** Lambda wraps a failed invocation's event once; a redriven record may be wrapped again, never often. */
const MAX_INVOCATION_RECORD_WRAPPING = 8;

/** On the queue, the producer's send time stands for when a request was received, whatever it is. */
const asQueueMessage = (read: Read): QueueMessage =>
  read.kind === 'alarm-ignored' ? read : { kind: 'request', parsed: read.parsed };

const interpret = (message: unknown, costGuards: readonly CostGuard[]): QueueMessage => {
  // Unwrapped in a loop, not by recursion, and bounded.
  let value = message;
  let prefix = '';
  for (let unwrapped = 0; looksLikeInvocationRecord(value); unwrapped++) {
    if (unwrapped === MAX_INVOCATION_RECORD_WRAPPING) {
      return {
        kind: 'request',
        parsed: {
          kind: 'invalid',
          violations: [
            {
              field: prefix,
              rule: 'depth',
              message: `wraps Lambda invocation records more than ${MAX_INVOCATION_RECORD_WRAPPING} times`,
            },
          ],
        },
      };
    }
    value = value.requestPayload;
    prefix = prefix === '' ? 'requestPayload' : `${prefix}.requestPayload`;
  }
  if (isRecord(value) && value.source === ALARM_EVENT_SOURCE) {
    return asQueueMessage(readAlarm(value, costGuards, prefix));
  }
  if (looksLikeEventBridgeEvent(value)) return { kind: 'request', parsed: parseStopEvent(value, prefix) };
  if (looksLikeSchedulePayload(value)) return asQueueMessage(readSchedulePayload(value, prefix));
  if (isRecord(value) && SCOPE_TASK_FIELD in value && Object.keys(value).length === 1) {
    return {
      kind: 'request',
      parsed: parseScopeTask(
        value[SCOPE_TASK_FIELD],
        prefix === '' ? SCOPE_TASK_FIELD : `${prefix}.${SCOPE_TASK_FIELD}`,
      ),
    };
  }
  return { kind: 'request', parsed: parseStopRequest(value, prefix) };
};

/** Reads one SQS message body. `costGuards` decide what a redriven alarm state change means. */
export const interpretQueueMessage = (body: string, costGuards: readonly CostGuard[]): QueueMessage => {
  const json = parseJsonBody(body);
  return json.kind === 'valid' ? interpret(json.value, costGuards) : { kind: 'request', parsed: json };
};
