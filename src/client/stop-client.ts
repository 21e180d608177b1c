/**
 * The producer client: checks requests with the stack's own contract, sends the valid ones by SQS or
 * EventBridge in batches, sends again what a batch reports as failed, and answers one result per request.
 */
import type { StopRequest } from '../request/types.ts';
import {
  createEventBusTransport,
  createQueueTransport,
  MAX_CALL_BYTES,
  MAX_ENTRIES_PER_CALL,
  NO_RESULT,
  type Transport,
} from './transports.ts';
import type { StopClient, StopClientOptions, StopManyOptions, StopResult } from './types.ts';
import { validateStopRequest } from './validate.ts';

const DEFAULT_MAX_ATTEMPTS = 4;
const DEFAULT_BASE_DELAY_MS = 100;
/** Calls in flight at once: enough to keep a few thousand requests moving, few enough not to be throttled. */
const PARALLEL_CALLS = 4;

interface Outgoing {
  /** Position in the caller's list. */
  readonly index: number;
  readonly request: StopRequest;
  /** JSON text of the request. The contract refuses the characters SQS refuses, so it needs no escaping. */
  readonly body: string;
}

interface RetrySettings {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Exponential, with jitter so that many producers retrying at once do not call in step. */
const backoff = (resend: number, { baseDelayMs }: RetrySettings): number =>
  baseDelayMs * 2 ** (resend - 1) * (0.5 + Math.random() / 2);

/** Up to ten entries per call and under the call size limit, in order; an entry alone always fits. */
const callsOf = (items: readonly Outgoing[], entryBytes: (body: string) => number): Outgoing[][] => {
  const calls: Outgoing[][] = [];
  let current: Outgoing[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = entryBytes(item.body);
    if (current.length === MAX_ENTRIES_PER_CALL || (current.length > 0 && bytes + size > MAX_CALL_BYTES)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
};

const sentResult = (transport: Transport, id: string, request: StopRequest): StopResult =>
  transport.name === 'sqs'
    ? { kind: 'sent', transport: 'sqs', messageId: id, request }
    : { kind: 'sent', transport: 'eventbridge', eventId: id, request };

const failed = (item: Outgoing, code: string, message: string, attempts: number): StopResult => ({
  kind: 'failed',
  request: item.request,
  code,
  message,
  attempts,
});

/** Sends one call's entries, then again those reported as retryable failures, until none is left. */
const sendCall = async (
  transport: Transport,
  call: readonly Outgoing[],
  retry: RetrySettings,
): Promise<Map<number, StopResult>> => {
  const results = new Map<number, StopResult>();
  let pending = [...call];
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(backoff(attempt - 1, retry));
    const answers = await transport.send(pending.map((item) => item.body));
    const again: Outgoing[] = [];
    pending.forEach((item, position) => {
      const answer = answers[position] ?? NO_RESULT;
      if (answer.ok) results.set(item.index, sentResult(transport, answer.id, item.request));
      else if (answer.retryable && attempt < retry.maxAttempts) again.push(item);
      else results.set(item.index, failed(item, answer.code, answer.message, attempt));
    });
    pending = again;
  }
  return results;
};

/** Runs `work` over `items` with at most `limit` running at once. */
const forEachInParallel = async <T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> => {
  let next = 0;
  const worker = async () => {
    for (let item = items[next++]; item !== undefined; item = items[next++]) await work(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
};

const checkedRetry = (options: StopClientOptions): RetrySettings => {
  const maxAttempts = options.retry?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const baseDelayMs = options.retry?.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new TypeError(`retry.maxAttempts must be a whole number of at least 1, got ${maxAttempts}`);
  }
  if (!Number.isFinite(baseDelayMs) || baseDelayMs < 0) {
    throw new TypeError(`retry.baseDelayMs must be a number of milliseconds, at least 0, got ${baseDelayMs}`);
  }
  return { maxAttempts, baseDelayMs };
};

const transportFor = (options: StopClientOptions): Transport => {
  const hasQueue = options.queueUrl !== undefined;
  const hasBus = options.eventBusName !== undefined;
  if (hasQueue === hasBus) {
    throw new TypeError(
      'createStopClient needs exactly one of queueUrl (SQS) and eventBusName (EventBridge)',
    );
  }
  if (options.queueUrl !== undefined) {
    if (typeof options.queueUrl !== 'string' || options.queueUrl === '') {
      throw new TypeError('queueUrl must be the stop queue URL (the stack output StopQueueUrl)');
    }
    return createQueueTransport(options.queueUrl, options.sqs);
  }
  if (typeof options.eventBusName !== 'string' || options.eventBusName === '') {
    throw new TypeError('eventBusName must be the name or ARN of an event bus (default: "default")');
  }
  return createEventBusTransport(options.eventBusName, options.eventBridge, options.source);
};

/**
 * Creates a client that publishes stop requests to a glue-mv-stop stack, on its stop queue or event bus.
 * Throws a `TypeError` for options that name no transport, or both; never throws for a request.
 * @example
 * const client = createStopClient({ queueUrl: stopQueueUrl });
 * const result = await client.stop({ DatabaseName: 'sales', TableName: 'daily_revenue_mv', RequestedBy: 'billing' });
 * if (result.kind !== 'sent') console.error(result.kind, result.message);
 */
export const createStopClient = (options: StopClientOptions): StopClient => {
  const transport = transportFor(options);
  const retry = checkedRetry(options);

  const stopMany = async (
    requests: readonly StopRequest[],
    { onProgress }: StopManyOptions = {},
  ): Promise<StopResult[]> => {
    const total = requests.length;
    const results = new Map<number, StopResult>();
    // An exception from onProgress must not leave requests half sent: it is thrown once all have an answer.
    let progressError: { error: unknown } | undefined;
    const reportProgress = () => {
      if (onProgress === undefined || progressError !== undefined) return;
      try {
        onProgress(results.size, total);
      } catch (error) {
        progressError = { error };
      }
    };

    const outgoing: Outgoing[] = [];
    // By index, not forEach: a hole in a list from JavaScript is a request too (an invalid one).
    for (let index = 0; index < total; index++) {
      const checked = validateStopRequest(requests[index]);
      if (checked.kind === 'invalid') {
        results.set(index, { kind: 'invalid', violations: checked.violations, message: checked.message });
      } else {
        outgoing.push({ index, request: checked.request, body: JSON.stringify(checked.request) });
      }
    }
    if (results.size > 0) reportProgress();

    await forEachInParallel(callsOf(outgoing, transport.entryBytes), PARALLEL_CALLS, async (call) => {
      for (const [index, result] of await sendCall(transport, call, retry)) results.set(index, result);
      reportProgress();
    });

    if (progressError !== undefined) throw progressError.error;
    return Array.from({ length: total }, (_, index) => {
      const result = results.get(index);
      if (result === undefined) throw new Error(`no result for request ${index}: a bug in the stop client`);
      return result;
    });
  };

  return {
    stopMany,
    async stop(request) {
      const [result] = await stopMany([request]);
      if (result === undefined) throw new Error('no result for the request: a bug in the stop client');
      return result;
    },
  };
};
