/**
 * The benchmark's local AWS: one or two `local-aws-process.ts` children (Glue, SQS and EventBridge in one;
 * DynamoDB in the same or in its own), their endpoints merged into one environment for the functions.
 */
import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../scripts/build.ts';
import type {
  GlueReport,
  ProcessReport,
  RequestCount,
  SeedRun,
  SeedViews,
  ServiceRequest,
} from './local-aws-process.ts';

export interface ServicesOptions {
  readonly glueLatencyMs?: number;
  readonly glueJitterMs?: number;
  /** Glue's token bucket, requests per second; absent: no limit. */
  readonly glueRate?: number;
  readonly glueRateScope?: 'global' | 'operation';
  /** `own`: dynalite in a process of its own (default); `shared`: with the other services. */
  readonly dynamoDbProcess?: 'own' | 'shared';
}

export interface ServicesReport {
  readonly glue: GlueReport;
  readonly sqs: Record<string, RequestCount>;
  readonly dynamoDb: Record<string, RequestCount>;
  readonly eventBridge: NonNullable<ProcessReport['eventBridge']>;
  /** CPU time and peak RSS per service process, named by the services it runs. */
  readonly processes: { name: string; cpuMs: number; maxRssBytes: number }[];
}

export interface Services {
  /** Endpoints, queue URLs, table name: what a function's environment needs to reach them. */
  readonly env: Readonly<Record<string, string>>;
  readonly stopQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly sqsEndpoint: string;
  seedRuns(runs: SeedRun[]): Promise<number>;
  seedViews(spec: SeedViews): Promise<number>;
  glueCalls(operation?: string): Promise<number>;
  report(): Promise<ServicesReport>;
  close(): Promise<void>;
}

type Distributive<T> = T extends unknown ? Omit<T, 'id'> : never;

interface ServiceProcess {
  readonly env: Record<string, string>;
  call<T>(request: Distributive<ServiceRequest>): Promise<T>;
  readonly child: ChildProcess;
}

const startProcess = async (services: string, options: ServicesOptions): Promise<ServiceProcess> => {
  const child = fork(path.join(projectRoot, 'bench/local-aws-process.ts'), {
    env: {
      ...process.env,
      BENCH_SERVICES: services,
      BENCH_GLUE_LATENCY_MS: String(options.glueLatencyMs ?? 0),
      BENCH_GLUE_JITTER_MS: String(options.glueJitterMs ?? 0),
      BENCH_GLUE_RATE: String(options.glueRate ?? 0),
      BENCH_GLUE_RATE_SCOPE: options.glueRateScope ?? 'global',
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`local AWS process (${services}) exited with ${code}`)));
    child.on(
      'message',
      (message: {
        ready?: true;
        env?: Record<string, string>;
        id?: number;
        result?: unknown;
        error?: string;
      }) => {
        if (message.ready && message.env) resolve(message.env);
        else if (message.id !== undefined) {
          const waiting = pending.get(message.id);
          pending.delete(message.id);
          if (message.error !== undefined) waiting?.reject(new Error(message.error));
          else waiting?.resolve(message.result);
        }
      },
    );
  });
  child.removeAllListeners('exit');
  child.on('exit', () => {
    for (const waiting of pending.values())
      waiting.reject(new Error(`local AWS process (${services}) ended`));
    pending.clear();
  });
  return {
    env,
    child,
    call: <T>(request: Distributive<ServiceRequest>) =>
      new Promise<T>((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve: (v) => resolve(v as T), reject });
        child.send({ id, ...request });
      }),
  };
};

export const startServices = async (options: ServicesOptions = {}): Promise<Services> => {
  const own = (options.dynamoDbProcess ?? 'own') === 'own';
  const processes = await Promise.all(
    own
      ? [startProcess('glue,sqs,eventbridge', options), startProcess('dynamodb', options)]
      : [startProcess('glue,sqs,eventbridge,dynamodb', options)],
  );
  const [main] = processes;
  if (!main) throw new Error('no local AWS process');
  const env: Record<string, string> = Object.assign({}, ...processes.map((p) => p.env));
  const need = (name: string): string => {
    const value = env[name];
    if (value === undefined) throw new Error(`the local AWS processes set no ${name}`);
    return value;
  };
  return {
    env,
    stopQueueUrl: need('STOP_QUEUE_URL'),
    deadLetterQueueUrl: need('DEAD_LETTER_QUEUE_URL'),
    sqsEndpoint: need('AWS_ENDPOINT_URL_SQS'),
    seedRuns: (runs) => main.call<number>({ seedRuns: runs }),
    seedViews: (spec) => main.call<number>({ seedViews: spec }),
    glueCalls: (operation) => main.call<number>({ glueCalls: operation ?? null }),
    async report() {
      const reports = await Promise.all(processes.map((p) => p.call<ProcessReport>({ report: true })));
      const merged = Object.assign({}, ...reports) as ProcessReport;
      if (!merged.glue || !merged.sqs || !merged.dynamoDb || !merged.eventBridge) {
        throw new Error('a local AWS service did not report');
      }
      return {
        glue: merged.glue,
        sqs: merged.sqs,
        dynamoDb: merged.dynamoDb,
        eventBridge: merged.eventBridge,
        processes: reports.map((r) => ({
          name: r.services.join(', '),
          cpuMs: r.cpuMs,
          maxRssBytes: r.maxRssBytes,
        })),
      };
    },
    async close() {
      await Promise.all(
        processes.map(async (p) => {
          if (p.child.exitCode !== null) return;
          const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
          await p.call({ close: true }).catch(() => undefined);
          await exited;
        }),
      );
    },
  };
};
