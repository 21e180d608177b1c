/**
 * The stop policy, from a parsed message to exactly one outcome. Handlers call this once per request and
 * translate the outcome into their trigger's reply; every decision lives here.
 */

import { type AllowVerdict, checkAllowed } from '../policy/allow-list.ts';
import type { RuntimePolicy } from '../policy/stack-config.ts';
import type { ScopeTarget, StopRequest, StopTarget } from '../request/contract.ts';
import { describeViolations, type ParsedStopMessage } from '../request/parse.ts';
import { type Deadline, DeadlineExceededError, hasPassed, NO_DEADLINE, withinDeadline } from './deadline.ts';
import { PermanentStopError, TransientStopError } from './errors.ts';
import { type DeliveryIdentity, deriveIdempotencyKey } from './idempotency-key.ts';
import type { StopOutcome } from './outcome.ts';
import type {
  OutcomeReporter,
  RejectedRequest,
  RejectedRequestParker,
  StopCommand,
  StopExecutor,
} from './ports.ts';

export interface StopDependencies {
  readonly executeStop: StopExecutor;
  readonly parker: RejectedRequestParker;
  readonly report: OutcomeReporter;
  readonly policy: Pick<RuntimePolicy, 'allow' | 'dryRun'>;
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
  /**
   * When the trigger received the request (SQS SentTimestamp, the event's time): a scope request without
   * IssuedAt is treated as issued then, so its expansion never stops a refresh that started later.
   */
  readonly receivedAt?: string;
  /** The invocation's deadline: the request gives up as `retry` (`deadline-exceeded`) when it passes. */
  readonly deadline?: Deadline;
}

type OutcomeFields = Omit<
  StopOutcome,
  'trigger' | 'durationMs' | 'messageId' | 'eventId' | 'replayed' | 'dryRun'
> & { readonly replayed?: boolean; readonly dryRun?: boolean };

const requestContext = (request: StopRequest, idempotencyKey: string) => ({
  idempotencyKey,
  ...(request.ParentIdempotencyKey !== undefined
    ? { parentIdempotencyKey: request.ParentIdempotencyKey }
    : {}),
  ...(request.RequestedBy !== undefined ? { requestedBy: request.RequestedBy } : {}),
  ...(request.Reason !== undefined ? { requestReason: request.Reason } : {}),
});

const commandFor = (
  request: StopRequest,
  accountId: string,
  idempotencyKey: string,
  dryRun: boolean,
  receivedAt: string,
): StopCommand => {
  const catalogId = request.CatalogId ?? accountId;
  if (request.TableNames !== undefined) {
    const target: ScopeTarget = {
      CatalogId: catalogId,
      DatabaseName: request.DatabaseName,
      TableNames: request.TableNames,
    };
    return {
      kind: 'scope',
      idempotencyKey,
      target,
      issuedAt: request.IssuedAt ?? receivedAt,
      accountId,
      dryRun,
      ...(request.RequestedBy !== undefined ? { requestedBy: request.RequestedBy } : {}),
      ...(request.Reason !== undefined ? { reason: request.Reason } : {}),
    };
  }
  const target: StopTarget = {
    CatalogId: catalogId,
    DatabaseName: request.DatabaseName,
    TableName: request.TableName,
  };
  return {
    kind: 'table',
    idempotencyKey,
    target,
    guard: {
      ...(request.RunId !== undefined ? { runId: request.RunId } : {}),
      ...(request.IssuedAt !== undefined ? { issuedAt: request.IssuedAt } : {}),
    },
    dryRun,
  };
};

const hasGlob = (name: string) => /[*?]/.test(name);

/**
 * The allow-list, before any call: an exact request by its view; a scope by its catalog and database and,
 * when it names views without globs only, by those names (globs are filtered after the List, view by view).
 */
const checkRequestAllowed = (
  rules: RuntimePolicy['allow'],
  accountId: string,
  catalogId: string,
  request: StopRequest,
): AllowVerdict => {
  const database = { CatalogId: catalogId, DatabaseName: request.DatabaseName };
  if (request.TableNames === undefined) {
    return checkAllowed(rules, accountId, { ...database, TableName: request.TableName });
  }
  const scopeVerdict = checkAllowed(rules, accountId, database);
  if (!scopeVerdict.allowed || request.TableNames.some(hasGlob)) return scopeVerdict;
  const verdicts = request.TableNames.map((TableName) =>
    checkAllowed(rules, accountId, { ...database, TableName }),
  );
  if (verdicts.some((v) => v.allowed)) return { allowed: true };
  return {
    allowed: false,
    reason: 'table-not-allowed',
    detail: `no view of the scope is in the allow-list: ${request.TableNames.map((t) => `${request.DatabaseName}.${t}`).join(', ')}`,
  };
};

/**
 * Validates, applies the allow-list, runs the command at most once, classifies, parks refusals and
 * reports the outcome. Resolves with the outcome in every case; `retry` means the trigger must deliver
 * the request again.
 */
export const handleStopRequest = async (
  incoming: IncomingStopRequest,
  deps: StopDependencies,
): Promise<StopOutcome> => {
  const clock = deps.clock ?? Date.now;
  const deadline = incoming.deadline ?? NO_DEADLINE;
  const startedAt = clock();
  const { delivery, parsed } = incoming;
  const eventId = parsed.eventId ?? delivery.eventId;
  const ids = {
    ...(delivery.kind === 'sqs' ? { messageId: delivery.messageId } : {}),
    ...(eventId !== undefined ? { eventId } : {}),
  };

  const finish = (fields: OutcomeFields): StopOutcome => {
    const outcome: StopOutcome = {
      ...fields,
      replayed: fields.replayed ?? false,
      dryRun: fields.dryRun ?? false,
      trigger: delivery.kind,
      ...ids,
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
      await withinDeadline(
        deps.parker.park({ ...rejection, original: incoming.original, trigger: delivery.kind, ...ids }),
        deadline,
      );
    } catch (error) {
      // Never drop a refused request: if it cannot be parked, it goes back to the trigger.
      return finish({
        ...fields,
        outcome: 'retry',
        reason:
          error instanceof DeadlineExceededError ? 'deadline-exceeded' : 'dead-letter-queue-unavailable',
        detail: `could not park a ${rejection.reason} request: ${String(error)}`,
      });
    }
    return finish({
      ...fields,
      outcome: rejection.outcome,
      reason: rejection.reason,
      detail: rejection.detail,
    });
  };

  const decide = async (): Promise<StopOutcome> => {
    if (hasPassed(deadline, clock)) {
      return finish({
        outcome: 'retry',
        reason: 'deadline-exceeded',
        detail: 'not started: the invocation deadline has passed',
      });
    }

    if (!parsed.ok) {
      const detail = describeViolations(parsed.violations);
      return park(
        { outcome: 'rejected', reason: 'invalid-request', detail, violations: parsed.violations },
        {},
      );
    }

    const { request } = parsed;
    const catalogId = request.CatalogId ?? incoming.accountId;
    const dryRun = request.DryRun === true || deps.policy.dryRun;
    // A dry run must not use up the key: the real request that follows a rehearsal still acts.
    const idempotencyKey = `${dryRun ? 'dry-run:' : ''}${deriveIdempotencyKey(request.IdempotencyKey, {
      ...delivery,
      ...(eventId ? { eventId } : {}),
    })}`;
    const receivedAt = incoming.receivedAt ?? new Date(startedAt).toISOString();
    const command = commandFor(request, incoming.accountId, idempotencyKey, dryRun, receivedAt);
    const context = {
      ...requestContext(request, idempotencyKey),
      ...(command.kind === 'table' ? { target: command.target } : { scope: command.target }),
      dryRun,
    };

    const verdict = checkRequestAllowed(deps.policy.allow, incoming.accountId, catalogId, request);
    if (!verdict.allowed) {
      return park(
        { outcome: 'not-allowed', reason: verdict.reason, detail: verdict.detail, idempotencyKey },
        context,
      );
    }

    let recorded: Awaited<ReturnType<StopExecutor>>;
    try {
      recorded = await withinDeadline(deps.executeStop(command), deadline);
    } catch (error) {
      if (error instanceof PermanentStopError) {
        return park(
          { outcome: 'rejected', reason: error.reason, detail: error.message, idempotencyKey },
          context,
        );
      }
      const retry =
        error instanceof TransientStopError
          ? error
          : error instanceof DeadlineExceededError
            ? new TransientStopError('deadline-exceeded', error.message, { cause: error })
            : new TransientStopError('unexpected-error', String(error), { cause: error });
      return finish({ ...context, outcome: 'retry', reason: retry.reason, detail: retry.message });
    }
    return finish({
      ...context,
      outcome: recorded.result,
      replayed: recorded.replayed,
      ...(recorded.runId !== undefined ? { runId: recorded.runId } : {}),
      ...(recorded.queued !== undefined ? { queued: recorded.queued } : {}),
      ...(recorded.detail !== undefined ? { detail: recorded.detail } : {}),
    });
  };

  try {
    return await decide();
  } catch (error) {
    // A fault of our own must not lose the request either: it goes back to its trigger, and says why.
    return finish({
      outcome: 'retry',
      reason: 'unexpected-error',
      detail: `unexpected error: ${String(error)}`,
    });
  }
};
