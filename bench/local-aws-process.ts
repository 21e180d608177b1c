/**
 * Local AWS stand-ins in a process of their own, for benchmarks: the emulators then use another event
 * loop (and, when free, another core) than the code being measured, as real services would. The parent
 * (`services.ts`) may start two of these, one for DynamoDB alone, so that dynalite, which handles one
 * request at a time, has an event loop to itself.
 *
 * Every request is counted where the service answers it, for the cost figures:
 * - Glue: the emulator's own call log.
 * - SQS: fauxqs sits behind a small counting proxy (requests by action, payload bytes, empty receives).
 * - DynamoDB: a listener on dynalite's HTTP server (requests by operation, request bytes).
 * - EventBridge: the emulator's call and event log.
 *
 * Configured by environment:
 * - BENCH_SERVICES: which to run, a comma list of glue, sqs, eventbridge, dynamodb (default: all).
 * - BENCH_GLUE_LATENCY_MS: added to every Glue answer; BENCH_GLUE_JITTER_MS: plus a uniform random
 *   0..jitter on top (so 20 and 30 give 20–50 ms).
 * - BENCH_GLUE_RATE: Glue's token bucket (requests per second); BENCH_GLUE_RATE_SCOPE: `global` (one
 *   bucket for every operation, the default) or `operation`.
 *
 * Speaks over the IPC channel of `fork`: sends `{ ready, env }`, then answers each `ServiceRequest` with
 * `{ id, result }`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';
import { type EventBridgeEmulator, startEventBridgeEmulator } from '../local/eventbridge-emulator.ts';
import { type GlueEmulator, type SeedRunInput, startGlueEmulator } from '../local/glue-emulator.ts';
import { createIdempotencyTable, LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../local/local-aws.ts';

export const IDEMPOTENCY_TABLE = 'glue-mv-stop-idempotency';
export const STOP_QUEUE = 'glue-mv-stop-requests';
export const DEAD_LETTER_QUEUE = 'glue-mv-stop-dead-letter';

/** Runs to seed one by one; start times travel over IPC as ISO strings. */
export type SeedRun = Omit<SeedRunInput, 'startTime'> & { startTime?: string };

/** Views of one database, each with `finishedPerView` finished runs and then one running run. */
export interface SeedViews {
  readonly databaseName: string;
  readonly views: number;
  readonly finishedPerView: number;
  /** The running runs started this long before the seed. */
  readonly startedSecondsAgo: number;
}

export type ServiceRequest =
  | { id: number; seedRuns: SeedRun[] }
  | { id: number; seedViews: SeedViews }
  | { id: number; glueCalls: string | null }
  | { id: number; report: true }
  | { id: number; close: true };

/** Requests of one kind: how many, and the bytes they carried. */
export interface RequestCount {
  requests: number;
  /** Request plus response body bytes, all requests. */
  bytes: number;
  /** The largest single request's payload (the larger of its request and response body). */
  maxPayloadBytes: number;
  /** Units billed: SQS and EventBridge per started 64 KB of payload, DynamoDB per capacity unit. */
  billed: number;
  /** ReceiveMessage only: answers without a message. */
  empty: number;
}

export interface GlueReport {
  readonly callsByOperation: Record<string, number>;
  readonly throttled: number;
  /** Error answers other than throttling, by code. */
  readonly errors: Record<string, number>;
  /** Stop calls answered 200 (accepted), and per seeded view. */
  readonly acceptedStops: number;
  readonly stopCalls: number;
  readonly viewsStoppedOnce: number;
  readonly viewsStoppedMoreThanOnce: number;
  readonly viewsNotStopped: number;
  /** Seeded runs still STARTING or RUNNING. */
  readonly stillActive: number;
  readonly firstCallAt: number;
  readonly lastStopAt: number;
  /** Accepted Stop times, epoch ms, in order. */
  readonly stopTimes: number[];
  /** The most Glue calls that arrived within any one second. */
  readonly peakCallsPerSecond: number;
}

export interface ProcessReport {
  readonly services: string[];
  /** CPU time of this process, user + system. */
  readonly cpuMs: number;
  readonly maxRssBytes: number;
  readonly glue?: GlueReport;
  readonly sqs?: Record<string, RequestCount>;
  readonly dynamoDb?: Record<string, RequestCount>;
  readonly eventBridge?: { calls: number; entries: number; billedEntries: number; maxEntryBytes: number };
}

const SERVICES = new Set((process.env.BENCH_SERVICES ?? 'glue,sqs,eventbridge,dynamodb').split(','));
const latencyMs = Number(process.env.BENCH_GLUE_LATENCY_MS ?? '0');
const jitterMs = Number(process.env.BENCH_GLUE_JITTER_MS ?? '0');
const rate = Number(process.env.BENCH_GLUE_RATE ?? '0');
const rateScope = process.env.BENCH_GLUE_RATE_SCOPE === 'operation' ? 'operation' : 'global';

const CHUNK_BYTES = 64 * 1024;
const chunks = (bytes: number): number => Math.max(1, Math.ceil(bytes / CHUNK_BYTES));

const tally = (
  counts: Map<string, RequestCount>,
  name: string,
  requestBytes: number,
  responseBytes: number,
  billed: number,
  empty = false,
) => {
  const entry = counts.get(name) ?? { requests: 0, bytes: 0, maxPayloadBytes: 0, billed: 0, empty: 0 };
  entry.requests += 1;
  entry.bytes += requestBytes + responseBytes;
  entry.maxPayloadBytes = Math.max(entry.maxPayloadBytes, requestBytes, responseBytes);
  entry.billed += billed;
  if (empty) entry.empty += 1;
  counts.set(name, entry);
};

/**
 * A reverse proxy in front of fauxqs that counts each request by its `x-amz-target` action. SQS bills
 * every 64 KB chunk of a request's payload as one request: the payload is what is sent (SendMessage*) or
 * received (ReceiveMessage), so the larger of the request and response bodies is counted.
 */
const startSqsProxy = async (upstreamAddress: string, counts: Map<string, RequestCount>) => {
  const upstream = new URL(upstreamAddress);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const server = http.createServer((req, res) => {
    const action = String(req.headers['x-amz-target'] ?? 'unknown').replace(/^AmazonSQS\./, '');
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      const sent = Buffer.concat(body);
      const forward = http.request(
        {
          host: upstream.hostname === '0.0.0.0' ? '127.0.0.1' : upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
          agent,
        },
        (answer) => {
          const received: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => received.push(chunk));
          answer.on('error', () => res.destroy());
          answer.on('end', () => {
            const reply = Buffer.concat(received);
            const empty = action === 'ReceiveMessage' && !reply.includes('"MessageId"');
            tally(
              counts,
              action,
              sent.length,
              reply.length,
              chunks(Math.max(sent.length, reply.length)),
              empty,
            );
            if (res.destroyed) return;
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(reply);
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(sent);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
};

/** DynamoDB capacity units a request consumes (on-demand): writes per started 1 KB, reads per 4 KB. */
const capacityUnits = (operation: string, requestBytes: number): number => {
  if (operation === 'GetItem') return Math.max(1, Math.ceil(requestBytes / 4096));
  if (operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem')
    return Math.max(1, Math.ceil(requestBytes / 1024));
  return 0;
};

/**
 * Units of a BatchWriteItem (per put item, per started 1 KB of the item as sent; 1 per delete) or a
 * strongly consistent BatchGetItem (1 per key: the ledger's items are far below 4 KB).
 */
const batchCapacityUnits = (operation: string, body: unknown): number => {
  const tables = Object.values(
    ((body as { RequestItems?: Record<string, unknown> } | null)?.RequestItems ?? {}) as Record<
      string,
      unknown
    >,
  );
  let units = 0;
  for (const table of tables) {
    if (operation === 'BatchGetItem') {
      units += ((table as { Keys?: unknown[] }).Keys ?? []).length;
      continue;
    }
    for (const request of (table as { PutRequest?: { Item?: unknown } }[]) ?? []) {
      units += request.PutRequest
        ? Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(request.PutRequest.Item ?? {})) / 1024))
        : 1;
    }
  }
  return units;
};

const env: Record<string, string> = {};
const closers: (() => Promise<void>)[] = [];
let glue: GlueEmulator | undefined;
let eventBridge: EventBridgeEmulator | undefined;
const sqsCounts = new Map<string, RequestCount>();
const dynamoCounts = new Map<string, RequestCount>();
const seededViews: { databaseName: string; tableName: string }[] = [];

if (SERVICES.has('glue')) {
  glue = await startGlueEmulator({
    accountId: LOCAL_ACCOUNT_ID,
    latencyMs,
    ...(jitterMs > 0
      ? { faultHook: () => ({ kind: 'delay' as const, delayMs: Math.random() * jitterMs }) }
      : {}),
    ...(rate > 0 ? { rateLimit: { requestsPerSecond: rate, scope: rateScope } } : {}),
  });
  const emulator = glue;
  closers.push(() => emulator.close());
  env.AWS_ENDPOINT_URL_GLUE = glue.url;
}

if (SERVICES.has('eventbridge')) {
  eventBridge = await startEventBridgeEmulator({ host: '127.0.0.1' });
  const emulator = eventBridge;
  closers.push(() => emulator.close());
  env.AWS_ENDPOINT_URL_EVENTBRIDGE = eventBridge.url;
  env.OUTCOME_EVENT_BUS_NAME = 'default';
}

if (SERVICES.has('sqs')) {
  const sqs = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false, defaultRegion: LOCAL_REGION });
  const proxy = await startSqsProxy(sqs.address, sqsCounts);
  closers.push(async () => {
    await proxy.close();
    await sqs.stop();
  });
  // fauxqs names queues by a virtual host that does not resolve here; the path on the proxy reaches them.
  const queueUrl = (name: string) =>
    sqs.createQueue(name).queueUrl.replace(/^https?:\/\/[^/]+/, proxy.address);
  env.AWS_ENDPOINT_URL_SQS = proxy.address;
  env.STOP_QUEUE_URL = queueUrl(STOP_QUEUE);
  env.DEAD_LETTER_QUEUE_URL = queueUrl(DEAD_LETTER_QUEUE);
}

if (SERVICES.has('dynamodb')) {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.on('request', (req: http.IncomingMessage) => {
    const operation = String(req.headers['x-amz-target'] ?? 'unknown').replace(/^DynamoDB_\d+\./, '');
    const bytes = Number(req.headers['content-length'] ?? '0');
    if (operation !== 'BatchWriteItem' && operation !== 'BatchGetItem') {
      tally(dynamoCounts, operation, bytes, 0, capacityUnits(operation, bytes));
      return;
    }
    // A batch is billed per item: its body says how many (dynalite reads the same stream alongside).
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let units = 0;
      try {
        units = batchCapacityUnits(operation, JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        units = 0;
      }
      tally(dynamoCounts, operation, bytes, 0, units);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const setup = new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await createIdempotencyTable(setup, IDEMPOTENCY_TABLE);
  setup.destroy();
  dynamoCounts.clear();
  env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  env.IDEMPOTENCY_TABLE_NAME = IDEMPOTENCY_TABLE;
}

const seedViews = (spec: SeedViews): number => {
  if (!glue) throw new Error('this process runs no Glue emulator');
  const started = Date.now() - spec.startedSecondsAgo * 1000;
  let runs = 0;
  for (let i = 0; i < spec.views; i++) {
    const view = { databaseName: spec.databaseName, tableName: `view_${String(i).padStart(5, '0')}_mv` };
    // Finished runs first, then the running one: each page of the listing holds both, as in Glue,
    // where a view's past runs stay listed.
    for (let f = 0; f < spec.finishedPerView; f++) {
      glue.seedRun({
        ...view,
        status: 'SUCCEEDED',
        startTime: new Date(started - (spec.finishedPerView - f) * 3_600_000),
      });
      runs += 1;
    }
    glue.seedRun({ ...view, startTime: new Date(started) });
    runs += 1;
    seededViews.push(view);
  }
  return runs;
};

const STOP = 'StopMaterializedViewRefreshTaskRun';

const glueReport = (emulator: GlueEmulator): GlueReport => {
  const callsByOperation: Record<string, number> = {};
  const errors: Record<string, number> = {};
  const acceptedByView = new Map<string, number>();
  const stopTimes: number[] = [];
  let throttled = 0;
  let stopCalls = 0;
  for (const call of emulator.calls) {
    callsByOperation[call.operation] = (callsByOperation[call.operation] ?? 0) + 1;
    if (call.errorCode === 'ThrottlingException') throttled += 1;
    else if (call.errorCode !== undefined) errors[call.errorCode] = (errors[call.errorCode] ?? 0) + 1;
    if (call.operation !== STOP) continue;
    stopCalls += 1;
    if (call.status !== 200) continue;
    stopTimes.push(call.at);
    const key = `${String(call.input.DatabaseName)}.${String(call.input.TableName)}`;
    acceptedByView.set(key, (acceptedByView.get(key) ?? 0) + 1);
  }
  let once = 0;
  let more = 0;
  let none = 0;
  let stillActive = 0;
  for (const view of seededViews) {
    const accepted = acceptedByView.get(`${view.databaseName}.${view.tableName}`) ?? 0;
    if (accepted === 1) once += 1;
    else if (accepted > 1) more += 1;
    else none += 1;
    for (const run of emulator.runsOf(view)) {
      if (run.status === 'RUNNING' || run.status === 'STARTING') stillActive += 1;
    }
  }
  // The busiest second: a sliding window over arrival times (the log is in arrival order).
  let peak = 0;
  let from = 0;
  const calls = emulator.calls;
  for (let to = 0; to < calls.length; to++) {
    while ((calls[from]?.at ?? 0) <= (calls[to]?.at ?? 0) - 1000) from += 1;
    peak = Math.max(peak, to - from + 1);
  }
  stopTimes.sort((a, b) => a - b);
  return {
    callsByOperation,
    throttled,
    errors,
    acceptedStops: stopTimes.length,
    stopCalls,
    viewsStoppedOnce: once,
    viewsStoppedMoreThanOnce: more,
    viewsNotStopped: none,
    stillActive,
    firstCallAt: calls[0]?.at ?? 0,
    lastStopAt: stopTimes.at(-1) ?? 0,
    stopTimes,
    peakCallsPerSecond: peak,
  };
};

const eventBridgeReport = (emulator: EventBridgeEmulator) => {
  let billedEntries = 0;
  let maxEntryBytes = 0;
  for (const event of emulator.events) {
    // EventBridge's entry size: Time (14 bytes), Source, DetailType, Detail and resources.
    const bytes =
      14 +
      Buffer.byteLength(event.source) +
      Buffer.byteLength(event.detailType) +
      Buffer.byteLength(JSON.stringify(event.detail)) +
      event.resources.reduce((total, r) => total + Buffer.byteLength(r), 0);
    billedEntries += chunks(bytes);
    maxEntryBytes = Math.max(maxEntryBytes, bytes);
  }
  return {
    calls: emulator.calls.length,
    entries: emulator.events.length,
    billedEntries,
    maxEntryBytes,
  };
};

const report = (): ProcessReport => {
  const cpu = process.cpuUsage();
  return {
    services: [...SERVICES],
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    ...(glue ? { glue: glueReport(glue) } : {}),
    ...(SERVICES.has('sqs') ? { sqs: Object.fromEntries(sqsCounts) } : {}),
    ...(SERVICES.has('dynamodb') ? { dynamoDb: Object.fromEntries(dynamoCounts) } : {}),
    ...(eventBridge ? { eventBridge: eventBridgeReport(eventBridge) } : {}),
  };
};

const send = (message: unknown) => process.send?.(message);

process.on('message', async (request: ServiceRequest) => {
  try {
    if ('seedRuns' in request) {
      if (!glue) throw new Error('this process runs no Glue emulator');
      for (const { startTime, ...run } of request.seedRuns) {
        glue.seedRun({ ...run, ...(startTime ? { startTime: new Date(startTime) } : {}) });
      }
      send({ id: request.id, result: request.seedRuns.length });
    } else if ('seedViews' in request) {
      send({ id: request.id, result: seedViews(request.seedViews) });
    } else if ('glueCalls' in request) {
      send({ id: request.id, result: glue?.callCount(request.glueCalls ?? undefined) ?? 0 });
    } else if ('report' in request) {
      send({ id: request.id, result: report() });
    } else {
      await Promise.all(closers.map((close) => close()));
      send({ id: request.id, result: 'closed' });
      process.disconnect();
    }
  } catch (error) {
    send({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
// The parent going away ends this process too: no orphans.
process.on('disconnect', () => process.exit(0));
send({ ready: true, env });
