/**
 * The parent's side of the chaos suite's Lambda execution environments (`environment.ts`): starts one
 * (cold start), hands it one invocation at a time, enforces the function timeout and performs the kills.
 *
 * As in Lambda: an invocation not answered within the function timeout has "reached the function timeout"
 * and its environment is destroyed (SIGKILL here); a killed or crashed environment is gone too; the next
 * invocation of that slot gets a new one (another cold start). Environments are otherwise reused.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Parent → environment. */
export type ToEnvironment = { type: 'invoke'; id: string; event: unknown };

/** Environment → parent. */
export type FromEnvironment =
  | { type: 'ready' }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: string; response: unknown }
  | { type: 'error'; id: string; message: string };

export type InvocationResult =
  /** The handler answered (its response, possibly a partial batch response). */
  | { kind: 'response'; response: unknown; durationMs: number }
  /** The handler threw or rejected: Lambda reports a function error, the whole batch fails. */
  | { kind: 'error'; message: string; durationMs: number }
  /** Not answered within the function timeout: the environment was destroyed. */
  | { kind: 'timeout'; durationMs: number }
  /** SIGKILLed by the chaos schedule before it answered. */
  | { kind: 'killed'; durationMs: number }
  /** The process ended on its own before it answered. */
  | { kind: 'crashed'; message: string; durationMs: number }
  /** A new environment did not finish its cold start within the init limit (as Lambda: the invocation
   *  fails, the next one tries a new environment). */
  | { kind: 'init-failed'; message: string; durationMs: number };

export interface EnvironmentOptions {
  /** The function's environment variables (endpoints, table, queues, policy, …). */
  readonly env: Readonly<Record<string, string>>;
  /** The built bundle (`index.cjs`). */
  readonly bundle: string;
  readonly functionTimeoutMs: number;
  /** Lambda's init phase limit. Default 10 s. */
  readonly initTimeoutMs?: number;
  /** File descriptor the environment's stdout and stderr go to. Default: ignored. */
  readonly logFd?: number;
}

const ENVIRONMENT_SCRIPT = fileURLToPath(new URL('./environment.ts', import.meta.url));

/** A cold start that failed: the module threw (`timedOut` false), or did not load within the init limit. */
export class InitError extends Error {
  override readonly name = 'InitError';
  readonly timedOut: boolean;
  constructor(message: string, timedOut = false) {
    super(message);
    this.timedOut = timedOut;
  }
}

export class ExecutionEnvironment {
  readonly #child: ChildProcess;
  readonly #functionTimeoutMs: number;
  #exited = false;
  #exitDetail = '';
  #busy = false;
  #sequence = 0;
  /** Settles the invocation under way; set while one runs. */
  #settle: ((result: FromEnvironment | { type: 'exit' }) => void) | undefined;

  private constructor(child: ChildProcess, functionTimeoutMs: number) {
    this.#child = child;
    this.#functionTimeoutMs = functionTimeoutMs;
    child.on('message', (message: FromEnvironment) => this.#settle?.(message));
    child.on('exit', (code, signal) => {
      this.#exited = true;
      this.#exitDetail = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.#settle?.({ type: 'exit' });
    });
  }

  /** Forks an environment and waits for its cold start; rejects with `InitError` if it fails. */
  static async start(options: EnvironmentOptions): Promise<ExecutionEnvironment> {
    const fd = options.logFd ?? 'ignore';
    const child = fork(ENVIRONMENT_SCRIPT, [], {
      env: {
        PATH: process.env.PATH ?? '',
        ...options.env,
        CHAOS_BUNDLE: options.bundle,
        CHAOS_FUNCTION_TIMEOUT_MS: String(options.functionTimeoutMs),
      },
      execArgv: [],
      stdio: ['ignore', fd, fd, 'ipc'],
      serialization: 'json',
    });
    const environment = new ExecutionEnvironment(child, options.functionTimeoutMs);
    const initTimeoutMs = options.initTimeoutMs ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        environment.destroy();
        reject(new InitError(`the cold start did not finish within ${initTimeoutMs} ms`, true));
      }, initTimeoutMs);
      const onMessage = (message: FromEnvironment) => {
        if (message.type !== 'ready' && message.type !== 'init-error') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (message.type === 'ready') resolve();
        else reject(new InitError(message.message));
      };
      const onExit = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        reject(new InitError(`the environment ended during its cold start (${environment.#exitDetail})`));
      };
      child.on('message', onMessage);
      child.on('exit', onExit);
    });
    return environment;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /**
   * Runs one invocation. `killAfterMs`: SIGKILL the environment that long after the invocation started,
   * if it has not answered by then. After anything but `response` or `error` the environment is gone.
   */
  invoke(event: unknown, options: { killAfterMs?: number } = {}): Promise<InvocationResult> {
    if (this.#exited) return Promise.reject(new Error('the environment has ended'));
    if (this.#busy) return Promise.reject(new Error('an environment runs one invocation at a time'));
    this.#busy = true;
    this.#sequence += 1;
    const id = `${this.#child.pid}-${this.#sequence}`;
    const startedAt = performance.now();
    const elapsed = () => performance.now() - startedAt;
    return new Promise<InvocationResult>((resolve) => {
      let verdict: 'timeout' | 'killed' | undefined;
      const timers: NodeJS.Timeout[] = [];
      const finish = (result: InvocationResult) => {
        for (const timer of timers) clearTimeout(timer);
        this.#settle = undefined;
        this.#busy = false;
        resolve(result);
      };
      this.#settle = (message) => {
        if (message.type === 'exit') {
          const durationMs = elapsed();
          if (verdict) finish({ kind: verdict, durationMs });
          else finish({ kind: 'crashed', message: this.#exitDetail, durationMs });
        } else if (message.type === 'result' && message.id === id && !verdict) {
          finish({ kind: 'response', response: message.response, durationMs: elapsed() });
        } else if (message.type === 'error' && message.id === id && !verdict) {
          finish({ kind: 'error', message: message.message, durationMs: elapsed() });
        }
      };
      timers.push(
        setTimeout(() => {
          verdict ??= 'timeout';
          this.destroy();
        }, this.#functionTimeoutMs),
      );
      if (options.killAfterMs !== undefined) {
        timers.push(
          setTimeout(() => {
            verdict ??= 'killed';
            this.destroy();
          }, options.killAfterMs),
        );
      }
      const message: ToEnvironment = { type: 'invoke', id, event };
      // A message that cannot be sent means the process is going away: it ends as a crash.
      this.#child.send(message, (error) => {
        if (error) this.destroy();
      });
    });
  }

  /** SIGKILLs the environment (no-op once it has ended). */
  destroy(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }
}

/**
 * One execution environment per concurrency slot, created on first use and after the previous one was
 * destroyed (timeout, kill, crash), reused otherwise: what Lambda does for a function with that much
 * reserved concurrency.
 */
export class EnvironmentPool {
  readonly #options: EnvironmentOptions;
  readonly #slots: (ExecutionEnvironment | undefined)[];
  coldStarts = 0;
  /** Cold starts that did not finish within the init limit. */
  initTimeouts = 0;
  readonly initDurationsMs: number[] = [];

  constructor(options: EnvironmentOptions, size: number) {
    this.#options = options;
    this.#slots = Array.from({ length: size }, () => undefined);
  }

  async invoke(
    slot: number,
    event: unknown,
    options: { killAfterMs?: number } = {},
  ): Promise<InvocationResult> {
    let environment = this.#slots[slot];
    if (!environment?.alive) {
      const startedAt = performance.now();
      try {
        environment = await ExecutionEnvironment.start(this.#options);
      } catch (error) {
        // A module that throws is a broken bundle (fatal); a slow cold start fails this invocation only.
        if (!(error instanceof InitError && error.timedOut)) throw error;
        this.initTimeouts += 1;
        return { kind: 'init-failed', message: error.message, durationMs: performance.now() - startedAt };
      }
      this.coldStarts += 1;
      this.initDurationsMs.push(performance.now() - startedAt);
      this.#slots[slot] = environment;
    }
    const result = await environment.invoke(event, options);
    if (!environment.alive) this.#slots[slot] = undefined;
    return result;
  }

  /** SIGKILLs every environment. */
  destroyAll(): void {
    for (const environment of this.#slots) environment?.destroy();
    this.#slots.fill(undefined);
  }
}
