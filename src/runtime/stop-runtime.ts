/**
 * Composition root: wires configuration, clients and adapters into the core's dependencies. Handlers
 * build one at module scope; tests build their own with other clients or config.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { createDeadLetterParker } from '../adapters/dead-letter-parker.ts';
import { createGlueRefreshRuns } from '../adapters/glue-refresh-runs.ts';
import { createIdempotency } from '../adapters/idempotency.ts';
import { createOutcomeEventPublisher } from '../adapters/outcome-events.ts';
import { createOutcomeReporter } from '../adapters/outcome-reporter.ts';
import { createRateLimiter, unlimited } from '../adapters/rate-limiter.ts';
import { createStopRequestQueue } from '../adapters/stop-request-queue.ts';
import { createViewLedger } from '../adapters/view-ledger.ts';
import { TASK_VIEWS_MAX_ITEMS } from '../request/scope-task.ts';
import { type Deadline, deadlineIn } from '../stop/deadline.ts';
import type { StopDependencies } from '../stop/handle-stop-request.ts';
import { isHandOn, type StopOutcome, type Trigger } from '../stop/outcome.ts';
import type { OutcomePublisher, OutcomeReporter } from '../stop/ports.ts';
import { createRecentPages } from '../stop/recent-pages.ts';
import { GUARD_READ_MAX_AGE_MS } from '../stop/run-command.ts';
import type { FanOutSettings } from '../stop/scope-expansion.ts';
import { FAN_OUT_RESERVE_MS, FINISH_RESERVE_MS, STOP_TASK_BATCH_PLAN_MS } from './budget.ts';
import { type AwsClients, type CallSettingsByClient, createAwsClients } from './clients.ts';
import { type GlueBudgetMode, loadConfig, type StopConfig } from './config.ts';
import { OUTCOME_EVENTS_FAILED_METRIC } from './metrics.ts';

export interface StopRuntime {
  readonly dependencies: StopDependencies;
  readonly config: StopConfig;
  readonly logger: Logger;
  readonly metrics: Pick<Metrics, 'addMetric'>;
  /**
   * Call at the start of every invocation. Returns its deadline: the time Lambda gives the invocation
   * (`context.getRemainingTimeInMillis()`) less `FINISH_RESERVE_MS`. Every SDK call and rate-limiter wait
   * of the runtime's clients is cut off when it passes.
   */
  startInvocation(context: Context): Deadline;
  /** Call at the end of every invocation: publishes its outcome events and flushes its metrics. */
  endInvocation(): Promise<void>;
}

export interface StopRuntimeOptions {
  readonly trigger: Trigger;
  readonly config?: StopConfig;
  readonly clients?: AwsClients;
  /** Per-attempt timeouts and attempts of the clients the runtime creates; default `SDK_CALL_SETTINGS`. */
  readonly callSettings?: CallSettingsByClient;
  /** Replaces the EventBridge publisher of outcome events (tests). */
  readonly publisher?: OutcomePublisher;
  /** Extra observer of every outcome (the local runner prints them); the log line and metric stay. */
  readonly onOutcome?: OutcomeReporter;
}

/**
 * One limiter for every Glue call of the instance (shared budget), or one per operation. Either way the
 * instance catches up on up to `burstSeconds` of its share after time spent between calls (its records,
 * outcome events, the next batch): a share is a rate, and time between calls would otherwise be lost.
 */
const glueLimiters = (rate: number | undefined, mode: GlueBudgetMode, burstSeconds: number) => {
  if (!rate) return { stop: unlimited, list: unlimited };
  const limiter = () => createRateLimiter(rate, { catchUpMs: burstSeconds * 1_000 });
  if (mode === 'per-operation') return { stop: limiter(), list: limiter() };
  const shared = limiter();
  return { stop: shared, list: shared };
};

/**
 * The queue function expands scopes itself; every other function hands them to the stop queue. A stop
 * task names as many views as the instance's Glue share stops in 80 % of the guard's read age (so its page
 * is read once in the normal case), and no more than lets a full batch of tasks (`batchSize`) finish in
 * `STOP_TASK_BATCH_PLAN_MS` (so that an invocation does not leave tasks of its batch unstarted).
 */
/**
 * Stop tasks' worth of runs on one page of a scope's listing: the expansion lists a large scope in few
 * calls, so the instance that lists it is soon free to stop; each task reads its page again (a page of
 * 400 runs costs the client a few milliseconds of CPU).
 */
const PAGE_TASKS = 16;

export const fanOutSettings = (trigger: Trigger, rate: number | undefined, batchSize = 1): FanOutSettings => {
  const byReadAge =
    rate === undefined ? Number.POSITIVE_INFINITY : (rate * GUARD_READ_MAX_AGE_MS * 0.8) / 1_000;
  const byBatch =
    rate === undefined
      ? Number.POSITIVE_INFINITY
      : (rate * STOP_TASK_BATCH_PLAN_MS) / 1_000 / Math.max(1, batchSize);
  const viewsPerTask = Math.min(TASK_VIEWS_MAX_ITEMS, Math.max(1, Math.floor(Math.min(byReadAge, byBatch))));
  return {
    expansion: trigger === 'sqs' ? 'in-place' : 'hand-off',
    viewsPerTask,
    reserveMs: FAN_OUT_RESERVE_MS,
    // PAGE_TASKS tasks' worth of runs per page (100 to Glue's 1,000); the largest page without a budget.
    pageSize: rate === undefined ? 1_000 : Math.min(1_000, Math.max(100, PAGE_TASKS * viewsPerTask)),
  };
};

/** What is kept back from the finish reserve for the end of the invocation itself (metrics, return). */
const FINAL_MARGIN_MS = 500;

export const createStopRuntime = (options: StopRuntimeOptions): StopRuntime => {
  const config = options.config ?? loadConfig();
  // Lambda runs one invocation at a time per execution environment: the one under way owns the deadline.
  let current: Deadline | undefined;
  let endsAt = Number.POSITIVE_INFINITY;
  const clients = options.clients ?? createAwsClients(() => current?.signal, options.callSettings);
  const logger = new Logger({ serviceName: config.serviceName });
  const metrics = new Metrics({
    namespace: config.metricsNamespace,
    serviceName: config.serviceName,
    defaultDimensions: { trigger: options.trigger },
  });
  const rate = config.glueMaxRequestsPerSecond;
  const glue = createGlueRefreshRuns(clients.glue, {
    stopClient: clients.glueStop,
    limiters: glueLimiters(rate, config.glueBudgetMode, config.glueBurstSeconds),
    deadline: () => current,
  });
  const idempotency = createIdempotency({
    dynamoDb: clients.dynamoDb,
    tableName: config.idempotencyTableName,
    expiresAfterSeconds: config.idempotencyExpirySeconds,
  });
  const publisher =
    options.publisher ?? createOutcomeEventPublisher(clients.eventBridge, config.outcomeEventBusName);
  const reportOutcome = createOutcomeReporter(logger, metrics);
  // Final outcomes wait here for the end of the invocation, then go out ten per PutEvents call.
  const unpublished: StopOutcome[] = [];
  const { onOutcome } = options;
  return {
    config,
    logger,
    metrics,
    dependencies: {
      commands: {
        stopper: glue,
        runs: glue,
        queue: createStopRequestQueue(clients.sqs, config.stopQueueUrl),
        allow: config.policy.allow,
        fanOut: fanOutSettings(options.trigger, rate, config.stopQueueBatchSize),
        // Only the queue function runs stop tasks, and only its role may batch-read and batch-write.
        ...(options.trigger === 'sqs'
          ? {
              recentPages: createRecentPages(),
              ledger: createViewLedger({
                dynamoDb: clients.dynamoDb,
                tableName: config.idempotencyTableName,
                expiresAfterSeconds: config.idempotencyExpirySeconds,
              }),
            }
          : {}),
      },
      once: idempotency.once,
      parker: createDeadLetterParker(clients.sqs, config.deadLetterQueueUrl),
      policy: config.policy,
      report: (outcome) => {
        reportOutcome(outcome);
        // Retries and hand-ons are not decisions: the request or task is still to be run.
        if (outcome.outcome !== 'retry' && !isHandOn(outcome)) unpublished.push(outcome);
        onOutcome?.(outcome);
      },
    },
    startInvocation(context) {
      logger.addContext(context);
      idempotency.registerLambdaContext(context);
      const remaining = context.getRemainingTimeInMillis();
      const left = Number.isFinite(remaining) ? remaining : Number.POSITIVE_INFINITY;
      endsAt = Date.now() + left;
      current = deadlineIn(left - FINISH_RESERVE_MS);
      return current;
    },
    async endInvocation() {
      // The finish has its own, later deadline: outcome events still go out after the work was cut off.
      current = Number.isFinite(endsAt) ? deadlineIn(endsAt - FINAL_MARGIN_MS - Date.now()) : undefined;
      const batch = unpublished.splice(0);
      if (batch.length > 0) {
        try {
          await publisher.publish(batch);
        } catch (error) {
          // The audit trail is best effort: a failure is logged and counted, the stops stand.
          logger.error('outcome events not published', { error, count: batch.length });
          metrics.addMetric(OUTCOME_EVENTS_FAILED_METRIC, MetricUnit.Count, batch.length);
        }
      }
      // An invocation that ended in no outcome (an event that is not what its trigger delivers fails as a
      // whole, and Lambda's Errors metric counts it) has nothing to publish: publishing anyway only logs
      // Powertools' "No application metrics to publish" warning.
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      current = undefined;
    },
  };
};
