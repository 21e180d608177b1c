/**
 * `npm run chaos`: the reliability suite over the built queue bundle. 1,000 exact stop requests (by
 * default) go through the stop queue into `stopFromQueue` bundles running in child processes (the Lambda
 * execution environments) over the emulators, while Glue misbehaves (throttling, 5xx, OperationTimeout,
 * connection resets, late answers, no answers, poison), invocations are SIGKILLed, and handled requests are
 * delivered again after a new run of their view started. The oracle (`oracle.ts`) then checks from the
 * emulators' records and the dead-letter queue that nothing was lost, nothing stopped twice, and every
 * request was stopped or parked with a reason; and that no invocation reached the function timeout.
 *
 * Prints the figures, replaces the chaos section of docs/reliability.md, and exits 1 if a target is missed.
 *
 * Options: `--seed N` (default 20261129), `--requests N` (default 1000), `--time-limit-minutes N` (default
 * 13: the queue must drain before then, the run ends regardless), `--no-write` (leave the docs alone).
 */
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Message, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type FaultHook, type RunSnapshot, seededFaults, seededUnit } from '../../local/glue-emulator.ts';
import { LOCAL_REGION, type LocalAws, startLocalAws } from '../../local/local-aws.ts';
import { build, lambdaFunctions, projectRoot } from '../../scripts/build.ts';
import { EnvironmentPool } from './environments.ts';
import { ChaosEventSource } from './event-source.ts';
import { acceptedStopsByRun, type DeadLetter, judge, type OracleRequest, type OracleRun } from './oracle.ts';
import {
  CHAOS_DATABASE,
  DEFAULT_SHARES,
  duplicateDelayMs,
  faultKey,
  faultLabel,
  glueFaultMix,
  KILL_SHARE,
  killAfterMs,
  type PlannedRequest,
  planRequests,
  requestBody,
} from './plan.ts';
import {
  type ChaosFigures,
  type FaultCount,
  percentile,
  renderMarkdown,
  replaceSection,
  targets,
} from './report.ts';
import {
  deployedSettings,
  deployedVisibilityTimeoutSeconds,
  simulatedVisibilityTimeoutSeconds,
} from './settings.ts';

const DEFAULT_SEED = 20261129;
const FUNCTION_NAME = 'glue-mv-stop-chaos-stopFromQueue';
/**
 * Kills land at a uniformly random moment within this much of an invocation's start (about the median
 * invocation): a kill that comes after the answer passes on to the next invocation, so that the share of
 * invocations killed is the configured one.
 */
const KILL_WINDOW_MS = 1_000;
const REASON_ATTRIBUTE = 'glue-mv-stop.reason';
const WORK_DIR = path.join(projectRoot, '.build', 'chaos');
const DOC = path.join(projectRoot, 'docs', 'reliability.md');

const wholeNumber = (raw: string | undefined, fallback: number, name: string): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`--${name} must be a positive whole number, got "${raw}"`);
  }
  return value;
};

const isActive = (run: RunSnapshot | undefined) => run?.status === 'RUNNING' || run?.status === 'STARTING';

const sendRequests = async (
  sqs: SQSClient,
  queueUrl: string,
  requests: readonly PlannedRequest[],
  issuedAt: string,
): Promise<Map<string, PlannedRequest>> => {
  const byMessageId = new Map<string, PlannedRequest>();
  for (let i = 0; i < requests.length; i += 10) {
    let chunk = requests.slice(i, i + 10);
    for (let attempt = 1; chunk.length > 0; attempt++) {
      if (attempt > 3) throw new Error(`could not send ${chunk.length} request(s) to the stop queue`);
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((r) => ({
            Id: `r${r.index}`,
            MessageBody: JSON.stringify(requestBody(r, issuedAt)),
          })),
        }),
      );
      for (const entry of out.Successful ?? []) {
        const request = chunk.find((r) => `r${r.index}` === entry.Id);
        if (request && entry.MessageId) byMessageId.set(entry.MessageId, request);
      }
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      chunk = chunk.filter((r) => failed.has(`r${r.index}`));
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

const deadLetterOf = (message: Message): DeadLetter => {
  let tableName: string | undefined;
  try {
    const body: unknown = JSON.parse(message.Body ?? '');
    if (
      typeof body === 'object' &&
      body !== null &&
      'TableName' in body &&
      typeof body.TableName === 'string'
    ) {
      tableName = body.TableName;
    }
  } catch {
    // not JSON: belongs to no request
  }
  const reason = message.MessageAttributes?.[REASON_ATTRIBUTE]?.StringValue;
  return { ...(tableName !== undefined ? { tableName } : {}), ...(reason !== undefined ? { reason } : {}) };
};

const countOutcomes = (local: LocalAws): { outcomes: Record<string, number>; replayed: number } => {
  const outcomes: Record<string, number> = {};
  let replayed = 0;
  for (const event of local.eventBridge.events) {
    if (event.source !== 'glue-mv-stop' || typeof event.detail !== 'object' || event.detail === null)
      continue;
    const detail = event.detail as Record<string, unknown>;
    const outcome = String(detail.outcome);
    const key = typeof detail.reason === 'string' ? `${outcome} / ${detail.reason}` : outcome;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (detail.replayed === true) replayed += 1;
  }
  return { outcomes, replayed };
};

/** `retry` outcomes per reason, from the environments' JSON log lines. */
const countRetries = (log: string): Record<string, number> => {
  const retries: Record<string, number> = {};
  for (const line of log.split('\n')) {
    if (!line.includes('"outcome":"retry"')) continue;
    try {
      const entry: unknown = JSON.parse(line);
      if (typeof entry !== 'object' || entry === null || !('reason' in entry)) continue;
      const reason = String(entry.reason);
      retries[reason] = (retries[reason] ?? 0) + 1;
    } catch {
      // not a log line of the function
    }
  }
  return retries;
};

const main = async (): Promise<number> => {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      requests: { type: 'string' },
      'time-limit-minutes': { type: 'string' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const seed = wholeNumber(values.seed, DEFAULT_SEED, 'seed');
  const requestCount = wholeNumber(values.requests, 1000, 'requests');
  const limitMs = wholeNumber(values['time-limit-minutes'], 13, 'time-limit-minutes') * 60_000;
  const startedAt = new Date();
  const t0 = performance.now();

  const deployed = deployedSettings(await readFile(path.join(projectRoot, 'serverless.yml'), 'utf8'));
  const functionTimeoutMs = deployed.functionTimeoutSeconds * 1_000;
  const visibilityTimeoutSeconds = simulatedVisibilityTimeoutSeconds(deployed);
  const concurrency = deployed.maximumConcurrency;
  console.log(
    `chaos: seed ${seed}, ${requestCount} requests; function timeout ${deployed.functionTimeoutSeconds} s, ` +
      `visibility timeout ${visibilityTimeoutSeconds} s, maxReceiveCount ${deployed.maxReceiveCount}, ` +
      `batch size ${deployed.batchSize}, concurrency ${concurrency}`,
  );

  // The run ends by itself: the drain stops at its deadline; this is the last resort.
  const hardStop = setTimeout(() => {
    console.error(`chaos: hard time limit reached (${limitMs / 60_000} min + 1 min); exiting`);
    process.exit(3);
  }, limitMs + 60_000);
  hardStop.unref();

  await mkdir(WORK_DIR, { recursive: true });
  const queueFunction = lambdaFunctions.find((fn) => fn.name === 'stopFromQueue');
  if (!queueFunction) throw new Error('scripts/build.ts lists no stopFromQueue function');
  const [built] = await build({
    root: WORK_DIR,
    handlersDir: path.join(projectRoot, 'handlers'),
    functions: [queueFunction],
    log: false,
  });
  if (!built) throw new Error('the build produced no bundle');

  const plan = planRequests(seed, requestCount);
  const denied = new Set(plan.filter((r) => r.kind === 'denied').map((r) => r.tableName));
  const mix = glueFaultMix();
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
  });
  const sqs = new SQSClient({
    endpoint: local.sqsEndpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const logPath = path.join(WORK_DIR, 'environments.log');
  const logFd = openSync(logPath, 'w');
  const pool = new EnvironmentPool(
    {
      env: {
        ...local.env,
        // As serverless.yml sets it from the redrive policy: the last receive parks with its reason.
        STOP_QUEUE_MAX_RECEIVE_COUNT: String(deployed.maxReceiveCount),
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

  try {
    // Every view has a run that started well before its request was issued.
    const runStart = new Date(Date.now() - 10 * 60_000);
    const runIds = new Map<number, string>();
    for (const request of plan) {
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
    }
    const issuedAt = new Date().toISOString();
    const byMessageId = await sendRequests(sqs, local.stopQueueUrl, plan, issuedAt);

    const duplicateRuns = new Map<number, string>();
    const duplicateSkipped = new Map<number, string>();
    const handled = new Set<number>();
    let killsScheduled = 0;
    let pendingKills = 0;
    const drainStartedAt = performance.now();
    // The drain stops at its deadline; invocations still running then are cut short too.
    const drainDeadline = Date.now() + limitMs - (performance.now() - t0) - 30_000;
    const cutShort = setTimeout(() => pool.destroyAll(), drainDeadline - Date.now() + 1_000);
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
        if (killAfterMs(seed, sequence, KILL_WINDOW_MS) !== undefined) pendingKills += 1;
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
        const request = byMessageId.get(record.messageId);
        if (!request || duplicate) return;
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
    const loads: number[] = [];
    const progress = setInterval(() => {
      loads.push(os.loadavg()[0] ?? 0);
      const s = source.stats;
      console.log(
        `chaos: ${((performance.now() - t0) / 1000).toFixed(0)} s: ${s.invocations} invocations, ` +
          `${handled.size}/${requestCount} requests handled, ${s.batchItemFailures} batch item failures, ` +
          `${s.results.killed} killed, ${s.results.timeout} timed out, ${s.redriven} redriven, ` +
          `${s.duplicatesDelivered} duplicates delivered`,
      );
    }, 10_000);
    let stats: Awaited<ReturnType<ChaosEventSource['run']>>;
    try {
      stats = await source.run();
    } finally {
      clearInterval(progress);
      clearTimeout(cutShort);
      pool.destroyAll();
    }
    const drainDurationMs = performance.now() - drainStartedAt;

    // The oracle's view of the world.
    const accepted = acceptedStopsByRun(local.glue.calls);
    const runs = new Map<string, OracleRun>();
    for (const runId of [...runIds.values(), ...duplicateRuns.values()]) {
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
    const deadLetters = (await takeDeadLetters(sqs, local.deadLetterQueueUrl)).map(deadLetterOf);
    const oracle = judge({ requests: oracleRequests, runs, deadLetters });

    const calls = local.glue.calls;
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
        outOf: requestCount,
      },
      {
        label: 'invocations SIGKILLed at a random moment',
        rate: KILL_SHARE,
        per: 'invocations',
        count: stats.results.killed,
        outOf: stats.invocations,
      },
      {
        label: 'duplicate deliveries after a new run of the view started',
        rate: DEFAULT_SHARES.duplicate,
        per: 'requests',
        count: stats.duplicatesDelivered,
        outOf: requestCount,
      },
    ];
    const { outcomes, replayed } = countOutcomes(local);
    const figures: ChaosFigures = {
      seed,
      requests: requestCount,
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
      glue: { calls: calls.length, byOperation, throttled, byAttempt },
      chaos,
      outcomes,
      replayed,
      retries: countRetries(await readFile(logPath, 'utf8')),
      oracle,
    };

    const markdown = renderMarkdown(figures);
    console.log(`\n${markdown}\n`);
    const problems = oracle.verdicts.filter((v) => v.lost || v.doubleStops > 0 || !v.stoppedOrParked);
    for (const v of problems.slice(0, 20)) {
      const request = plan[v.index];
      console.log(
        `chaos: request ${v.index} (${v.kind}, ${request?.tableName}, key ${request?.idempotencyKey ?? '-'}, ` +
          `IssuedAt ${request?.issuedAt ? 'yes' : 'no'}, duplicate ${request?.duplicate ? 'yes' : 'no'}): ` +
          `${v.end}${v.doubleStops > 0 ? `, ${v.doubleStops} double stop(s)` : ''}`,
      );
    }
    for (const [index, why] of duplicateSkipped)
      console.log(`chaos: duplicate of request ${index} not sent: ${why}`);
    // What happened to each request that missed a target, for the post-mortem.
    const problemPath = path.join(WORK_DIR, 'problems.json');
    const firstCallAt = calls[0]?.at ?? 0;
    const messageIds = new Map([...byMessageId].map(([id, r]) => [r.index, id]));
    await writeFile(
      problemPath,
      `${JSON.stringify(
        problems.map((v) => {
          const request = plan[v.index];
          const messageId = messageIds.get(v.index);
          return {
            verdict: v,
            request,
            messageId,
            deliveries: messageId !== undefined ? stats.deliveries.get(messageId) : undefined,
            runs: local.glue.runsOf({ databaseName: CHAOS_DATABASE, tableName: request?.tableName ?? '' }),
            glueCalls: calls
              .filter((c) => c.input.TableName === request?.tableName)
              .map((c) => ({
                atMs: c.at - firstCallAt,
                operation: c.operation,
                attempt: c.attempt,
                fault: c.fault,
                status: c.status,
                errorCode: c.errorCode,
                runId: c.runId,
              })),
            outcomeEvents: local.eventBridge.events
              .map((e) => e.detail as Record<string, unknown>)
              .filter(
                (d) => (d.target as { TableName?: string } | undefined)?.TableName === request?.tableName,
              ),
          };
        }),
        null,
        2,
      )}\n`,
    );
    console.log(
      `chaos: the environments' logs are in ${path.relative(projectRoot, logPath)}; ` +
        `the requests that missed a target in ${path.relative(projectRoot, problemPath)}`,
    );

    if (!values['no-write']) {
      // Read right before writing: other scripts write other sections of the same file.
      const doc = await readFile(DOC, 'utf8');
      await writeFile(DOC, replaceSection(doc, markdown));
      console.log(`chaos: wrote the chaos section of ${path.relative(projectRoot, DOC)}`);
    }
    const missed = targets(figures).filter((t) => !t.met);
    for (const t of missed) console.log(`chaos: target missed: ${t.target} (${t.result})`);
    return missed.length === 0 ? 0 : 1;
  } finally {
    pool.destroyAll();
    sqs.destroy();
    await local.close();
    closeSync(logFd);
    clearTimeout(hardStop);
  }
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('chaos: failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 2;
  },
);
