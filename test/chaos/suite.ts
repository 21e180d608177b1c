/**
 * One run of the chaos suite, for `run.ts` (the full run, `npm run chaos`) and `chaos.test.ts` (a small
 * one inside `npm test`): exact stop requests and scope requests go through the stop queue into the built
 * `stopFromQueue` bundle, running in child processes (the Lambda execution environments) over the
 * emulators, while Glue misbehaves, invocations are SIGKILLed and handled messages are delivered again.
 * The queue function sends the tasks of a scope's expansion to the same queue, and the simulated event
 * source delivers them like any message. The oracle (`oracle.ts`) then judges every request and every
 * scope view from the emulators' records and the dead-letter queue.
 */
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Message, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { type FaultHook, type RunSnapshot, seededFaults, seededUnit } from '../../local/glue-emulator.ts';
import { LOCAL_REGION, type LocalAws, startLocalAws } from '../../local/local-aws.ts';
import { build, lambdaFunctions, projectRoot } from '../../scripts/build.ts';
import { fanOutSettings } from '../../src/runtime/stop-runtime.ts';
import { EnvironmentPool } from './environments.ts';
import { ChaosEventSource } from './event-source.ts';
import {
  acceptedStopsByRun,
  type DeadLetter,
  glueCallsByPart,
  judge,
  judgeScopes,
  type OracleRequest,
  type OracleRun,
  type RequestVerdict,
  type ScopeFacts,
  type ScopeViewFacts,
  type ScopeViewVerdict,
  scopeViewsOf,
} from './oracle.ts';
import {
  CHAOS_DATABASE,
  type ChaosFault,
  DEFAULT_SCOPE_SHARES,
  DEFAULT_SHARES,
  duplicateDelayMs,
  duplicatesTask,
  faultKey,
  faultLabel,
  glueFaultMix,
  KILL_SHARE,
  killAfterMs,
  type PlannedMessage,
  type PlannedRequest,
  type PlannedScope,
  type PlannedScopeView,
  planRequests,
  planScopes,
  requestBody,
  type ScopeShares,
  scopeRequestBody,
  sendOrder,
} from './plan.ts';
import { type ChaosFigures, type FaultCount, percentile, type ScopeFigures } from './report.ts';
import {
  deployedSettings,
  deployedVisibilityTimeoutSeconds,
  simulatedVisibilityTimeoutSeconds,
} from './settings.ts';

const FUNCTION_NAME = 'glue-mv-stop-chaos-stopFromQueue';
/**
 * Kills land at a uniformly random moment within this much of an invocation's start (about the median
 * invocation): a kill that comes after the answer passes on to the next invocation, so that the share of
 * invocations killed is the configured one.
 */
const KILL_WINDOW_MS = 1_000;
const REASON_ATTRIBUTE = 'glue-mv-stop.reason';
/** How long a duplicate waits for the views it names to settle before it is delivered anyway. */
const SETTLE_WAIT_MS = 60_000;

export interface ChaosOptions {
  readonly seed: number;
  /** Exact stop requests. */
  readonly requests: number;
  /** Scope requests. */
  readonly scopes: number;
  /** The queue must drain before then; the run ends regardless. */
  readonly timeLimitMs: number;
  /** Each instance's Glue budget (GLUE_MAX_REQUESTS_PER_SECOND); absent: no client-side limit. */
  readonly glueRate?: number;
  /** The Glue fault mix; default `glueFaultMix()`. */
  readonly faults?: readonly ChaosFault[];
  /** Share of invocations SIGKILLed; default `KILL_SHARE`. */
  readonly killShare?: number;
  /** How the scopes are made up; default `DEFAULT_SCOPE_SHARES`. */
  readonly scopeShares?: ScopeShares;
  /** Where the bundle, the environments' log and the problems go. */
  readonly workDir: string;
  /** Progress lines; default none. */
  readonly log?: (line: string) => void;
}

export interface ChaosRun {
  readonly figures: ChaosFigures;
  /** Every request and scope view that missed a target, with what happened to it (for the post-mortem). */
  readonly problems: readonly unknown[];
  /** One line per request or scope view that missed a target. */
  readonly problemLines: readonly string[];
  /** Every outcome event's detail, in the order published. */
  readonly outcomeEvents: readonly unknown[];
  readonly logPath: string;
}

const isActive = (run: RunSnapshot | undefined) => run?.status === 'RUNNING' || run?.status === 'STARTING';

type JsonObject = Record<string, unknown>;
const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const parseBody = (body: string | undefined): JsonObject | undefined => {
  try {
    const value: unknown = JSON.parse(body ?? '');
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
};
const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;

/** A scope task's body: `{"ScopeTask": {...}}`. */
interface TaskBody {
  readonly kind: string;
  readonly databaseName?: string;
  readonly tableNames?: readonly string[];
  readonly views: readonly string[];
}
const taskOf = (body: JsonObject | undefined): TaskBody | undefined => {
  const task = body?.ScopeTask;
  if (!isObject(task)) return undefined;
  const views = Array.isArray(task.Views)
    ? task.Views.flatMap((v) => (isObject(v) && typeof v.TableName === 'string' ? [v.TableName] : []))
    : [];
  const tableNames = strings(task.TableNames);
  return {
    kind: String(task.Kind),
    ...(typeof task.DatabaseName === 'string' ? { databaseName: task.DatabaseName } : {}),
    ...(tableNames !== undefined ? { tableNames } : {}),
    views,
  };
};

const deadLetterOf = (message: Message): DeadLetter => {
  const body = parseBody(message.Body);
  const reason = message.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue;
  const text = (field: string) => (typeof body?.[field] === 'string' ? (body[field] as string) : undefined);
  const task = taskOf(body);
  const tableName = text('TableName');
  const tableNames = task?.tableNames ?? strings(body?.TableNames);
  const databaseName = task?.databaseName ?? text('DatabaseName');
  const idempotencyKey = text('IdempotencyKey');
  const parentIdempotencyKey = text('ParentIdempotencyKey');
  const shape = task
    ? 'task'
    : tableName !== undefined
      ? 'exact'
      : tableNames !== undefined
        ? 'scope'
        : 'other';
  return {
    shape,
    ...(tableName !== undefined ? { tableName } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(databaseName !== undefined ? { databaseName } : {}),
    ...(tableNames !== undefined ? { tableNames } : {}),
    ...(task && task.views.length > 0 ? { views: task.views } : {}),
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    ...(parentIdempotencyKey !== undefined ? { parentIdempotencyKey } : {}),
  };
};

const sendMessages = async (
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly { readonly id: string; readonly body: unknown }[],
): Promise<Map<string, string>> => {
  const byMessageId = new Map<string, string>();
  for (let i = 0; i < messages.length; i += 10) {
    let chunk = messages.slice(i, i + 10);
    for (let attempt = 1; chunk.length > 0; attempt++) {
      if (attempt > 3) throw new Error(`could not send ${chunk.length} message(s) to the stop queue`);
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((m) => ({ Id: m.id, MessageBody: JSON.stringify(m.body) })),
        }),
      );
      for (const entry of out.Successful ?? []) {
        if (entry.Id && entry.MessageId) byMessageId.set(entry.MessageId, entry.Id);
      }
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      chunk = chunk.filter((m) => failed.has(m.id));
    }
  }
  return byMessageId;
};

const takeDeadLetters = async (sqs: SQSClient, queueUrl: string): Promise<Message[]> => {
  const messages: Message[] = [];
  for (let round = 0; round < 10_000; round++) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
        VisibilityTimeout: 3_600,
      }),
    );
    if (Messages.length === 0) break;
    messages.push(...Messages);
  }
  return messages;
};

/** Which part of the run an outcome (event detail or log line) belongs to. */
const partOf = (entry: JsonObject, scopeTables: ReadonlySet<string>): 'exact' | 'scope' => {
  const target = isObject(entry.target) ? entry.target : undefined;
  if (entry.scope !== undefined) return 'scope';
  if (typeof target?.TableName === 'string' && scopeTables.has(target.TableName)) return 'scope';
  return 'exact';
};

const countOutcomes = (local: LocalAws, scopeTables: ReadonlySet<string>) => {
  const outcomes = { exact: {} as Record<string, number>, scope: {} as Record<string, number> };
  const replayed = { exact: 0, scope: 0 };
  for (const event of local.eventBridge.events) {
    if (event.source !== 'glue-mv-stop' || !isObject(event.detail)) continue;
    const detail = event.detail;
    const part = partOf(detail, scopeTables);
    const outcome = String(detail.outcome);
    const key = typeof detail.reason === 'string' ? `${outcome} / ${detail.reason}` : outcome;
    outcomes[part][key] = (outcomes[part][key] ?? 0) + 1;
    if (detail.replayed === true) replayed[part] += 1;
  }
  return { outcomes, replayed };
};

/** `retry` outcomes per reason, from the environments' JSON log lines. */
const countRetries = (log: string, scopeTables: ReadonlySet<string>) => {
  const retries = { exact: {} as Record<string, number>, scope: {} as Record<string, number> };
  for (const line of log.split('\n')) {
    if (!line.includes('"outcome":"retry"')) continue;
    try {
      const entry: unknown = JSON.parse(line);
      if (!isObject(entry) || !('reason' in entry)) continue;
      const part = partOf(entry, scopeTables);
      const reason = String(entry.reason);
      retries[part][reason] = (retries[part][reason] ?? 0) + 1;
    } catch {
      // not a log line of the function
    }
  }
  return retries;
};

/** A handled message to deliver again once the views it names have settled and new runs of them started. */
interface PendingRerun {
  readonly message: Message;
  readonly record: SQSRecord;
  readonly views: readonly string[];
  readonly since: number;
  readonly delayMs: number;
  readonly onDelivered: () => void;
}

export const runChaos = async (options: ChaosOptions): Promise<ChaosRun> => {
  const { seed } = options;
  const log = options.log ?? (() => {});
  const killShare = options.killShare ?? KILL_SHARE;
  const scopeShares = options.scopeShares ?? DEFAULT_SCOPE_SHARES;
  const startedAt = new Date();
  const t0 = performance.now();

  const deployed = deployedSettings(await readFile(path.join(projectRoot, 'serverless.yml'), 'utf8'));
  const functionTimeoutMs = deployed.functionTimeoutSeconds * 1_000;
  const visibilityTimeoutSeconds = simulatedVisibilityTimeoutSeconds(deployed);
  const concurrency = deployed.maximumConcurrency;
  const viewsPerTask = fanOutSettings('sqs', options.glueRate, deployed.batchSize).viewsPerTask;
  log(
    `chaos: seed ${seed}, ${options.requests} exact requests, ${options.scopes} scope requests; function ` +
      `timeout ${deployed.functionTimeoutSeconds} s, visibility timeout ${visibilityTimeoutSeconds} s, ` +
      `maxReceiveCount ${deployed.maxReceiveCount}, batch size ${deployed.batchSize}, concurrency ` +
      `${concurrency}, Glue budget ${options.glueRate === undefined ? 'none' : `${options.glueRate}/s`} per ` +
      `instance (${viewsPerTask} views per stop task)`,
  );

  await mkdir(options.workDir, { recursive: true });
  const queueFunction = lambdaFunctions.find((fn) => fn.name === 'stopFromQueue');
  if (!queueFunction) throw new Error('scripts/build.ts lists no stopFromQueue function');
  const [built] = await build({
    root: options.workDir,
    handlersDir: path.join(projectRoot, 'handlers'),
    functions: [queueFunction],
    log: false,
  });
  if (!built) throw new Error('the build produced no bundle');

  const plan = planRequests(seed, options.requests);
  const scopes = planScopes(seed, options.scopes, options.requests, scopeShares);
  const scopeViews = new Map<string, { scope: PlannedScope; view: PlannedScopeView }>();
  for (const scope of scopes) for (const view of scope.views) scopeViews.set(view.tableName, { scope, view });
  const scopeTables: ReadonlySet<string> = new Set(scopeViews.keys());
  const denied = new Set([
    ...plan.filter((r) => r.kind === 'denied').map((r) => r.tableName),
    ...[...scopeViews.values()].filter((s) => s.view.kind === 'denied').map((s) => s.view.tableName),
  ]);
  const mix = options.faults ?? glueFaultMix();
  const injected = new Map<string, number>();
  const draw = seededFaults({ seed, faults: mix, key: faultKey });
  const faultHook: FaultHook = (call) => {
    const decision = draw(call);
    if (decision) {
      const label = faultLabel(mix, decision) ?? decision.kind;
      injected.set(label, (injected.get(label) ?? 0) + 1);
    }
    return decision;
  };
  const local = await startLocalAws({
    exportEnv: false,
    glue: { faultHook, deny: (req) => req.tableName !== undefined && denied.has(req.tableName) },
    ...(options.glueRate !== undefined ? { glueMaxRequestsPerSecond: options.glueRate } : {}),
  });
  // The queue function sends the tasks of an expansion to STOP_QUEUE_URL: it must be the queue the event
  // source drains, or the tasks would never run.
  if (local.env.STOP_QUEUE_URL !== local.stopQueueUrl) {
    throw new Error(
      `the queue function's STOP_QUEUE_URL (${local.env.STOP_QUEUE_URL}) is not the drained queue`,
    );
  }
  const sqs = new SQSClient({
    endpoint: local.sqsEndpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const logPath = path.join(options.workDir, 'environments.log');
  const logFd = openSync(logPath, 'w');
  const pool = new EnvironmentPool(
    {
      env: {
        ...local.env,
        // As serverless.yml sets it from the redrive policy: the last receive parks with its reason.
        STOP_QUEUE_MAX_RECEIVE_COUNT: String(deployed.maxReceiveCount),
        // As serverless.yml sets it from the event source: stop tasks are sized so that a batch fits.
        STOP_QUEUE_BATCH_SIZE: String(deployed.batchSize),
        POWERTOOLS_LOG_LEVEL: 'WARN',
        POWERTOOLS_METRICS_DISABLED: 'true',
        AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME,
        CHAOS_FUNCTION_NAME: FUNCTION_NAME,
      },
      bundle: built.outfile,
      functionTimeoutMs,
      logFd,
    },
    concurrency,
  );
  const timers = new Set<NodeJS.Timeout>();

  try {
    // Every view has a run that started well before its request was issued. The shared database's runs
    // are seeded in a seeded order, so that scope views lie on both pages of its listing.
    const runStart = new Date(Date.now() - 10 * 60_000);
    const runIds = new Map<number, string>();
    const scopeRunIds = new Map<string, string>();
    const seeding = [
      ...plan.map((request) => ({ name: request.tableName, request }) as const),
      ...[...scopeViews.values()].map(({ scope, view }) => ({ name: view.tableName, scope, view }) as const),
    ].sort((a, b) => seededUnit(seed, 'seed-order', a.name) - seededUnit(seed, 'seed-order', b.name));
    for (const item of seeding) {
      if ('request' in item) {
        const { request } = item;
        if (request.kind === 'not-a-view') {
          local.glue.addTable({ databaseName: CHAOS_DATABASE, tableName: request.tableName, plain: true });
        } else {
          runIds.set(
            request.index,
            local.glue.seedRun({
              databaseName: CHAOS_DATABASE,
              tableName: request.tableName,
              startTime: runStart,
            }),
          );
        }
      } else {
        scopeRunIds.set(
          item.name,
          local.glue.seedRun({
            databaseName: item.scope.databaseName,
            tableName: item.name,
            startTime: runStart,
          }),
        );
      }
    }
    const newerRuns = new Map<string, string[]>();
    const startNewerRun = (tableName: string): void => {
      const entry = scopeViews.get(tableName);
      if (!entry) return;
      const ref = { databaseName: entry.scope.databaseName, tableName };
      if (local.glue.runsOf(ref).some((r) => isActive(r))) return;
      newerRuns.set(tableName, [...(newerRuns.get(tableName) ?? []), local.glue.seedRun(ref)]);
    };
    /** The view's run ends on its own; with `replace`, a newer run starts right after. */
    const changeRun = (tableName: string, replace: boolean): void => {
      const runId = scopeRunIds.get(tableName);
      if (runId !== undefined && isActive(local.glue.getRun(runId))) local.glue.finishRun(runId, 'SUCCEEDED');
      if (replace) startNewerRun(tableName);
    };

    const issuedAt = new Date().toISOString();
    const order = sendOrder(plan, scopes);
    const messageIds = await sendMessages(
      sqs,
      local.stopQueueUrl,
      order.map((m) =>
        m.kind === 'exact'
          ? { id: `r${m.request.index}`, body: requestBody(m.request, issuedAt) }
          : { id: `s${m.scope.index}`, body: scopeRequestBody(m.scope, issuedAt) },
      ),
    );
    const messageOf = new Map(
      order.map((m) => [m.kind === 'exact' ? `r${m.request.index}` : `s${m.scope.index}`, m] as const),
    );
    const byMessageId = new Map<string, PlannedMessage>();
    for (const [messageId, id] of messageIds) {
      const planned = messageOf.get(id);
      if (planned) byMessageId.set(messageId, planned);
    }
    const scopeMessageIds = new Map<number, string>();
    for (const [messageId, m] of byMessageId)
      if (m.kind === 'scope') scopeMessageIds.set(m.scope.index, messageId);

    // Changes before the drain: the expansion sees them. A newer run starts after every IssuedAt.
    await new Promise((resolve) => setTimeout(resolve, 5));
    for (const { view } of scopeViews.values()) {
      if (view.change === 'before-expansion') changeRun(view.tableName, view.kind === 'replaced');
    }

    const duplicateRuns = new Map<number, string>();
    const duplicateSkipped = new Map<number, string>();
    const handled = new Set<number>();
    const scopesHandled = new Set<number>();
    const replacedBeforeTask = new Set<string>();
    const pendingReruns: PendingRerun[] = [];
    const duplicatedTasks = new Set<string>();
    const taskStats = {
      stopTasks: new Set<string>(),
      listTasks: new Set<string>(),
      taskDeliveries: 0,
      viewsInTasks: [] as number[],
      fallbacks: new Set<string>(),
      fallbackDeliveries: 0,
      scopeDuplicatesDelivered: 0,
      taskDuplicatesDelivered: 0,
      reruns: 0,
    };
    let killsScheduled = 0;
    let pendingKills = 0;
    const drainStartedAt = performance.now();
    // The drain stops at its deadline; invocations still running then are cut short too.
    const drainDeadline = Date.now() + options.timeLimitMs - (performance.now() - t0) - 30_000;
    const cutShort = setTimeout(() => pool.destroyAll(), drainDeadline - Date.now() + 1_000);

    /** What the event source is about to deliver: counted, and runs replaced just before a task. */
    const beforeDelivery = (event: SQSEvent) => {
      for (const record of event.Records) {
        const body = parseBody(record.body);
        const task = taskOf(body);
        if (task) {
          taskStats.taskDeliveries += 1;
          if (task.kind === 'list') taskStats.listTasks.add(record.messageId);
          else if (!taskStats.stopTasks.has(record.messageId)) {
            taskStats.stopTasks.add(record.messageId);
            taskStats.viewsInTasks.push(task.views.length);
          }
          for (const tableName of task.views) {
            const planned = scopeViews.get(tableName)?.view;
            if (planned?.change !== 'before-task' || replacedBeforeTask.has(tableName)) continue;
            replacedBeforeTask.add(tableName);
            changeRun(tableName, true);
          }
        } else if (typeof body?.TableName === 'string' && scopeTables.has(body.TableName)) {
          taskStats.fallbackDeliveries += 1;
          taskStats.fallbacks.add(String(body.IdempotencyKey ?? record.messageId));
        }
      }
    };

    const source: ChaosEventSource = new ChaosEventSource({
      sqsEndpoint: local.sqsEndpoint,
      region: LOCAL_REGION,
      queueUrl: local.stopQueueUrl,
      deadLetterQueueUrl: local.deadLetterQueueUrl,
      batchSize: deployed.batchSize,
      concurrency,
      visibilityTimeoutSeconds,
      maxReceiveCount: deployed.maxReceiveCount,
      deadlineAt: drainDeadline,
      invoke: async (slot, event, sequence) => {
        beforeDelivery(event);
        if (killAfterMs(seed, sequence, KILL_WINDOW_MS, killShare) !== undefined) pendingKills += 1;
        if (pendingKills === 0) return pool.invoke(slot, event);
        // A kill that comes after the answer missed: it passes on to the next invocation.
        pendingKills -= 1;
        killsScheduled += 1;
        const result = await pool.invoke(slot, event, {
          killAfterMs: Math.floor(seededUnit(seed, 'kill-moment', sequence) * KILL_WINDOW_MS),
        });
        if (result.kind !== 'killed') pendingKills += 1;
        return result;
      },
      onHandled: (record, message, duplicate) => {
        if (duplicate) return;
        const planned = byMessageId.get(record.messageId);
        if (planned?.kind === 'scope') {
          const { scope } = planned;
          if (scopesHandled.has(scope.index)) return;
          scopesHandled.add(scope.index);
          // Runs that end on their own while the scope's tasks run (either end is right).
          for (const view of scope.views) {
            if (view.change !== 'after-expansion') continue;
            const timer = setTimeout(() => {
              timers.delete(timer);
              changeRun(view.tableName, false);
            }, view.changeAfterMs ?? 0);
            timers.add(timer);
          }
          if (scope.duplicate) {
            pendingReruns.push({
              message,
              record,
              views: scope.views.map((v) => v.tableName),
              since: Date.now(),
              delayMs: duplicateDelayMs(seed, 100_000 + scope.index),
              onDelivered: () => {
                taskStats.scopeDuplicatesDelivered += 1;
              },
            });
          }
          return;
        }
        if (planned === undefined) {
          // The queue function's own messages: some stop tasks are delivered twice.
          const task = taskOf(parseBody(record.body));
          if (task?.kind !== 'stop' || duplicatedTasks.has(record.messageId)) return;
          if (!duplicatesTask(seed, task.views, scopeShares.taskDuplicate)) return;
          duplicatedTasks.add(record.messageId);
          pendingReruns.push({
            message,
            record,
            views: task.views,
            since: Date.now(),
            delayMs: Math.floor(seededUnit(seed, 'task-duplicate-delay', task.views.join(',')) * 3_000),
            onDelivered: () => {
              taskStats.taskDuplicatesDelivered += 1;
            },
          });
          return;
        }
        const request = planned.request;
        handled.add(request.index);
        if (!request.duplicate || duplicateRuns.has(request.index) || duplicateSkipped.has(request.index))
          return;
        // The duplicate comes once the view's run is no longer running and a new run has started.
        const runId = runIds.get(request.index);
        const run = runId !== undefined ? local.glue.getRun(runId) : undefined;
        if (isActive(run)) {
          duplicateSkipped.set(request.index, `run still ${run?.status}`);
          return;
        }
        duplicateRuns.set(
          request.index,
          local.glue.seedRun({ databaseName: CHAOS_DATABASE, tableName: request.tableName }),
        );
        source.duplicate(message, record, duplicateDelayMs(seed, request.index));
      },
    });

    // A duplicate of a scope or a task comes once the views it names have settled (their runs stopped or
    // ended; denied views never do) and new runs of them have started: those must not be stopped.
    const settled = (tableName: string) => {
      const entry = scopeViews.get(tableName);
      const runId = scopeRunIds.get(tableName);
      return entry?.view.kind === 'denied' || (runId !== undefined && !isActive(local.glue.getRun(runId)));
    };
    const rerunWatch = setInterval(() => {
      for (let i = 0; i < pendingReruns.length; ) {
        const pending = pendingReruns[i];
        if (!pending) break;
        if (!pending.views.every(settled) && Date.now() - pending.since < SETTLE_WAIT_MS) {
          i += 1;
          continue;
        }
        pendingReruns.splice(i, 1);
        for (const tableName of pending.views) {
          if (scopeViews.get(tableName)?.view.kind === 'denied' || !settled(tableName)) continue;
          const before = newerRuns.get(tableName)?.length ?? 0;
          startNewerRun(tableName);
          if ((newerRuns.get(tableName)?.length ?? 0) > before) taskStats.reruns += 1;
        }
        source.duplicate(pending.message, pending.record, pending.delayMs);
        pending.onDelivered();
      }
    }, 250);

    const loads: number[] = [];
    const progress = setInterval(() => {
      loads.push(os.loadavg()[0] ?? 0);
      const s = source.stats;
      log(
        `chaos: ${((performance.now() - t0) / 1000).toFixed(0)} s: ${s.invocations} invocations, ` +
          `${handled.size}/${options.requests} exact requests and ${scopesHandled.size}/${options.scopes} ` +
          `scopes handled, ${taskStats.stopTasks.size} stop tasks, ${s.batchItemFailures} batch item ` +
          `failures, ${s.results.killed} killed, ${s.results.timeout} timed out, ${s.redriven} redriven, ` +
          `${s.duplicatesDelivered} duplicates delivered`,
      );
    }, 10_000);
    let stats: Awaited<ReturnType<ChaosEventSource['run']>>;
    try {
      stats = await source.run();
    } finally {
      clearInterval(progress);
      clearInterval(rerunWatch);
      clearTimeout(cutShort);
      pool.destroyAll();
    }
    const drainDurationMs = performance.now() - drainStartedAt;
    const scopeDuplicatesNotDelivered = pendingReruns.length;

    // The oracle's view of the world.
    const calls = local.glue.calls;
    const accepted = acceptedStopsByRun(calls);
    const runs = new Map<string, OracleRun>();
    const allRunIds = [
      ...runIds.values(),
      ...duplicateRuns.values(),
      ...scopeRunIds.values(),
      ...[...newerRuns.values()].flat(),
    ];
    for (const runId of allRunIds) {
      const run = local.glue.getRun(runId);
      if (run) runs.set(runId, { status: run.status, acceptedStops: accepted.get(runId) ?? 0 });
    }
    const oracleRequests = plan.map((r): OracleRequest => {
      const runId = runIds.get(r.index);
      const duplicateRunId = duplicateRuns.get(r.index);
      return {
        index: r.index,
        kind: r.kind,
        tableName: r.tableName,
        ...(runId !== undefined ? { runId } : {}),
        ...(duplicateRunId !== undefined ? { duplicateRunId } : {}),
      };
    });
    const scopeFacts = scopes.map((s): ScopeFacts => {
      const messageId = scopeMessageIds.get(s.index);
      const key =
        s.idempotencyKey !== undefined
          ? `key:${s.idempotencyKey}`
          : messageId !== undefined
            ? `message:${messageId}`
            : undefined;
      return {
        index: s.index,
        databaseName: s.databaseName,
        tableNames: s.tableNames,
        ...(key !== undefined ? { key } : {}),
      };
    });
    const refusedByGlue = new Set(
      calls.flatMap((c) =>
        c.errorCode === 'AccessDeniedException' && typeof c.input.TableName === 'string'
          ? [c.input.TableName]
          : [],
      ),
    );
    const viewFacts = [...scopeViews.values()].map(
      ({ scope, view }): ScopeViewFacts => ({
        scope: scope.index,
        tableName: view.tableName,
        kind: view.kind,
        runId: scopeRunIds.get(view.tableName) ?? '',
        newerRunIds: newerRuns.get(view.tableName) ?? [],
        refusedByGlue: refusedByGlue.has(view.tableName),
      }),
    );
    const viewsByScope = new Map(scopes.map((s) => [s.index, s.views.map((v) => v.tableName)] as const));
    const deadLetters = (await takeDeadLetters(sqs, local.deadLetterQueueUrl)).map(deadLetterOf);
    const scopeLetters = deadLetters.filter(
      (l) => scopeViewsOf(l, scopeFacts, viewsByScope, scopeTables) !== undefined,
    );
    const oracle = judge({
      requests: oracleRequests,
      runs,
      deadLetters: deadLetters.filter((l) => !scopeLetters.includes(l)),
    });
    const scopeOracle = judgeScopes({
      scopes: scopeFacts,
      views: viewFacts,
      runs,
      deadLetters: scopeLetters,
    });

    const byOperation: Record<string, number> = {};
    const byAttempt: Record<string, number> = {};
    for (const call of calls) {
      byOperation[call.operation] = (byOperation[call.operation] ?? 0) + 1;
      const attempt = String(call.attempt ?? '?');
      byAttempt[attempt] = (byAttempt[attempt] ?? 0) + 1;
    }
    const throttled = calls.filter(
      (c) => c.errorCode === 'ThrottlingException' || c.fault === 'throttle',
    ).length;
    const parts = glueCallsByPart(calls, scopeTables);
    const plannedScopeViews = [...scopeViews.values()].map((s) => s.view);
    const scopeChaos: FaultCount[] =
      scopes.length === 0
        ? []
        : [
            {
              label: 'scope views denied (poison inside a scope: AccessDenied)',
              rate: scopeShares.denied,
              per: 'scope views',
              count: scopeOracle.denied,
              outOf: plannedScopeViews.length,
            },
            {
              label: 'scope views whose run ends on its own before or while the scope runs',
              rate: scopeShares.finished,
              per: 'scope views',
              count: plannedScopeViews.filter((v) => v.kind === 'finished').length,
              outOf: plannedScopeViews.length,
            },
            {
              label: 'scope views whose run is replaced by a newer one (before the expansion or the task)',
              rate: scopeShares.replaced,
              per: 'scope views',
              count: plannedScopeViews.filter((v) => v.kind === 'replaced').length,
              outOf: plannedScopeViews.length,
            },
            {
              label: 'scope requests delivered again after new runs of their views started',
              rate: scopeShares.duplicate,
              per: 'scope requests',
              count: taskStats.scopeDuplicatesDelivered,
              outOf: scopes.length,
            },
            {
              label: 'stop tasks delivered again after new runs of their views started',
              rate: scopeShares.taskDuplicate,
              per: 'stop tasks',
              count: taskStats.taskDuplicatesDelivered,
              outOf: taskStats.stopTasks.size,
            },
          ];
    const chaos: FaultCount[] = [
      ...mix.map((f) => ({
        label: f.label,
        rate: f.rate,
        per: 'Glue calls',
        count: injected.get(f.label) ?? 0,
        outOf: calls.length,
      })),
      {
        label: 'poison requests (not a view → InvalidInput; denied → AccessDenied)',
        rate: DEFAULT_SHARES.poison,
        per: 'requests',
        count: oracle.poison,
        outOf: options.requests,
      },
      {
        label: 'invocations SIGKILLed at a random moment',
        rate: killShare,
        per: 'invocations',
        count: stats.results.killed,
        outOf: stats.invocations,
      },
      {
        label: 'duplicate deliveries after a new run of the view started',
        rate: DEFAULT_SHARES.duplicate,
        per: 'requests',
        count:
          stats.duplicatesDelivered - taskStats.scopeDuplicatesDelivered - taskStats.taskDuplicatesDelivered,
        outOf: options.requests,
      },
      ...scopeChaos,
    ];
    const scopeOutcomes = countOutcomes(local, scopeTables);
    const retries = countRetries(await readFile(logPath, 'utf8'), scopeTables);
    const exactCalls = parts.exact.pageLists + parts.exact.viewLists + parts.exact.stops;
    const scopeCalls = parts.scope.pageLists + parts.scope.viewLists + parts.scope.stops;
    const scopeFigures: ScopeFigures | undefined =
      scopes.length === 0
        ? undefined
        : {
            scopes: scopes.length,
            views: plannedScopeViews.length,
            layouts: {
              glob: scopes.filter((s) => s.layout === 'glob').length,
              database: scopes.filter((s) => s.layout === 'database').length,
            },
            viewsPerTask,
            ...(options.glueRate !== undefined ? { glueRate: options.glueRate } : {}),
            tasks: {
              stop: taskStats.stopTasks.size,
              list: taskStats.listTasks.size,
              deliveries: taskStats.taskDeliveries,
              viewsPerTaskMean:
                taskStats.viewsInTasks.length > 0
                  ? taskStats.viewsInTasks.reduce((a, b) => a + b, 0) / taskStats.viewsInTasks.length
                  : 0,
              viewsPerTaskMax: taskStats.viewsInTasks.length > 0 ? Math.max(...taskStats.viewsInTasks) : 0,
              fallbacks: taskStats.fallbacks.size,
              fallbackDeliveries: taskStats.fallbackDeliveries,
            },
            duplicates: {
              scopesPlanned: scopes.filter((s) => s.duplicate).length,
              scopesDelivered: taskStats.scopeDuplicatesDelivered,
              tasksDelivered: taskStats.taskDuplicatesDelivered,
              notDelivered: scopeDuplicatesNotDelivered,
              newRuns: taskStats.reruns,
            },
            replacements: {
              planned: plannedScopeViews.filter((v) => v.kind === 'replaced').length,
              made: plannedScopeViews.filter(
                (v) => v.kind === 'replaced' && (newerRuns.get(v.tableName)?.length ?? 0) > 0,
              ).length,
            },
            glue: { ...parts.scope, calls: scopeCalls },
            outcomes: scopeOutcomes.outcomes.scope,
            replayed: scopeOutcomes.replayed.scope,
            retries: retries.scope,
            oracle: scopeOracle,
          };
    const figures: ChaosFigures = {
      seed,
      requests: options.requests,
      startedAt: startedAt.toISOString(),
      durationMs: performance.now() - t0,
      drainDurationMs,
      incomplete: stats.incomplete,
      settings: {
        functionTimeoutSeconds: deployed.functionTimeoutSeconds,
        visibilityTimeoutSeconds,
        deployedVisibilityTimeoutSeconds: deployedVisibilityTimeoutSeconds(deployed),
        maxReceiveCount: deployed.maxReceiveCount,
        batchSize: deployed.batchSize,
        concurrency,
        killWindowMs: KILL_WINDOW_MS,
        ...(options.glueRate !== undefined ? { glueRate: options.glueRate } : {}),
      },
      invocations: stats.invocations,
      recordsDelivered: stats.recordsDelivered,
      batchItemFailures: stats.batchItemFailures,
      results: stats.results,
      coldStarts: pool.coldStarts,
      load: {
        min: loads.length > 0 ? Math.min(...loads) : 0,
        mean: loads.length > 0 ? loads.reduce((a, b) => a + b, 0) / loads.length : 0,
        max: loads.length > 0 ? Math.max(...loads) : 0,
        cpus: os.availableParallelism(),
      },
      killsScheduled,
      invocationMs: {
        p50: percentile(stats.invocationDurationsMs, 50),
        p95: percentile(stats.invocationDurationsMs, 95),
        max: percentile(stats.invocationDurationsMs, 100),
      },
      redriven: stats.redriven,
      duplicates: {
        planned: plan.filter((r) => r.duplicate).length,
        delivered: duplicateRuns.size,
        skipped: plan.filter((r) => r.duplicate).length - duplicateRuns.size,
      },
      glue: {
        calls: calls.length,
        byOperation,
        throttled,
        byAttempt,
        exact: { ...parts.exact, calls: exactCalls },
      },
      chaos,
      outcomes: scopeOutcomes.outcomes.exact,
      replayed: scopeOutcomes.replayed.exact,
      retries: retries.exact,
      oracle,
      ...(scopeFigures !== undefined ? { scopes: scopeFigures } : {}),
    };

    // What happened to each request and scope view that missed a target, for the post-mortem.
    const firstCallAt = calls[0]?.at ?? 0;
    const idsByIndex = new Map<number, string>();
    for (const [id, m] of byMessageId) if (m.kind === 'exact') idsByIndex.set(m.request.index, id);
    const callsOf = (tableName: string | undefined) =>
      calls
        .filter((c) => c.input.TableName === tableName)
        .map((c) => ({
          atMs: c.at - firstCallAt,
          operation: c.operation,
          attempt: c.attempt,
          fault: c.fault,
          status: c.status,
          errorCode: c.errorCode,
          runId: c.runId,
        }));
    const eventsOf = (tableName: string | undefined) =>
      local.eventBridge.events
        .map((e) => e.detail as Record<string, unknown>)
        .filter((d) => (d.target as { TableName?: string } | undefined)?.TableName === tableName);
    const exactProblems = oracle.verdicts.filter((v) => v.lost || v.doubleStops > 0 || !v.stoppedOrParked);
    const scopeProblems = scopeOracle.verdicts.filter(
      (v) =>
        v.lost ||
        v.doubleStops > 0 ||
        v.newerRunsStopped > 0 ||
        !v.stoppedOrParked ||
        (v.kind === 'denied' && v.refusedByGlue && !v.parkedUnderViewKey),
    );
    const exactLine = (v: RequestVerdict) => {
      const request: PlannedRequest | undefined = plan[v.index];
      return (
        `chaos: request ${v.index} (${v.kind}, ${request?.tableName}, key ${request?.idempotencyKey ?? '-'}, ` +
        `IssuedAt ${request?.issuedAt ? 'yes' : 'no'}, duplicate ${request?.duplicate ? 'yes' : 'no'}): ` +
        `${v.end}${v.doubleStops > 0 ? `, ${v.doubleStops} double stop(s)` : ''}`
      );
    };
    const scopeLine = (v: ScopeViewVerdict) => {
      const entry = scopeViews.get(v.tableName);
      return (
        `chaos: scope ${v.scope} view ${v.tableName} (${v.kind}${entry?.view.change ? `, ${entry.view.change}` : ''}, ` +
        `${entry?.scope.layout} scope, key ${entry?.scope.idempotencyKey ?? '-'}, IssuedAt ` +
        `${entry?.scope.issuedAt ? 'yes' : 'no'}, duplicate ${entry?.scope.duplicate ? 'yes' : 'no'}): ${v.end}` +
        `${v.doubleStops > 0 ? `, ${v.doubleStops} double stop(s)` : ''}` +
        `${v.newerRunsStopped > 0 ? `, ${v.newerRunsStopped} newer run(s) stopped` : ''}` +
        `${v.parkedAs !== undefined && v.parkedAs !== 'view' ? `, parked with its ${v.parkedAs}` : ''}`
      );
    };
    const problemLines = [
      ...exactProblems.map(exactLine),
      ...scopeProblems.map(scopeLine),
      ...[...duplicateSkipped].map(([index, why]) => `chaos: duplicate of request ${index} not sent: ${why}`),
    ];
    const problems = [
      ...exactProblems.map((v) => {
        const request = plan[v.index];
        const messageId = idsByIndex.get(v.index);
        return {
          verdict: v,
          request,
          messageId,
          deliveries: messageId !== undefined ? stats.deliveries.get(messageId) : undefined,
          runs: local.glue.runsOf({ databaseName: CHAOS_DATABASE, tableName: request?.tableName ?? '' }),
          glueCalls: callsOf(request?.tableName),
          outcomeEvents: eventsOf(request?.tableName),
        };
      }),
      ...scopeProblems.map((v) => {
        const entry = scopeViews.get(v.tableName);
        const messageId = scopeMessageIds.get(v.scope);
        return {
          verdict: v,
          scope: entry ? { ...entry.scope, views: undefined } : undefined,
          view: entry?.view,
          messageId,
          deliveries: messageId !== undefined ? stats.deliveries.get(messageId) : undefined,
          runs: local.glue.runsOf({ databaseName: entry?.scope.databaseName ?? '', tableName: v.tableName }),
          glueCalls: callsOf(v.tableName),
          outcomeEvents: eventsOf(v.tableName),
        };
      }),
    ];
    const outcomeEvents = local.eventBridge.events.map((e) => e.detail);
    return { figures, problems, problemLines, outcomeEvents, logPath };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    pool.destroyAll();
    sqs.destroy();
    await local.close();
    closeSync(logFd);
  }
};
