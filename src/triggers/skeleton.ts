/**
 * The one path every trigger takes: start the invocation (and its deadline), take each delivery to exactly
 * one result, hand `retry` back to the trigger, finish the invocation. Triggers only say how their event
 * becomes deliveries (`Interpreted`) and how results become their reply, so none of them can get the retry
 * path wrong: a `retry` outcome, a request that could not be parked included, is always thrown, which
 * becomes a batch item failure on SQS and a failed invocation (Lambda's retries, then the on-failure
 * destination) on the asynchronous triggers.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { fieldName, isRecord } from '../request/parse.ts';
import { ALARM_IGNORED_METRIC } from '../runtime/metrics.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import type { Deadline } from '../stop/deadline.ts';
import { StopRetryError } from '../stop/errors.ts';
import { handleStopRequest, type IncomingStopRequest } from '../stop/handle-stop-request.ts';
import type { StopOutcome } from '../stop/outcome.ts';

/** What a trigger makes of one delivery. */
export type Interpreted =
  | { readonly kind: 'request'; readonly incoming: Omit<IncomingStopRequest, 'deadline'> }
  | {
      readonly kind: 'alarm-ignored';
      readonly alarmName: string;
      readonly why: string;
      readonly ids: Readonly<Record<string, string>>;
    };

/** An alarm state change that calls for no stop: done, and said so. */
export interface AlarmIgnored {
  /** Tagged like a `StopOutcome`: the alarm trigger answers with one or the other. */
  readonly outcome: 'alarm-ignored';
  readonly alarmName: string;
  readonly why: string;
}

/**
 * The event as a whole is not what the trigger delivers (no SQS record list, a record without a message
 * id): nothing can be answered record by record, so the invocation fails with this one clear line and the
 * trigger's own retry and dead-letter handling keep the event.
 */
export class InvalidTriggerEventError extends Error {
  override readonly name = 'InvalidTriggerEventError';
}

/** Names a value's JSON type for an error line: `null`, `an array`, `a string`, … */
export const describeJsonType = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isRecord(value)) {
    const keys = Object.keys(value);
    return keys.length === 0
      ? 'an empty object'
      : `an object with ${keys.slice(0, 5).map(fieldName).join(', ')}${keys.length > 5 ? ', …' : ''}`;
  }
  return `a ${typeof value}`;
};

/** Starts the invocation, runs `work` to its deadline, and always finishes it (outcome events, metrics). */
export const inInvocation = async <T>(
  runtime: StopRuntime,
  context: Context,
  work: (deadline: Deadline) => Promise<T>,
): Promise<T> => {
  const deadline = runtime.startInvocation(context);
  try {
    return await work(deadline);
  } catch (error) {
    if (error instanceof InvalidTriggerEventError) runtime.logger.error(error.message);
    throw error;
  } finally {
    await runtime.endInvocation();
  }
};

/** One delivery to exactly one result; `retry` is thrown as `StopRetryError`. */
export const settle = async (
  runtime: StopRuntime,
  interpreted: Interpreted,
  deadline: Deadline,
): Promise<StopOutcome | AlarmIgnored> => {
  if (interpreted.kind === 'alarm-ignored') {
    const { alarmName, why } = interpreted;
    runtime.logger.info(`alarm ${alarmName} ignored: ${why}`, { alarmName, ...interpreted.ids });
    runtime.metrics.addMetric(ALARM_IGNORED_METRIC, MetricUnit.Count, 1);
    return { outcome: 'alarm-ignored', alarmName, why };
  }
  const outcome = await handleStopRequest({ ...interpreted.incoming, deadline }, runtime.dependencies);
  if (outcome.outcome === 'retry') throw new StopRetryError(outcome);
  return outcome;
};

/**
 * An asynchronous trigger (EventBridge rule, alarm rule, Scheduler): one delivery per invocation. The
 * result is the invocation's return value; a retry fails the invocation.
 */
export const createAsyncTrigger =
  <Result extends StopOutcome | AlarmIgnored = StopOutcome>(
    runtime: StopRuntime,
    interpret: (event: unknown, context: Context) => Interpreted,
  ) =>
  (event: unknown, context: Context): Promise<Result> =>
    inInvocation(runtime, context, async (deadline) => {
      const result = await settle(runtime, interpret(event, context), deadline);
      return result as Result;
    });
