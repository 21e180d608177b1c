/**
 * SQS trigger: a batch of stop requests from the stop queue. Records run in parallel and independently;
 * the reply is a partial batch response, so only records that must be retried come back
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { CostGuard } from '../policy/stack-config.ts';
import { issuedAtOf } from '../request/contract.ts';
import { toJsonText } from '../request/json-text.ts';
import { isRecord } from '../request/parse.ts';
import { STOP_TASK_HOLD_MS } from '../runtime/budget.ts';
import { accountIdOf } from '../runtime/lambda-context.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import type { StopRequestQueue } from '../stop/ports.ts';
import { interpretQueueMessage } from './queue-message.ts';
import {
  describeJsonType,
  type Interpreted,
  InvalidTriggerEventError,
  inInvocation,
  settle,
} from './skeleton.ts';

/** When the producer sent the message: a scope request without IssuedAt counts as issued then. */
export const sentAt = (record: { readonly attributes?: unknown }): { receivedAt?: string } => {
  const attributes = isRecord(record.attributes) ? record.attributes : {};
  const millis = Number(attributes.SentTimestamp);
  const receivedAt = millis > 0 ? issuedAtOf(millis) : undefined;
  return receivedAt !== undefined ? { receivedAt } : {};
};

/**
 * Checks what the batch processor relies on: a `Records` array whose every entry carries a message id (the
 * only way to name a record in a batch item failure). Anything else fails the whole invocation with one
 * line naming what is wrong; SQS then redelivers the batch and, in the end, its redrive policy keeps it.
 */
export const readSqsEvent = (event: unknown): SQSEvent => {
  if (!isRecord(event) || !Array.isArray(event.Records)) {
    throw new InvalidTriggerEventError(
      `not an SQS event: expected an object with a Records array, got ${describeJsonType(event)}`,
    );
  }
  event.Records.forEach((record: unknown, index) => {
    if (!isRecord(record) || typeof record.messageId !== 'string' || record.messageId === '') {
      throw new InvalidTriggerEventError(
        `not an SQS event: Records[${index}] has no messageId (got ${describeJsonType(record)}), so it cannot be reported as a batch item failure; the whole batch is retried`,
      );
    }
  });
  // Checked above: every record is an object with a message id; the rest of each is read with care below.
  return event as unknown as SQSEvent;
};

/** One SQS record: its body (which must be a string) read as any message the stop queue accepts. */
/** The record's receive count when it has reached `maxReceiveCount`: its last delivery before the DLQ. */
export const lastDeliveryOf = (
  record: { readonly attributes?: unknown },
  maxReceiveCount: number | undefined,
): { lastDelivery?: { receives: number } } => {
  const attributes = isRecord(record.attributes) ? record.attributes : {};
  const receives = Number(attributes.ApproximateReceiveCount);
  return maxReceiveCount !== undefined && Number.isSafeInteger(receives) && receives >= maxReceiveCount
    ? { lastDelivery: { receives } }
    : {};
};

export const interpretRecord = (
  record: SQSRecord,
  accountId: string,
  costGuards: readonly CostGuard[],
  maxReceiveCount?: number,
): Interpreted => {
  const body: unknown = record.body;
  const delivery = { kind: 'sqs', messageId: record.messageId } as const;
  if (typeof body !== 'string') {
    return {
      kind: 'request',
      incoming: {
        parsed: {
          kind: 'invalid',
          violations: [{ field: '(body)', rule: 'type', message: 'must be a string' }],
        },
        delivery,
        accountId,
        original: toJsonText(body),
      },
    };
  }
  const message = interpretQueueMessage(body, costGuards);
  if (message.kind === 'alarm-ignored') {
    // A redriven alarm state change that does not call for a stop.
    const { alarmName, why } = message;
    return { kind: 'alarm-ignored', alarmName, why, ids: { messageId: record.messageId } };
  }
  return {
    kind: 'request',
    incoming: {
      parsed: message.parsed,
      delivery,
      accountId,
      original: body,
      ...sentAt(record),
      ...lastDeliveryOf(record, maxReceiveCount),
    },
  };
};

/**
 * Runs work one after another, in the order it is handed in. The tasks of a scope's expansion take this
 * path: each is sized for the instance's whole Glue share and a read no older than the run guard allows;
 * run side by side they would share the budget, outlive their reads and hold their pages at once.
 */
export const oneAtATime = () => {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(work: () => Promise<T>): Promise<T> => {
    const run = tail.then(work, work);
    tail = run.catch(() => undefined);
    return run;
  };
};

const isScopeTask = (interpreted: Interpreted): boolean =>
  interpreted.kind === 'request' && interpreted.incoming.parsed.kind === 'task';

const handedOn = (interpreted: Interpreted): Interpreted =>
  interpreted.kind === 'request'
    ? { ...interpreted, incoming: { ...interpreted.incoming, handOn: true } }
    : interpreted;

/** The views a stop task names (a list task names none). */
const viewsOf = (interpreted: Interpreted): number =>
  interpreted.kind === 'request' && interpreted.incoming.parsed.kind === 'task'
    ? (interpreted.incoming.parsed.task.Views?.length ?? 0)
    : 0;

/**
 * The scope tasks of one batch, in the order they are handed in: those this invocation expects to start
 * within `holdMs` (at `msPerView` of Glue share per view; the first always) run one after another; the rest
 * are handed back to the stop queue at once, side by side, for instances with Glue share to spare
 * (`STOP_TASK_HOLD_MS`). A kept task whose turn comes when the queue has run dry (`queueDry`) is handed on
 * too: other instances may be idle for want of work. Only a message's first delivery is handed on: a
 * redelivery, or a duplicate SQS delivered, is kept, so copies of one task never multiply.
 */
export const taskTurns = (holdMs: number, msPerView: number, queueDry?: () => Promise<boolean>) => {
  const turns = oneAtATime();
  let plannedMs = 0;
  let kept = 0;
  return <T>(
    interpreted: Interpreted,
    work: (interpreted: Interpreted) => Promise<T>,
    delivery: { readonly first: boolean } = { first: true },
  ): Promise<T> => {
    if (kept > 0 && plannedMs >= holdMs && delivery.first) return work(handedOn(interpreted));
    const turn = kept;
    kept += 1;
    plannedMs += viewsOf(interpreted) * msPerView;
    return turns(async () =>
      turn > 0 && delivery.first && queueDry !== undefined && (await queueDry())
        ? work(handedOn(interpreted))
        : work(interpreted),
    );
  };
};

/** Whether the stop queue has no message waiting; an answer it cannot get counts as not dry. */
const queueDryCheck = (queue: StopRequestQueue): (() => Promise<boolean>) | undefined =>
  queue.waiting === undefined
    ? undefined
    : async () => {
        try {
          return (await queue.waiting?.()) === 0;
        } catch {
          return false;
        }
      };

export const createStopQueueHandler =
  (runtime: StopRuntime) =>
  (event: unknown, context: Context): Promise<SQSBatchResponse> =>
    inInvocation(runtime, context, (deadline) => {
      const batch = readSqsEvent(event);
      const accountId = accountIdOf(context);
      const { costGuards } = runtime.config.policy;
      const maxReceiveCount = runtime.config.stopQueueMaxReceiveCount;
      const share = runtime.config.glueMaxRequestsPerSecond;
      // A batch short of full: the queue is running dry, and idle instances are waiting for what is left.
      const full = batch.Records.length >= (runtime.config.stopQueueBatchSize ?? 1);
      const tasks = taskTurns(
        full ? STOP_TASK_HOLD_MS : 0,
        share ? 1_000 / share : 0,
        queueDryCheck(runtime.dependencies.commands.queue),
      );
      return processPartialResponse(
        batch,
        // Throwing (a retry) marks the record as a batch item failure: SQS redelivers it later. Requests run
        // side by side; scope tasks one after another, those beyond what the invocation holds handed on.
        (record: SQSRecord) => {
          const interpreted = interpretRecord(record, accountId, costGuards, maxReceiveCount);
          return isScopeTask(interpreted)
            ? tasks(interpreted, (turn) => settle(runtime, turn, deadline), {
                first: !(Number(record.attributes?.ApproximateReceiveCount) > 1),
              })
            : settle(runtime, interpreted, deadline);
        },
        new BatchProcessor(EventType.SQS),
        {
          context,
          processInParallel: true,
          // A batch where every record must be retried is still a normal partial response, not a crash.
          throwOnFullBatchFailure: false,
        },
      );
    });
