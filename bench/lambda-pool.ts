/**
 * The parent's side of the benchmark's Lambda execution environments (`lambda-environment.ts`): one child
 * process per concurrency slot, started on the slot's first invocation (a cold start) and reused after,
 * one invocation at a time, as Lambda runs a function with that much concurrency. An invocation that does
 * not answer within the function timeout destroys its environment, as Lambda does.
 *
 * It keeps what the cost and memory figures need: every invocation's duration and memory peaks, every
 * cold start's INIT time, and the bytes the environments wrote to stdout and stderr (their logs).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { projectRoot } from '../scripts/build.ts';
import type { EnvironmentMessage, InvocationFigures, InvokeMessage } from './lambda-environment.ts';

export interface LambdaPoolOptions {
  /** Function name, for the context and messages. */
  readonly name: string;
  /** The built bundle (`index.cjs`). */
  readonly bundle: string;
  /** The environment script, from `buildEnvironmentScript`. */
  readonly environmentScript: string;
  readonly env: Readonly<Record<string, string>>;
  /** Environments that may run at once. */
  readonly size: number;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  /** Also append the environments' logs to this file (for a closer look at a run). */
  readonly logFile?: string;
}

export interface InvocationRecord extends InvocationFigures {
  readonly slot: number;
  readonly outcome: 'response' | 'error' | 'timeout';
  /** A label the caller gave the invocation (e.g. `expansion`). */
  readonly tag: string;
  /** Records in the event, when it is an SQS batch. */
  readonly records: number;
  /** When it started, epoch ms. */
  readonly startedAt: number;
}

interface Environment {
  readonly child: ChildProcess;
  waiting?: ((message: EnvironmentMessage | { type: 'exit' }) => void) | undefined;
}

/**
 * BENCH_CPU_PROFILE_DIR: every environment writes a V8 CPU profile there when it exits (open it in Chrome's
 * DevTools or summarise it with `node bench/profile-summary.ts <dir>`).
 */
const profileArgs = (): string[] => {
  const dir = process.env.BENCH_CPU_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : [];
};

/** Compiles `lambda-environment.ts` to plain JavaScript in `dir`; returns the script's path. */
export const buildEnvironmentScript = async (dir: string): Promise<string> => {
  const outfile = path.join(dir, 'lambda-environment.cjs');
  await esbuild.build({
    entryPoints: [path.join(projectRoot, 'bench/lambda-environment.ts')],
    outfile,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    logLevel: 'warning',
  });
  return outfile;
};

export class LambdaPool {
  readonly #options: LambdaPoolOptions;
  readonly #slots: (Environment | undefined)[];
  #sequence = 0;
  readonly invocations: InvocationRecord[] = [];
  readonly initDurationsMs: number[] = [];
  /** RSS of each environment right after its INIT. */
  readonly initRssBytes: number[] = [];
  logBytes = 0;

  constructor(options: LambdaPoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.size }, () => undefined);
  }

  async #start(): Promise<Environment> {
    const child = fork(this.#options.environmentScript, [], {
      env: {
        PATH: process.env.PATH ?? '',
        ...this.#options.env,
        BENCH_BUNDLE: this.#options.bundle,
        BENCH_FUNCTION_NAME: this.#options.name,
        BENCH_TIMEOUT_MS: String(this.#options.timeoutMs),
        BENCH_MEMORY_MB: String(this.#options.memoryMb),
      },
      execArgv: profileArgs(),
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const log = this.#options.logFile;
    const countLog = (chunk: Buffer) => {
      this.logBytes += chunk.length;
      if (log !== undefined) appendFileSync(log, chunk);
    };
    child.stdout?.on('data', countLog);
    child.stderr?.on('data', countLog);
    const environment: Environment = { child };
    child.on('message', (message: EnvironmentMessage) => environment.waiting?.(message));
    child.on('exit', () => environment.waiting?.({ type: 'exit' }));
    const initMs = await new Promise<number>((resolve, reject) => {
      environment.waiting = (message) => {
        environment.waiting = undefined;
        if (message.type === 'ready') {
          this.initRssBytes.push(message.rssBytes);
          resolve(message.initMs);
        } else if (message.type === 'init-error')
          reject(new Error(`${this.#options.name}: ${message.message}`));
        else reject(new Error(`${this.#options.name}: the environment ended during its cold start`));
      };
    });
    this.initDurationsMs.push(initMs);
    return environment;
  }

  /**
   * Starts every slot's environment now, all at once, instead of on its first invocation: their cold
   * starts are then not on the clock of what is measured after. (On one shared machine the cold starts of
   * many environments queue for the same cores, where Lambda runs each on its own.)
   */
  async warm(): Promise<void> {
    await Promise.all(this.#slots.map((_, slot) => this.#environment(slot)));
  }

  async #environment(slot: number): Promise<Environment> {
    let environment = this.#slots[slot];
    if (!environment || environment.child.exitCode !== null) {
      environment = await this.#start();
      this.#slots[slot] = environment;
    }
    return environment;
  }

  /** Runs one invocation in `slot`'s environment; resolves with the handler's answer, rejects if it threw. */
  async invoke(slot: number, event: unknown, tag = ''): Promise<unknown> {
    const current = await this.#environment(slot);
    const records =
      typeof event === 'object' && event !== null && 'Records' in event && Array.isArray(event.Records)
        ? event.Records.length
        : 0;
    if (current.waiting) throw new Error('an environment runs one invocation at a time');
    const id = this.#sequence++;
    const startedAt = performance.now();
    const startedEpoch = Date.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        current.child.kill('SIGKILL');
      }, this.#options.timeoutMs);
      current.waiting = (message) => {
        if (message.type === 'exit') {
          clearTimeout(timer);
          current.waiting = undefined;
          this.#slots[slot] = undefined;
          const durationMs = performance.now() - startedAt;
          this.invocations.push({
            slot,
            outcome: 'timeout',
            tag,
            records,
            startedAt: startedEpoch,
            durationMs,
            peakRssBytes: 0,
            peakHeapUsedBytes: 0,
            maxRssBytes: 0,
            cpuMs: 0,
          });
          reject(new Error(`${this.#options.name}: the invocation did not answer in time`));
          return;
        }
        if ((message.type !== 'result' && message.type !== 'error') || message.id !== id) return;
        clearTimeout(timer);
        current.waiting = undefined;
        this.invocations.push({
          slot,
          outcome: message.type === 'result' ? 'response' : 'error',
          tag,
          records,
          startedAt: startedEpoch,
          ...message.figures,
        });
        if (message.type === 'result') resolve(message.response);
        else reject(new Error(message.message));
      };
      const request: InvokeMessage = { type: 'invoke', id, event };
      current.child.send(request);
    });
  }

  /** Ends every environment. */
  async close(): Promise<void> {
    await Promise.all(
      this.#slots.map(async (environment) => {
        if (!environment || environment.child.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => environment.child.once('exit', () => resolve()));
        environment.child.disconnect();
        await exited;
      }),
    );
    this.#slots.fill(undefined);
  }
}
