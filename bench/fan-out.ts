/**
 * The stack as it runs in Lambda, over the local services: the built bundles in child-process execution
 * environments (`lambda-pool.ts`), the stop queue drained by Lambda's event source mapping stand-in
 * (`local/event-source.ts`, maximum concurrency and batch size as deployed), Glue, SQS, DynamoDB and
 * EventBridge in their own processes (`services.ts`), every request counted where it is answered.
 *
 * Two scenarios:
 * - `runFanOut`: a cost-guard alarm over N running views. The alarm function hands the scope to the stop
 *   queue; the queue function's instances expand it page by page and run its stop tasks, each instance
 *   within its share of the Glue budget (R divided by the queue's maximum concurrency plus the event
 *   function's reserved concurrency, as deploy/stage-config.ts computes it), Glue itself throttling above R.
 * - `runExactRequests`: exact requests (one view each) sent one at a time, each drained before the next.
 */
import os from 'node:os';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { glueRatePerInstance } from '../deploy/stage-config.ts';
import { DrainTimeoutError, drainQueue, type EventSourceReport } from '../local/event-source.ts';
import { alarmStateChange } from '../local/events.ts';
import { LOCAL_REGION } from '../local/local-aws.ts';
import { DEFAULT_GLUE_BURST_SECONDS, type RuntimePolicy } from '../src/policy/stack-config.ts';
import type { Deployment } from './deployment.ts';
import { type InvocationRecord, LambdaPool } from './lambda-pool.ts';
import { busyCores, sampleCpu } from './machine.ts';
import { type ServicesReport, startServices } from './services.ts';

export const BENCH_DATABASE = 'bench';
const ALARM_NAME = 'bench-dpu-spend';

export interface Bundles {
  readonly queue: string;
  readonly alarm: string;
  /** The execution environments' script (`buildEnvironmentScript`). */
  readonly environment: string;
}

export interface RunSettings {
  readonly bundles: Bundles;
  readonly deployment: Deployment;
  /** The stack's Glue budget, R (requests per second, all operations), and Glue's own limit. */
  readonly rate: number;
  /** Queue function instances at once (the event source's maximum concurrency). */
  readonly concurrency: number;
  readonly glueLatencyMs: number;
  readonly glueJitterMs: number;
  readonly dynamoDbProcess: 'own' | 'shared';
  /** POWERTOOLS_LOG_LEVEL of the functions (the stack's default is INFO). */
  readonly logLevel: string;
  /** Start every environment before the signal (see `LambdaPool.warm`). */
  readonly warm: boolean;
  /** A fan-out's drain gives up after this many times N/R (at least 2 minutes). */
  readonly capFactor: number;
}

export interface LambdaUsage {
  readonly invocations: readonly InvocationRecord[];
  readonly initDurationsMs: readonly number[];
  readonly initRssBytes: readonly number[];
  readonly logBytes: number;
}

export interface RunResult {
  readonly services: ServicesReport;
  /** Per function: `queue` and, for a fan-out, `alarm`. */
  readonly lambda: Readonly<Record<string, LambdaUsage>>;
  readonly drain: EventSourceReport;
  /** The drain hit its time limit before the queue was empty. */
  readonly incomplete: boolean;
  readonly share: number;
  readonly wallMs: number;
  readonly loadAverage: readonly [number, number];
  /** Cores the whole machine kept busy from the signal to the end of the drain (every process on it). */
  readonly machineBusyCores: number | undefined;
  /** The drain's time limit. */
  readonly limitMs: number;
}

export interface FanOutResult extends RunResult {
  /** The event source's batch size in this run. */
  readonly batchSize: number;
  readonly views: number;
  readonly finishedPerView: number;
  readonly signalAt: number;
  /** Signal to the last Stop Glue accepted, and to the first. */
  readonly completionMs: number;
  readonly firstStopMs: number;
}

export interface ExactResult extends RunResult {
  readonly requests: number;
}

const policyOf = (): RuntimePolicy => ({
  allow: [{ database: BENCH_DATABASE, tables: ['*'] }],
  dryRun: false,
  costGuards: [{ alarmName: ALARM_NAME, scope: { database: BENCH_DATABASE, tables: ['*'] } }],
});

const functionEnv = (
  servicesEnv: Readonly<Record<string, string>>,
  settings: RunSettings,
  share: string,
): Record<string, string> => ({
  ...servicesEnv,
  AWS_REGION: LOCAL_REGION,
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_SESSION_TOKEN: 'local',
  IDEMPOTENCY_EXPIRY_SECONDS: '86400',
  STOP_POLICY: JSON.stringify(policyOf()),
  GLUE_MAX_REQUESTS_PER_SECOND: share,
  GLUE_BUDGET_MODE: 'shared',
  GLUE_BURST_SECONDS: String(DEFAULT_GLUE_BURST_SECONDS),
  STOP_QUEUE_MAX_RECEIVE_COUNT: String(settings.deployment.maxReceiveCount),
  // As serverless.yml sets it from the event source: stop tasks are sized so that a batch fits.
  STOP_QUEUE_BATCH_SIZE: String(settings.deployment.batchSize),
  POWERTOOLS_SERVICE_NAME: 'glue-mv-stop',
  POWERTOOLS_METRICS_NAMESPACE: 'GlueMvStop',
  POWERTOOLS_LOG_LEVEL: settings.logLevel,
});

/** What an invocation was doing, from its records: expanding a scope, running stop tasks, exact requests. */
const tagOf = (event: SQSEvent): string => {
  const kinds = new Set<string>();
  for (const record of event.Records) {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      kinds.add('other');
      continue;
    }
    if (typeof body !== 'object' || body === null) kinds.add('other');
    else if ('ScopeTask' in body) {
      const task = body.ScopeTask as { Kind?: unknown };
      kinds.add(task.Kind === 'list' ? 'expansion' : 'stop-task');
    } else if ('TableNames' in body) kinds.add('expansion');
    else kinds.add('exact');
  }
  for (const kind of ['expansion', 'stop-task', 'exact']) if (kinds.has(kind)) return kind;
  return 'other';
};

const usageOf = (pool: LambdaPool): LambdaUsage => ({
  invocations: [...pool.invocations],
  initDurationsMs: [...pool.initDurationsMs],
  initRssBytes: [...pool.initRssBytes],
  logBytes: pool.logBytes,
});

const drainLimitMs = (views: number, settings: RunSettings): number =>
  Math.max(120_000, (views / settings.rate) * 1000 * settings.capFactor);

const drain = async (
  pool: LambdaPool,
  settings: RunSettings,
  services: { stopQueueUrl: string; deadLetterQueueUrl: string; sqsEndpoint: string },
  options: { concurrency: number; idleMs: number; timeoutMs: number },
): Promise<{ report: EventSourceReport; incomplete: boolean }> => {
  try {
    const report = await drainQueue({
      queueUrl: services.stopQueueUrl,
      sqsEndpoint: services.sqsEndpoint,
      deadLetterQueueUrl: services.deadLetterQueueUrl,
      batchSize: settings.deployment.batchSize,
      maximumConcurrency: options.concurrency,
      visibilityTimeoutSeconds: settings.deployment.visibilityTimeoutSeconds,
      maxReceiveCount: settings.deployment.maxReceiveCount,
      idleMs: options.idleMs,
      timeoutMs: options.timeoutMs,
      handlerFor: (slot) => async (event) =>
        (await pool.invoke(slot, event, tagOf(event))) as SQSBatchResponse,
    });
    return { report, incomplete: false };
  } catch (error) {
    if (error instanceof DrainTimeoutError) return { report: error.report, incomplete: true };
    throw error;
  }
};

const loadAverage = (): [number, number] => {
  const [one = 0, five = 0] = os.loadavg();
  return [one, five];
};

/** A cost-guard alarm over `views` running views (each with `finishedPerView` finished runs listed too). */
export const runFanOut = async (
  settings: RunSettings,
  views: number,
  finishedPerView: number,
): Promise<FanOutResult> => {
  const startedAt = performance.now();
  const services = await startServices({
    glueLatencyMs: settings.glueLatencyMs,
    glueJitterMs: settings.glueJitterMs,
    glueRate: settings.rate,
    glueRateScope: 'global',
    dynamoDbProcess: settings.dynamoDbProcess,
  });
  const share = glueRatePerInstance(settings.rate, {
    maximumConcurrency: settings.concurrency,
    eventConcurrency: settings.deployment.eventConcurrency,
  });
  const env = functionEnv(services.env, settings, share);
  const common = {
    env,
    timeoutMs: settings.deployment.timeoutSeconds * 1000,
    memoryMb: settings.deployment.memoryMb,
    environmentScript: settings.bundles.environment,
    ...(process.env.BENCH_LOG_FILE ? { logFile: process.env.BENCH_LOG_FILE } : {}),
  };
  const alarm = new LambdaPool({
    ...common,
    name: 'glue-mv-stop-bench-stopFromAlarm',
    bundle: settings.bundles.alarm,
    size: 1,
  });
  const queue = new LambdaPool({
    ...common,
    name: 'glue-mv-stop-bench-stopFromQueue',
    bundle: settings.bundles.queue,
    size: settings.concurrency,
  });
  try {
    await services.seedViews({
      databaseName: BENCH_DATABASE,
      views,
      finishedPerView,
      startedSecondsAgo: 600,
    });
    if (settings.warm) await Promise.all([alarm.warm(), queue.warm()]);
    const load = loadAverage();
    const cpuBefore = sampleCpu();
    const signalAt = Date.now();
    const outcome = await alarm.invoke(0, alarmStateChange(ALARM_NAME, { from: 'OK', to: 'ALARM' }), 'alarm');
    if (
      typeof outcome !== 'object' ||
      outcome === null ||
      !('outcome' in outcome) ||
      outcome.outcome !== 'expanded'
    ) {
      throw new Error(`the alarm function answered ${JSON.stringify(outcome)}`);
    }
    const limitMs = drainLimitMs(views, settings);
    const { report, incomplete } = await drain(queue, settings, services, {
      concurrency: settings.concurrency,
      idleMs: 2_000,
      timeoutMs: limitMs,
    });
    const machineBusy = busyCores(cpuBefore, sampleCpu());
    const servicesReport = await services.report();
    const { glue } = servicesReport;
    return {
      batchSize: settings.deployment.batchSize,
      views,
      finishedPerView,
      signalAt,
      completionMs: glue.lastStopAt - signalAt,
      firstStopMs: (glue.stopTimes[0] ?? signalAt) - signalAt,
      services: servicesReport,
      lambda: { alarm: usageOf(alarm), queue: usageOf(queue) },
      drain: report,
      incomplete,
      share: Number(share),
      wallMs: performance.now() - startedAt,
      loadAverage: load,
      machineBusyCores: machineBusy,
      limitMs,
    };
  } finally {
    await Promise.all([alarm.close(), queue.close()]);
    await services.close();
  }
};

/** `requests` exact requests, each for its own running view, sent and drained one at a time. */
export const runExactRequests = async (settings: RunSettings, requests: number): Promise<ExactResult> => {
  const startedAt = performance.now();
  const services = await startServices({
    glueLatencyMs: settings.glueLatencyMs,
    glueJitterMs: settings.glueJitterMs,
    glueRate: settings.rate,
    glueRateScope: 'global',
    dynamoDbProcess: settings.dynamoDbProcess,
  });
  const share = glueRatePerInstance(settings.rate, {
    maximumConcurrency: settings.concurrency,
    eventConcurrency: settings.deployment.eventConcurrency,
  });
  const queue = new LambdaPool({
    name: 'glue-mv-stop-bench-stopFromQueue',
    bundle: settings.bundles.queue,
    environmentScript: settings.bundles.environment,
    env: functionEnv(services.env, settings, share),
    size: 1,
    timeoutMs: settings.deployment.timeoutSeconds * 1000,
    memoryMb: settings.deployment.memoryMb,
  });
  // The producer: a client of the stop queue, as an application would send a request.
  const producer = new SQSClient({
    endpoint: services.sqsEndpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    await services.seedViews({
      databaseName: BENCH_DATABASE,
      views: requests,
      finishedPerView: 0,
      startedSecondsAgo: 600,
    });
    const load = loadAverage();
    const cpuBefore = sampleCpu();
    let report: EventSourceReport | undefined;
    let incomplete = false;
    const totals = {
      invocations: 0,
      recordsDelivered: 0,
      batchItemFailures: 0,
      failedInvocations: 0,
      deadLettered: 0,
      durationMs: 0,
    };
    for (let i = 0; i < requests; i++) {
      await producer.send(
        new SendMessageCommand({
          QueueUrl: services.stopQueueUrl,
          MessageBody: JSON.stringify({
            DatabaseName: BENCH_DATABASE,
            TableName: `view_${String(i).padStart(5, '0')}_mv`,
          }),
        }),
      );
      const one = await drain(queue, settings, services, { concurrency: 1, idleMs: 50, timeoutMs: 60_000 });
      incomplete ||= one.incomplete;
      for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += one.report[key];
      report = totals;
    }
    return {
      requests,
      services: await services.report(),
      lambda: { queue: usageOf(queue) },
      drain: report ?? totals,
      incomplete,
      share: Number(share),
      wallMs: performance.now() - startedAt,
      loadAverage: load,
      machineBusyCores: busyCores(cpuBefore, sampleCpu()),
      limitMs: 60_000,
    };
  } finally {
    producer.destroy();
    await queue.close();
    await services.close();
  }
};
