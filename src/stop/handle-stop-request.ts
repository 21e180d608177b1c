/**
 * The stop policy, from a parsed message to exactly one outcome. Triggers call this once per request and
 * translate the outcome into their reply; every decision lives here. The path runs down the layers once:
 * contract (parsed) → policy (allow-list) → the command, run at most once through the `RunOnce` port →
 * Glue and the stop queue through their ports → one outcome.
 */

import { type AllowVerdict, checkAllowed } from '../policy/allow-list.ts';
import { contractText } from '../policy/contract-text.ts';
import type { RuntimePolicy } from '../policy/stack-config.ts';
import {
  PARENT_KEY_MAX_LENGTH,
  type ScopeTarget,
  type StopRequest,
  type StopTarget,
} from '../request/contract.ts';
import { describeViolations, type ParsedMessage } from '../request/parse.ts';
import { type ScopeTask, scopeTaskBody } from '../request/scope-task.ts';
import { type Deadline, hasPassed, NO_DEADLINE, withinDeadline } from './deadline.ts';
import { StopError, toStopError } from './errors.ts';
import { type DeliveryIdentity, deriveIdempotencyKey } from './idempotency-key.ts';
import type { MaybeSubject, NotAllowedReason, RejectionReason, StopOutcome, Subject } from './outcome.ts';
import type { OutcomeReporter, RejectedRequestParker, RunOnce, StopCommand } from './ports.ts';
import { type CommandDependencies, runStopCommand } from './run-command.ts';
import { type ExpansionContext, scopeTaskKey, type ViewDone } from './scope-expansion.ts';

export interface StopDependencies {
  /** What a command needs: Glue, the stop queue and the allow-list (run inside `once`). */
  readonly commands: CommandDependencies;
  /** Idempotency: each command runs at most once per key. */
  readonly once: RunOnce;
  readonly parker: RejectedRequestParker;
  readonly report: OutcomeReporter;
  readonly policy: Pick<RuntimePolicy, 'allow' | 'dryRun'>;
  readonly clock?: () => number;
}

/** One request as a trigger hands it over. */
export interface IncomingStopRequest {
  readonly parsed: ParsedMessage;
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
  /**
   * This is the trigger's last delivery (SQS: the receive count has reached the redrive policy's
   * `maxReceiveCount`): a request that would be retried is parked instead, `rejected` with reason
   * `retries-exhausted`, so that it reaches the dead-letter queue with its reason rather than without.
   */
  readonly lastDelivery?: { readonly receives: number };
  /**
   * Scope tasks only: this instance will not start the task soon (it holds enough work, or the queue has
   * run dry while other instances may be idle), so the task is handed back to the stop queue unstarted, as
   * it is (same content, same key), for an instance with Glue budget to spare. Nothing is run or recorded
   * for it here.
   */
  readonly handOn?: boolean;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An outcome as the decision makes it; `finish` adds what every outcome says. */
type Decided = DistributiveOmit<
  StopOutcome,
  'trigger' | 'durationMs' | 'messageId' | 'eventId' | 'replayed' | 'dryRun'
> & { readonly replayed?: boolean; readonly dryRun?: boolean };

/** What a request said about itself, carried into its outcome whatever the outcome is. */
type Meta = Readonly<{
  idempotencyKey?: string;
  parentIdempotencyKey?: string;
  requestedBy?: string;
  requestReason?: string;
  dryRun?: boolean;
}>;

const requestMeta = (request: StopRequest, idempotencyKey: string, dryRun: boolean): Meta => ({
  idempotencyKey,
  dryRun,
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
  if (scopeVerdict.kind === 'not-allowed' || request.TableNames.some(hasGlob)) return scopeVerdict;
  const verdicts = request.TableNames.map((TableName) =>
    checkAllowed(rules, accountId, { ...database, TableName }),
  );
  if (verdicts.some((v) => v.kind === 'allowed')) return { kind: 'allowed' };
  return {
    kind: 'not-allowed',
    reason: 'table-not-allowed',
    detail: `no view of the scope is in the allow-list: ${request.TableNames.map((t) => `${request.DatabaseName}.${t}`).join(', ')}`,
  };
};

/**
 * Validates, applies the allow-list, runs the command at most once, classifies, parks refusals and
 * reports the outcome. Resolves with the outcome in every case, never rejects; `retry` means the trigger
 * must deliver the request again.
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

  const finish = (decided: Decided): StopOutcome => {
    const outcome = {
      ...decided,
      replayed: decided.replayed ?? false,
      dryRun: decided.dryRun ?? false,
      trigger: delivery.kind,
      ...ids,
      durationMs: clock() - startedAt,
    } satisfies StopOutcome;
    deps.report(outcome);
    return outcome;
  };

  /**
   * Parks a refusal, or hands it back to the trigger when it cannot be parked: never dropped. Resolves
   * with the retry outcome when parking failed, with nothing when the refusal is parked.
   */
  const parkOrRetry = async (
    refusal: {
      readonly outcome: 'not-allowed' | 'rejected';
      readonly reason: NotAllowedReason | RejectionReason;
    },
    detail: string,
    context: Meta & MaybeSubject,
  ): Promise<StopOutcome | undefined> => {
    try {
      await withinDeadline(
        deps.parker.park({
          ...refusal,
          detail,
          ...(parsed.kind === 'invalid' ? { violations: parsed.violations } : {}),
          ...(context.idempotencyKey !== undefined ? { idempotencyKey: context.idempotencyKey } : {}),
          original: incoming.original,
          trigger: delivery.kind,
          ...ids,
        }),
        deadline,
      );
      return undefined;
    } catch (error) {
      const { failure } = toStopError(error);
      return finish({
        ...context,
        outcome: 'retry',
        reason:
          failure.reason === 'deadline-exceeded' ? 'deadline-exceeded' : 'dead-letter-queue-unavailable',
        detail: `could not park a ${refusal.reason} request: ${String(error)}`,
      });
    }
  };
  const reject = async (reason: RejectionReason, detail: string, context: Meta & MaybeSubject) =>
    (await parkOrRetry({ outcome: 'rejected', reason }, detail, context)) ??
    finish({ ...context, outcome: 'rejected', reason, detail });
  const refuse = async (reason: NotAllowedReason, detail: string, context: Meta & Subject) =>
    (await parkOrRetry({ outcome: 'not-allowed', reason }, detail, context)) ??
    finish({ ...context, outcome: 'not-allowed', reason, detail });

  const requestCommand = (request: StopRequest) => {
    const dryRun = request.DryRun === true || deps.policy.dryRun;
    // A dry run must not use up the key: the real request that follows a rehearsal still acts.
    const idempotencyKey = `${dryRun ? 'dry-run:' : ''}${deriveIdempotencyKey(request.IdempotencyKey, {
      ...delivery,
      ...(eventId ? { eventId } : {}),
    })}`;
    const receivedAt = incoming.receivedAt ?? new Date(startedAt).toISOString();
    return {
      command: commandFor(request, incoming.accountId, idempotencyKey, dryRun, receivedAt),
      meta: requestMeta(request, idempotencyKey, dryRun),
      verdict: checkRequestAllowed(
        deps.policy.allow,
        incoming.accountId,
        request.CatalogId ?? incoming.accountId,
        request,
      ),
    };
  };

  /** A task of an expansion: keyed by its content; its database is checked again (a task may be forged). */
  const taskCommand = (received: ScopeTask) => {
    const dryRun = received.DryRun === true || deps.policy.dryRun;
    const task: ScopeTask = dryRun ? { ...received, DryRun: true } : received;
    const idempotencyKey = scopeTaskKey(task);
    const command: StopCommand = {
      kind: 'task',
      idempotencyKey,
      target: { CatalogId: task.CatalogId, DatabaseName: task.DatabaseName, TableNames: task.TableNames },
      task,
      accountId: incoming.accountId,
    };
    const meta: Meta = {
      idempotencyKey,
      dryRun,
      parentIdempotencyKey: contractText(task.RootKey, PARENT_KEY_MAX_LENGTH),
      ...(task.RequestedBy !== undefined ? { requestedBy: task.RequestedBy } : {}),
      ...(task.Reason !== undefined ? { requestReason: task.Reason } : {}),
    };
    const verdict = checkAllowed(deps.policy.allow, incoming.accountId, {
      CatalogId: task.CatalogId,
      DatabaseName: task.DatabaseName,
    });
    return { command, meta, verdict };
  };

  /** Sends the task back to the stop queue exactly as it came: its copy keeps its key and runs once. */
  const handOn = async (task: ScopeTask, meta: Meta, scope: ScopeTarget): Promise<StopOutcome> => {
    try {
      await withinDeadline(deps.commands.queue.enqueue([scopeTaskBody(task)]), deadline);
    } catch (error) {
      const { failure, message } = toStopError(error);
      // Not sent: the task comes back with its message (SQS redelivers it) and is run then.
      const reason = failure.kind === 'retry' ? failure.reason : 'fan-out-incomplete';
      return finish({ ...meta, scope, outcome: 'retry', reason, detail: message });
    }
    return finish({
      ...meta,
      scope,
      outcome: 'expanded',
      queued: 1,
      detail: 'handed on unstarted, for an instance with Glue budget to spare',
      handedOn: true,
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

    if (parsed.kind === 'invalid') {
      return reject('invalid-request', describeViolations(parsed.violations), {});
    }

    const { command, meta, verdict } =
      parsed.kind === 'task' ? taskCommand(parsed.task) : requestCommand(parsed.request);
    const subject: Subject =
      command.kind === 'table' ? { target: command.target } : { scope: command.target };
    if (verdict.kind === 'not-allowed') {
      return refuse(verdict.reason, verdict.detail, { ...meta, ...subject });
    }
    if (parsed.kind === 'task' && incoming.handOn === true && command.kind === 'task') {
      return handOn(parsed.task, meta, command.target);
    }

    // The views a scope task settles are reported one by one, as their own outcomes.
    const reportView = ({ target, idempotencyKey, result }: ViewDone) => {
      if (result.result === 'expanded') return;
      deps.report({
        ...meta,
        idempotencyKey,
        ...(command.kind === 'task'
          ? { parentIdempotencyKey: contractText(command.task.RootKey, PARENT_KEY_MAX_LENGTH) }
          : {}),
        outcome: result.result,
        target,
        replayed: result.replayed,
        dryRun: meta.dryRun ?? false,
        trigger: delivery.kind,
        ...ids,
        durationMs: clock() - startedAt,
        ...(result.runId !== undefined ? { runId: result.runId } : {}),
        ...(result.detail !== undefined ? { detail: result.detail } : {}),
      });
    };
    const context: ExpansionContext = { reportView, deadline, clock };

    let recorded: Awaited<ReturnType<RunOnce>>;
    try {
      recorded = await withinDeadline(
        deps.once(command, (c) => runStopCommand(c, deps.commands, context)),
        deadline,
      );
    } catch (error) {
      const { failure, message } = toStopError(error);
      if (failure.kind === 'rejected') {
        return reject(failure.reason, message, { ...meta, ...subject });
      }
      const { lastDelivery } = incoming;
      if (lastDelivery !== undefined && !hasPassed(deadline, clock)) {
        return reject(
          'retries-exhausted',
          `${failure.reason} on delivery ${lastDelivery.receives}, the last before the dead-letter queue: ${message}`,
          { ...meta, ...subject },
        );
      }
      return finish({ ...meta, ...subject, outcome: 'retry', reason: failure.reason, detail: message });
    }

    const { replayed, detail, runId } = recorded;
    if (command.kind !== 'table' && recorded.result === 'expanded') {
      return finish({
        ...meta,
        scope: command.target,
        outcome: 'expanded',
        replayed,
        queued: recorded.queued ?? 0,
        detail: detail ?? '',
      });
    }
    if (command.kind === 'table' && recorded.result !== 'expanded') {
      return finish({
        ...meta,
        target: command.target,
        outcome: recorded.result,
        replayed,
        ...(runId !== undefined ? { runId } : {}),
        ...(detail !== undefined ? { detail } : {}),
      });
    }
    throw StopError.retry(
      'unexpected-error',
      `a ${command.kind} command recorded the result ${recorded.result}, which belongs to the other kind`,
    );
  };

  try {
    return await decide();
  } catch (error) {
    // A fault of our own must not lose the request either: it goes back to its trigger, and says why.
    return finish({ outcome: 'retry', reason: 'unexpected-error', detail: toStopError(error).message });
  }
};
