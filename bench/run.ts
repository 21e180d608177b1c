/**
 * `npm run bench`: measures what the issue tracker's targets are about and writes docs/benchmarks.md.
 * Not part of `npm test`: figures come from medians over repeated runs on a shared machine.
 *
 *  1. Deployment size: each function's zip as `osls package` builds it (target ≤ 150 KB).
 *  2. Cold import: `node <bundle>` against `node <empty file>`, interleaved runs (target ≤ 1.4×).
 *  3. Batch latency: a 10-record batch against a 1-record batch, 50 ms emulated Glue latency (target ≤ 1.5×).
 *  4. Calls per request: DynamoDB and Glue calls for a new and for a duplicate request (target: 0 Glue
 *     calls for a duplicate).
 *
 * Options: BENCH_RUNS (default 25) sets the repetitions of 2 and 3.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { drainQueue } from '../local/event-source.ts';
import { alarmStateChange, sqsEvent, sqsRecord } from '../local/events.ts';
import type { SeedRunInput } from '../local/glue-emulator.ts';
import { lambdaContext } from '../local/lambda-context.ts';
import { build, esbuildOptions, projectRoot } from '../scripts/build.ts';
import type { RuntimePolicy } from '../src/policy/stack-config.ts';
import { createAwsClients } from '../src/runtime/clients.ts';
import type { StopConfig } from '../src/runtime/config.ts';
import { createStopRuntime } from '../src/runtime/stop-runtime.ts';
import { createStopAlarmHandler } from '../src/triggers/stop-alarm.ts';
import { createStopQueueHandler } from '../src/triggers/stop-queue.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? '25');
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const ms = (value: number): string => `${value.toFixed(1)} ms`;
const kb = (bytes: number): string => `${(bytes / 1000).toFixed(1)} KB`;
const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');

/** 1. Zip sizes from a real `osls package` run. */
const measureZips = async (): Promise<{ name: string; zipBytes: number; bundleBytes: number }[]> => {
  const results = await build({ log: false });
  const out = await mkdtemp(path.join(os.tmpdir(), 'glue-mv-stop-bench-'));
  try {
    const osls = path.join(projectRoot, 'node_modules/.bin/osls');
    const run = spawnSync(osls, ['package', '--stage', 'ci', '--region', 'us-east-1', '--package', out], {
      cwd: projectRoot,
      encoding: 'utf8',
      env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
    });
    if (run.status !== 0) throw new Error(`osls package failed:\n${run.stdout}\n${run.stderr}`);
    const zips = (await readdir(out)).filter((file) => file.endsWith('.zip'));
    return Promise.all(
      results.map(async (result) => {
        const zip = zips.find((file) => file.toLowerCase() === `${result.function.name.toLowerCase()}.zip`);
        if (!zip) throw new Error(`no zip for ${result.function.name} in ${zips.join(', ')}`);
        return {
          name: result.function.name,
          zipBytes: (await stat(path.join(out, zip))).size,
          bundleBytes: result.bytes,
        };
      }),
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
};

/** 2. Cold start of a fresh process that loads each bundle, against one that loads an empty file. */
const measureColdImport = async (): Promise<{
  bare: number;
  floor: { median: number; bytes: number };
  bundles: { name: string; median: number }[];
}> => {
  const results = await build({ log: false });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'glue-mv-stop-empty-'));
  const empty = path.join(dir, 'empty.cjs');
  await writeFile(empty, '');
  // The floor: a bundle holding only what every function must have, the Glue client and one command,
  // built with the same options as the functions.
  const floorEntry = path.join(projectRoot, 'bench/glue-client-only.ts');
  const floor = path.join(dir, 'glue-client-only.cjs');
  const floorBuild = await esbuild.build({
    ...esbuildOptions(floorEntry, floor),
    write: true,
    metafile: false,
  });
  if (floorBuild.errors.length > 0) throw new Error('could not build the Glue-client-only bundle');
  // What a function's environment holds: configuration is read and clients are built at import.
  const env = {
    ...process.env,
    IDEMPOTENCY_TABLE_NAME: 'bench',
    DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench',
    STOP_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-stop',
    STOP_POLICY: JSON.stringify({
      allow: [{ database: 'bench', tables: ['*'] }],
      dryRun: false,
      costGuards: [],
    }),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  };
  const time = (file: string): number => {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, [file], { env, stdio: 'ignore' });
    if (run.status !== 0) throw new Error(`node ${file} exited ${run.status}`);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  const bare: number[] = [];
  const floorTimes: number[] = [];
  const perBundle = results.map(() => [] as number[]);
  time(empty); // warm the file system cache
  for (let i = 0; i < RUNS; i++) {
    bare.push(time(empty));
    floorTimes.push(time(floor));
    for (const [index, result] of results.entries()) perBundle[index]?.push(time(result.outfile));
  }
  const floorBytes = (await stat(floor)).size;
  await rm(dir, { recursive: true, force: true });
  return {
    bare: median(bare),
    floor: { median: median(floorTimes), bytes: floorBytes },
    bundles: results.map((result, index) => ({
      name: result.function.name,
      median: median(perBundle[index] ?? []),
    })),
  };
};

/** DynamoDB commands sent, counted by a middleware on the client the functions use. */
const countCommands = (client: ReturnType<typeof createAwsClients>['dynamoDb']): Map<string, number> => {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCommandCounter' },
  );
  return counts;
};

interface GlueStats {
  stopCalls: number;
  lastStopAt: number;
  throttled: number;
  calls: number;
}

interface RemoteLocalAws {
  readonly config: StopConfig;
  readonly env: Record<string, string>;
  /** Runs to seed; start times travel over IPC as ISO strings. */
  seed(runs: (Omit<SeedRunInput, 'startTime'> & { startTime?: string })[]): Promise<number>;
  glueCalls(operation?: string): Promise<number>;
  glueStats(): Promise<GlueStats>;
  close(): Promise<void>;
}

/** Starts bench/local-aws-process.ts and points this process's SDK clients at it. */
const startRemoteLocalAws = async (options: {
  glueLatencyMs?: number;
  glueRate?: number;
  policy?: RuntimePolicy;
}): Promise<RemoteLocalAws> => {
  const child = fork(path.join(projectRoot, 'bench/local-aws-process.ts'), {
    env: {
      ...process.env,
      BENCH_GLUE_LATENCY_MS: String(options.glueLatencyMs ?? 0),
      BENCH_GLUE_RATE: String(options.glueRate ?? 0),
      ...(options.policy ? { BENCH_POLICY: JSON.stringify(options.policy) } : {}),
    },
  });
  const pending = new Map<number, (result: unknown) => void>();
  let nextId = 0;
  const ready = new Promise<{ env: Record<string, string>; config: StopConfig }>((resolve) => {
    child.on(
      'message',
      (message: {
        ready?: true;
        id?: number;
        result?: unknown;
        env?: Record<string, string>;
        config?: StopConfig;
      }) => {
        if (message.ready && message.env && message.config)
          resolve({ env: message.env, config: message.config });
        else if (message.id !== undefined) pending.get(message.id)?.(message.result);
      },
    );
  });
  const call = <T>(request: object): Promise<T> =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, (result) => resolve(result as T));
      child.send({ id, ...request });
    });
  const { env, config } = await ready;
  Object.assign(process.env, env);
  return {
    config,
    env,
    seed: (runs) => call<number>({ seed: runs }),
    glueCalls: (operation) => call<number>({ count: operation ?? null }),
    glueStats: () => call<GlueStats>({ glueStats: true }),
    close: async () => {
      await call({ close: true });
    },
  };
};

/** 3 and 4, through the real SQS trigger code over the local emulators (in their own process). */
const measurePipeline = async () => {
  const local = await startRemoteLocalAws({ glueLatencyMs: 50 });
  try {
    const clients = createAwsClients();
    const dynamoCalls = countCommands(clients.dynamoDb);
    const handler = createStopQueueHandler(
      createStopRuntime({ trigger: 'sqs', config: local.config, clients }),
    );
    let table = 0;
    const freshRecords = async (count: number) => {
      const tables = Array.from({ length: count }, () => `view_${table++}_mv`);
      await local.seed(tables.map((tableName) => ({ databaseName: 'bench', tableName })));
      return tables.map((TableName) => sqsRecord({ DatabaseName: 'bench', TableName }));
    };
    const cpu = { 1: [] as number[], 10: [] as number[] };
    const timeBatch = async (count: 1 | 10): Promise<number> => {
      const event = sqsEvent(...(await freshRecords(count)));
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      const response = await handler(event, lambdaContext());
      const elapsed = performance.now() - start;
      const used = process.cpuUsage(cpuBefore);
      cpu[count].push((used.user + used.system) / 1000);
      if (response.batchItemFailures.length > 0) throw new Error('benchmark batch had failures');
      return elapsed;
    };
    await timeBatch(10); // the first calls pay for connection setup
    const one: number[] = [];
    const ten: number[] = [];
    cpu[1].length = 0;
    cpu[10].length = 0;
    for (let i = 0; i < RUNS; i++) {
      one.push(await timeBatch(1));
      ten.push(await timeBatch(10));
    }

    const callsFor = async (record: ReturnType<typeof sqsRecord>) => {
      dynamoCalls.clear();
      const glueBefore = await local.glueCalls();
      await handler(sqsEvent(record), lambdaContext());
      return {
        glue: (await local.glueCalls()) - glueBefore,
        dynamoDb: [...dynamoCalls.values()].reduce((a, b) => a + b, 0),
        detail: [...dynamoCalls.entries()]
          .map(([name, n]) => `${n} × ${name.replace('Command', '')}`)
          .join(', '),
      };
    };
    const [record] = await freshRecords(1);
    if (!record) throw new Error('no record');
    const fresh = await callsFor(record);
    const duplicate = await callsFor(record);
    return {
      one: median(one),
      ten: median(ten),
      cpuOne: median(cpu[1]),
      cpuTen: median(cpu[10]),
      fresh,
      duplicate,
    };
  } finally {
    await local.close();
  }
};

/**
 * 5. Fan-out: a cost guard over N running refreshes, with Glue limited to R requests per second per
 * operation. The stop queue is drained like Lambda's event source mapping (maximum concurrency C, each
 * instance with its own clients and an R / C client-side rate limit, as the deployment configures it).
 */
const FANOUT_RUNS = Number(process.env.BENCH_FANOUT_RUNS ?? '1000');
const FANOUT_RATE = Number(process.env.BENCH_FANOUT_RATE ?? '50');
const FANOUT_CONCURRENCY = 5;

const measureFanOut = async () => {
  const policy: RuntimePolicy = {
    allow: [{ database: 'bench', tables: ['*'] }],
    dryRun: false,
    costGuards: [{ alarmName: 'bench-dpu-spend', scope: { database: 'bench', tables: ['*'] } }],
  };
  const local = await startRemoteLocalAws({ glueRate: FANOUT_RATE, policy });
  try {
    const config = { ...local.config, glueMaxRequestsPerSecond: FANOUT_RATE / FANOUT_CONCURRENCY };
    const startedBefore = new Date(Date.now() - 60_000).toISOString();
    await local.seed(
      Array.from({ length: FANOUT_RUNS }, (_, i) => ({
        databaseName: 'bench',
        tableName: `view_${String(i).padStart(5, '0')}_mv`,
        startTime: startedBefore,
      })),
    );
    const alarmHandler = createStopAlarmHandler(createStopRuntime({ trigger: 'alarm', config }));
    const start = Date.now();
    await alarmHandler(alarmStateChange('bench-dpu-spend', { from: 'OK', to: 'ALARM' }), lambdaContext());
    const report = await drainQueue({
      queueUrl: config.stopQueueUrl,
      sqsEndpoint: local.env.AWS_ENDPOINT_URL_SQS ?? '',
      deadLetterQueueUrl: config.deadLetterQueueUrl,
      maximumConcurrency: FANOUT_CONCURRENCY,
      visibilityTimeoutSeconds: 180,
      idleMs: 300,
      timeoutMs: 600_000,
      handlerFor: () => createStopQueueHandler(createStopRuntime({ trigger: 'sqs', config })),
    });
    const stats = await local.glueStats();
    const completionMs = stats.lastStopAt - start;
    return {
      runs: FANOUT_RUNS,
      rate: FANOUT_RATE,
      completionMs,
      idealMs: (FANOUT_RUNS / FANOUT_RATE) * 1000,
      stats,
      report,
    };
  } finally {
    await local.close();
  }
};

const main = async () => {
  console.log(`bench: ${RUNS} runs per timing, node ${process.version}`);
  const zips = await measureZips();
  console.log('zips', zips);
  const cold = await measureColdImport();
  console.log('cold import', cold);
  const pipeline = await measurePipeline();
  console.log('pipeline', pipeline);
  const fanOut = await measureFanOut();
  console.log('fan-out', { ...fanOut, report: undefined }, fanOut.report);
  const fanOutRatio = fanOut.completionMs / fanOut.idealMs;

  const batchRatio = pipeline.ten / pipeline.one;
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ` +
      `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${os.platform()}/${os.arch()}. ` +
      `Medians over ${RUNS} interleaved runs, all from one run of the script; the machine is shared, so ` +
      'compare ratios rather than absolute times.',
    '',
    '## Deployment size (target: zip ≤ 150 KB per function)',
    '',
    '| function | bundle | zip (from `osls package`) | target |',
    '| --- | --- | --- | --- |',
    ...zips.map(
      (z) => `| ${z.name} | ${kb(z.bundleBytes)} | ${kb(z.zipBytes)} | ${verdict(z.zipBytes <= 150_000)} |`,
    ),
    '',
    '## Cold import (target: ≤ 1.4 × a bare `node` process)',
    '',
    'Wall time of `node <bundle>` (process start, module load, configuration and SDK clients built at module ' +
      'scope, exit) against `node <empty file>`.',
    '',
    '| process | median | ratio to bare | target |',
    '| --- | --- | --- | --- |',
    `| bare node | ${ms(cold.bare)} | 1.00 × | |`,
    `| floor: the Glue client and one command only (${kb(cold.floor.bytes)}) | ${ms(cold.floor.median)} | ${(cold.floor.median / cold.bare).toFixed(2)} × | ${verdict(cold.floor.median / cold.bare <= 1.4)} |`,
    ...cold.bundles.map(
      (b) =>
        `| ${b.name} | ${ms(b.median)} | ${(b.median / cold.bare).toFixed(2)} × | ${verdict(b.median / cold.bare <= 1.4)} |`,
    ),
    '',
    'The floor row is a bundle with nothing but the Glue client, which every function must bundle (the ' +
      "runtime's SDK may lack the materialized-view commands): the SDK alone already costs more than the " +
      '1.4 × target allows. What brought the functions down from about twice their current time: CommonJS ' +
      'bundles instead of ESM (an ES module importing node:http makes Node build its ESM facade, which loads ' +
      'undici at start-up) and a Lambda-only credential provider in place of the default chain (a quarter of ' +
      'the bundle). The rest is the DynamoDB, SQS and EventBridge clients, Powertools and zod.',
    '',
    '## Batch latency at 50 ms Glue latency (target: 10 records ≤ 1.5 × 1 record)',
    '',
    'One invocation of the SQS trigger code against the local emulators (Glue emulator answering after 50 ms, ' +
      'dynalite, fauxqs), which run in a separate process as real services would; every record is a new ' +
      'request for a running refresh.',
    '',
    '| batch | median wall time | median CPU time in the function process |',
    '| --- | --- | --- |',
    `| 1 record | ${ms(pipeline.one)} | ${ms(pipeline.cpuOne)} |`,
    `| 10 records | ${ms(pipeline.ten)} | ${ms(pipeline.cpuTen)} |`,
    `| ratio | ${batchRatio.toFixed(2)} × (${verdict(batchRatio <= 1.5)}) | |`,
    '',
    'Records run in parallel: ten records one after another would take about ten times the 1-record time. ' +
      'What the 10-record batch adds is CPU work, in the function process (the SDK serialising and signing ' +
      'three calls per record: PutItem, Glue, UpdateItem) and in dynalite, which handles its twenty calls ' +
      'one at a time on one core where DynamoDB would serve them concurrently.',
    '',
    '## Calls per request (target: 0 Glue calls for a duplicate)',
    '',
    '| request | Glue calls | DynamoDB calls |',
    '| --- | --- | --- |',
    `| new | ${pipeline.fresh.glue} | ${pipeline.fresh.dynamoDb} (${pipeline.fresh.detail}) |`,
    `| duplicate (already completed) | ${pipeline.duplicate.glue} (${verdict(pipeline.duplicate.glue === 0)}) | ${pipeline.duplicate.dynamoDb} (${pipeline.duplicate.detail}) |`,
    '',
    'On a duplicate, the conditional PutItem fails; real DynamoDB returns the existing record with that failure ' +
      '(`ReturnValuesOnConditionCheckFailure`), dynalite does not, so Powertools reads it with a GetItem: against ' +
      'AWS a duplicate costs one DynamoDB call fewer than shown here.',
    '',
    `## Fan-out: ${fanOut.runs} running refreshes at ${fanOut.rate} Glue requests per second (targets: ≤ 1.2 × N/R, 0 throttled)`,
    '',
    `A cost-guard alarm expands into ${fanOut.runs} exact stop requests on the stop queue; the queue is drained like ` +
      `Lambda's event source mapping with maximum concurrency ${FANOUT_CONCURRENCY}, each instance limited to ` +
      `${fanOut.rate / FANOUT_CONCURRENCY} requests per second per Glue operation (R / C). The Glue emulator, in its own ` +
      `process, throttles above ${fanOut.rate} requests per second per operation. Each derived request makes two ` +
      "Glue calls (the run guard's List, then Stop), one per operation.",
    '',
    '| measure | value | target |',
    '| --- | --- | --- |',
    `| runs stopped (successful Stop calls) | ${fanOut.stats.stopCalls} of ${fanOut.runs} | all, once each |`,
    `| completion (alarm to last stop) | ${(fanOut.completionMs / 1000).toFixed(1)} s | |`,
    `| N / R | ${(fanOut.idealMs / 1000).toFixed(1)} s | |`,
    `| completion ÷ (N / R) | ${fanOutRatio.toFixed(2)} × | ≤ 1.2 × (${verdict(fanOutRatio <= 1.2)}) |`,
    `| requests that failed for throttling | ${fanOut.stats.throttled} | 0 (${verdict(fanOut.stats.throttled === 0)}) |`,
    `| records delivered / batch item failures / dead-lettered | ${fanOut.report.recordsDelivered} / ${fanOut.report.batchItemFailures} / ${fanOut.report.deadLettered} | |`,
    '',
  ];
  await writeFile(path.join(projectRoot, 'docs/benchmarks.md'), `${lines.join('\n')}`);
  console.log('wrote docs/benchmarks.md');
};

await main();
