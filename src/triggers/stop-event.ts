/**
 * EventBridge trigger: one stop request event delivered by the stack's rule (asynchronous invocation).
 * A retry outcome fails the invocation, so Lambda's async retries and the on-failure destination take over
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
 */
import type { Context } from 'aws-lambda';
import { issuedAtOf } from '../request/contract.ts';
import { MAX_NESTING, toJsonText, valueNestsDeeperThan } from '../request/json-text.ts';
import { isRecord, nestingViolation, type ParsedStopMessage, parseStopEvent } from '../request/parse.ts';
import { accountIdOf } from '../runtime/lambda-context.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import type { StopOutcome } from '../stop/outcome.ts';
import { createAsyncTrigger, type Interpreted } from './skeleton.ts';

/** When the event happened: a scope request without IssuedAt counts as issued then. */
export const eventTime = (event: unknown): { receivedAt?: string } => {
  const time = isRecord(event) ? event.time : undefined;
  const receivedAt = typeof time === 'string' ? issuedAtOf(Date.parse(time)) : undefined;
  return receivedAt !== undefined ? { receivedAt } : {};
};

/** The event's own id, when it has a usable one. */
export const eventIdOf = (event: unknown): string | undefined =>
  isRecord(event) && typeof event.id === 'string' && event.id !== '' ? event.id : undefined;

/** What a trigger reads from its event: a request (valid or not), or an alarm that calls for no stop. */
export type Read =
  | { readonly kind: 'request'; readonly parsed: ParsedStopMessage; readonly receivedAt?: string }
  | { readonly kind: 'alarm-ignored'; readonly alarmName: string; readonly why: string };

/**
 * What every asynchronous trigger does first: refuse a value too deep to be read safely, keep the event as
 * SQS-safe JSON text to park, and name it by its id (Lambda keeps the request id across its async retries,
 * so that stands in for a missing one).
 */
export const asyncDelivery = (
  event: unknown,
  context: Context,
  kind: 'eventbridge' | 'alarm' | 'schedule',
  read: (event: unknown) => Read,
): Interpreted => {
  const eventId = eventIdOf(event) ?? context.awsRequestId;
  const reading: Read = valueNestsDeeperThan(event, MAX_NESTING)
    ? { kind: 'request', parsed: { kind: 'invalid', violations: [nestingViolation()] } }
    : read(event);
  if (reading.kind === 'alarm-ignored') return { ...reading, ids: { eventId } };
  const { parsed, receivedAt } = reading;
  return {
    kind: 'request',
    incoming: {
      parsed,
      delivery: { kind, eventId: parsed.eventId ?? eventId },
      accountId: accountIdOf(context),
      original: toJsonText(event),
      ...(receivedAt !== undefined ? { receivedAt } : {}),
    },
  };
};

export const createStopEventHandler = (runtime: StopRuntime) =>
  createAsyncTrigger<StopOutcome>(runtime, (event, context) =>
    asyncDelivery(event, context, 'eventbridge', (e) => ({
      kind: 'request',
      parsed: parseStopEvent(e),
      ...eventTime(e),
    })),
  );
