/**
 * One Lambda execution environment for the benchmark, as a child process: loads a built bundle once (the
 * cold start: configuration from the environment only), then runs one invocation at a time as the parent
 * (`lambda-pool.ts`) sends them over IPC. With each answer it reports what Lambda would bill and what its
 * memory limit would see: the handler's duration, and the peak RSS and heap while it ran.
 *
 * It runs as plain JavaScript (`buildEnvironmentScript` in lambda-pool.ts compiles it), as Lambda's Node
 * runtime does: Node's TypeScript stripping would add its own memory to every figure.
 *
 * Environment: BENCH_BUNDLE (the bundle's path), BENCH_FUNCTION_NAME, BENCH_TIMEOUT_MS,
 * BENCH_MEMORY_MB, plus what the function itself reads (endpoints, table, queues, STOP_POLICY, …).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import v8 from 'node:v8';
import type { Context } from 'aws-lambda';

/** Parent → environment. */
export interface InvokeMessage {
  readonly type: 'invoke';
  readonly id: number;
  readonly event: unknown;
}

export interface InvocationFigures {
  /** The handler's wall time: what Lambda bills (rounded up to the millisecond). */
  readonly durationMs: number;
  /** Sampled every 25 ms while the handler ran, and at its end. */
  readonly peakRssBytes: number;
  readonly peakHeapUsedBytes: number;
  /** The process's peak RSS since it started (`getrusage`). */
  readonly maxRssBytes: number;
  /** CPU time the process has used since it started, user + system. */
  readonly cpuMs: number;
}

/** Environment → parent. */
export type EnvironmentMessage =
  /** `initMs`: from process start to the handler loaded, Lambda's INIT phase; `rssBytes` then. */
  | { readonly type: 'ready'; readonly initMs: number; readonly rssBytes: number }
  | { readonly type: 'init-error'; readonly message: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly response: unknown;
      readonly figures: InvocationFigures;
    }
  | {
      readonly type: 'error';
      readonly id: number;
      readonly message: string;
      readonly figures: InvocationFigures;
    };

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const send = (message: EnvironmentMessage): void => {
  process.send?.(message);
};

const REGION = process.env.AWS_REGION ?? 'us-east-1';
const ACCOUNT_ID = '123456789012';
const functionName = process.env.BENCH_FUNCTION_NAME ?? 'glue-mv-stop-bench-stopFromQueue';
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? '60000');
const memoryMb = process.env.BENCH_MEMORY_MB ?? '256';

const contextFor = (id: number): Context => {
  // Lambda's clock starts with the invocation: the remaining time counts down from the timeout.
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: memoryMb,
    awsRequestId: `${process.pid}-${id}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `bench/[$LATEST]${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

process.on('disconnect', () => process.exit(0));

let handler: Handler;
try {
  const bundle = process.env.BENCH_BUNDLE;
  if (!bundle) throw new Error('BENCH_BUNDLE is not set');
  const loaded: unknown = createRequire(path.join(process.cwd(), 'environment.cjs'))(bundle);
  const candidate =
    typeof loaded === 'object' && loaded !== null && 'handler' in loaded ? loaded.handler : undefined;
  if (typeof candidate !== 'function') throw new Error(`${bundle} exports no handler`);
  handler = candidate as Handler;
} catch (error) {
  send({ type: 'init-error', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
// performance.now() counts from the process's start: Node's own start-up is part of Lambda's INIT too.
send({ type: 'ready', initMs: performance.now(), rssBytes: process.memoryUsage().rss });

process.on('message', (message: InvokeMessage) => {
  if (message.type !== 'invoke') return;
  let peakRss = 0;
  let peakHeap = 0;
  // The cheapest readings (process.memoryUsage() also walks every heap space), every 25 ms: the sampling
  // must not take a share of the CPU the functions are measured on.
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    peakHeap = Math.max(peakHeap, v8.getHeapStatistics().used_heap_size);
  };
  sample();
  const sampler = setInterval(sample, 25);
  const startedAt = performance.now();
  const figures = (): InvocationFigures => {
    clearInterval(sampler);
    sample();
    const cpu = process.cpuUsage();
    return {
      cpuMs: (cpu.user + cpu.system) / 1000,
      durationMs: performance.now() - startedAt,
      peakRssBytes: peakRss,
      peakHeapUsedBytes: peakHeap,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  };
  handler(message.event, contextFor(message.id)).then(
    (response) => send({ type: 'result', id: message.id, response: response ?? null, figures: figures() }),
    (error: unknown) =>
      send({
        type: 'error',
        id: message.id,
        message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        figures: figures(),
      }),
  );
});
