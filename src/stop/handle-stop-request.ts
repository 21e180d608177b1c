/**
 * The stop policy, from a parsed message to exactly one outcome. Handlers call this once per request and
 * translate the outcome into their trigger's reply; every decision lives here.
 */
import type { StopTarget } from '../request/contract.ts';
import { describeViolations, type ParsedStopMessage } from '../request/parse.ts';
import { PermanentStopError, TransientStopError } from './errors.ts';
import { type DeliveryIdentity, deriveIdempotencyKey } from './idempotency-key.ts';
import type { StopOutcome, Trigger } from './outcome.ts';
import type { OutcomeReporter, RejectedRequest, RejectedRequestParker, StopExecutor } from './ports.ts';

export interface StopDependencies {
  readonly executeStop: StopExecutor;
  readonly parker: RejectedRequestParker;
  readonly report: OutcomeReporter;
  readonly clock?: () => number;
}

/** One request as a handler hands it over. */
export interface IncomingStopRequest {
  readonly parsed: ParsedStopMessage;
  readonly delivery: DeliveryIdentity;
  /** The function's own account (from the invocation context): the default CatalogId. Never the event's. */
  readonly accountId: string;
  /** The message as it arrived, kept verbatim if the request is parked. */
  readonly original: string;
}

type OutcomeFields = Omit<StopOutcome, 'trigger' | 'durationMs' | 'messageId' | 'eventId' | 'replayed'> & {
  readonly replayed?: boolean;
};

const triggerOf = (delivery: DeliveryIdentity): Trigger => delivery.kind;

/**
 * Validates, stops at most once, classifies, parks refusals and reports the outcome.
 * Resolves with the outcome in every case; `retry` means the trigger must deliver the request again.
 */
export const handleStopRequest = async (
  incoming: IncomingStopRequest,
  deps: StopDependencies,
): Promise<StopOutcome> => {
  const clock = deps.clock ?? Date.now;
  const startedAt = clock();
  const { delivery, parsed } = incoming;
  const eventId = parsed.eventId ?? delivery.eventId;

  const finish = (fields: OutcomeFields): StopOutcome => {
    const outcome: StopOutcome = {
      ...fields,
      replayed: fields.replayed ?? false,
      trigger: triggerOf(delivery),
      ...(delivery.kind === 'sqs' ? { messageId: delivery.messageId } : {}),
      ...(eventId !== undefined ? { eventId } : {}),
      durationMs: clock() - startedAt,
    };
    deps.report(outcome);
    return outcome;
  };

  const park = async (
    rejection: Omit<RejectedRequest, 'original' | 'trigger' | 'messageId' | 'eventId'>,
    fields: Omit<OutcomeFields, 'outcome' | 'reason' | 'detail'>,
  ): Promise<StopOutcome> => {
    try {
      await deps.parker.park({
        ...rejection,
        original: incoming.original,
        trigger: triggerOf(delivery),
        ...(delivery.kind === 'sqs' ? { messageId: delivery.messageId } : {}),
        ...(eventId !== undefined ? { eventId } : {}),
      });
    } catch (error) {
      // Never drop a refused request: if it cannot be parked, it goes back to the trigger.
      return finish({
        ...fields,
        outcome: 'retry',
        reason: 'dead-letter-queue-unavailable',
        detail: `could not park a ${rejection.reason} request: ${String(error)}`,
      });
    }
    return finish({ ...fields, outcome: 'rejected', reason: rejection.reason, detail: rejection.detail });
  };

  if (!parsed.ok) {
    return park(
      {
        reason: 'invalid-request',
        detail: describeViolations(parsed.violations),
        violations: parsed.violations,
      },
      {},
    );
  }

  const { request } = parsed;
  const target: StopTarget = {
    CatalogId: request.CatalogId ?? incoming.accountId,
    DatabaseName: request.DatabaseName,
    TableName: request.TableName,
  };
  const idempotencyKey = deriveIdempotencyKey(request.IdempotencyKey, {
    ...delivery,
    ...(eventId !== undefined ? { eventId } : {}),
  });
  const context = {
    target,
    idempotencyKey,
    ...(request.RequestedBy !== undefined ? { requestedBy: request.RequestedBy } : {}),
    ...(request.Reason !== undefined ? { requestReason: request.Reason } : {}),
  };

  let recorded: Awaited<ReturnType<StopDependencies['executeStop']>>;
  try {
    recorded = await deps.executeStop({ idempotencyKey, target });
  } catch (error) {
    if (error instanceof PermanentStopError) {
      return park({ reason: error.reason, detail: error.message, idempotencyKey }, context);
    }
    const retry =
      error instanceof TransientStopError
        ? error
        : new TransientStopError('unexpected-error', String(error), { cause: error });
    return finish({ ...context, outcome: 'retry', reason: retry.reason, detail: retry.message });
  }
  return finish({ ...context, outcome: recorded.result, replayed: recorded.replayed });
};
