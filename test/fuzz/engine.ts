/**
 * The fuzz engine: runs generated inputs (arbitraries.ts) through the four BUILT Lambda bundles, loaded
 * in-process against local AWS (Glue and EventBridge emulators, dynalite, fauxqs), and checks every one:
 *
 * - no crash: an asynchronous handler throws only `StopRetryError` (for a valid request whose stop must be
 *   retried); the queue handler only throws a clear error (not a TypeError and the like) for an event that
 *   is no SQS batch, and never answers an empty or unknown `itemIdentifier`;
 * - no Glue call for an input the contract rejects (invalid, outside the allow-list, an ignored alarm);
 * - every refused input is parked in the dead-letter queue exactly once, and the parked body restores the
 *   original (parked.ts); nothing else is parked;
 * - a refusal of an invalid input names the field at fault (in its outcome and its parked message);
 * - on the stop queue, the queue function's own scope tasks: a task is read as a task (a broken one is
 *   refused naming a field of the task); every Stop call is for a view that a valid exact request or stop
 *   task of the batch names, inside the allow-list, not in dry run; a view is stopped at most once per root
 *   key across the run (`StopLedger`); a stop task reports each view it may stop, once, under the view's
 *   key, or hands it on; every message sent back to the queue is valid and belongs to a record of the batch
 *   (a task continues a task or expands a scope; an exact request stands for a view of a stop task);
 * - no prototype pollution; bounded heap; no unhandled rejection; no invocation that never ends.
 *
 * What the contract says about an input is decided with the project's own parsers (src/request,
 * src/policy); what happened is read from the handler's answer, the emulators' call logs, the outcome
 * events the bundles publish and the dead-letter queue, drained after every input.
 *
 * `fuzzHandler` runs N seeded inputs without stopping at the first failure, then shrinks the first input
 * of every distinct failure with fast-check (replaying it by its path), within a budget of executions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { DeleteTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import fc from 'fast-check';
import * as z from 'zod/mini';
import { lambdaContext } from '../../local/lambda-context.ts';
import { createIdempotencyTable, LOCAL_REGION, type LocalAws, startLocalAws } from '../../local/local-aws.ts';
import { build, projectRoot } from '../../scripts/build.ts';
import { checkAllowed } from '../../src/policy/allow-list.ts';
import { contractText } from '../../src/policy/contract-text.ts';
import { decideOnAlarm, parseAlarmStateChange } from '../../src/policy/cost-guard.ts';
import { schedulePayloadSchema, scopeRequestForWindow } from '../../src/policy/schedule-payload.ts';
import type { RuntimePolicy } from '../../src/policy/stack-config.ts';
import { PARENT_KEY_MAX_LENGTH, type StopRequest } from '../../src/request/contract.ts';
import { MAX_NESTING, textNestsDeeperThan, valueNestsDeeperThan } from '../../src/request/json-text.ts';
import { isRecord, type ParsedMessage, parseStopEvent } from '../../src/request/parse.ts';
import { SCOPE_TASK_FIELD, type ScopeTask } from '../../src/request/scope-task.ts';
import { derivedIdempotencyKey } from '../../src/stop/run-command.ts';
import { scopeTaskKey, viewKey } from '../../src/stop/scope-expansion.ts';
import { interpretQueueMessage } from '../../src/triggers/queue-message.ts';
import {
  arbitraryFor,
  type FuzzInput,
  type HandlerName,
  KNOWN_TABLES,
  OWN_ACCOUNT,
  RUN_IDS,
  RUNNING_POOL,
  SHARED_ACCOUNT,
} from './arbitraries.ts';
import { describeModel, renderDoc, toSqsText, visible } from './model.ts';
import { type Original, type ParkedMessage, readParked, restores } from './parked.ts';

/** Some databases allowed, some not; cost guards that act (one on a refused database, one dry-run). */
export const FUZZ_POLICY: RuntimePolicy = {
  allow: [
    { database: 'sales', tables: ['*'] },
    { database: 'marketing', tables: ['campaign_*', 'audience_mv'] },
    { catalogId: SHARED_ACCOUNT, database: 'shared', tables: ['*'] },
  ],
  dryRun: false,
  costGuards: [
    { alarmName: 'sales-glue-dpu-spend', scope: { database: 'sales', tables: ['*'] } },
    { alarmName: 'finance-glue-dpu-spend', scope: { database: 'finance', tables: ['*'] } },
    {
      alarmName: 'marketing-dry-run',
      scope: { database: 'marketing', tables: ['campaign_*'] },
      dryRun: true,
    },
  ],
};

export const HEAP_LIMIT_BYTES = 512 * 1024 * 1024;
const INVOCATION_TIMEOUT_MS = 60_000;
const OUTCOME_DETAIL_TYPE = 'Materialized View Refresh Stop Outcome';
const STOP_OPERATION = 'StopMaterializedViewRefreshTaskRun';
const PROGRAMMING_ERRORS = new Set([
  'TypeError',
  'RangeError',
  'ReferenceError',
  'SyntaxError',
  'EvalError',
  'URIError',
  'InternalError',
]);

type LambdaHandler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

// ---------------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------------

export interface Harness {
  readonly local: LocalAws;
  readonly handlers: Readonly<Record<HandlerName, LambdaHandler>>;
  /** Forces a full garbage collection when the runtime allows it. */
  readonly gc: (() => void) | undefined;
  /** Everything measured over the harness's life. */
  readonly heap: { peak: number; peakAfterGc: number };
  /** Internal state of the runner (fresh ids, unhandled rejections, counters). */
  readonly state: HarnessState;
  close(): Promise<void>;
}

/**
 * The views stopped under each scope's root key since the idempotency table was last emptied: a view is
 * stopped at most once per root key, whichever task, redelivery or exact request reaches it.
 */
export interface StopLedger {
  /** View keys (`viewKey`) with a first-hand `stop-requested` outcome. */
  readonly reported: Set<string>;
  /** Root key and view of every Stop that Glue accepted and answered, when one root key alone could have sent it. */
  readonly accepted: Set<string>;
}

interface HarnessState {
  freshCounter: number;
  executions: number;
  unhandled: string[];
  readonly ledger: StopLedger;
  readonly sqs: SQSClient;
  readonly dynamoDb: DynamoDBClient;
  readonly prototypeBaseline: readonly (readonly PropertyKey[])[];
}

const PROTOTYPES: readonly object[] = [
  Object.prototype,
  Array.prototype,
  Function.prototype,
  String.prototype,
];

const exposeGc = (): (() => void) | undefined => {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? () => void gc() : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Powertools Metrics writes "No application metrics to publish" to stderr after every invocation that
 * counted nothing (metrics are disabled here): tens of thousands of identical lines. Those lines, and only
 * those, are dropped while the harness runs.
 */
const dropLines = (pattern: RegExp): (() => void) => {
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    const write = writes[i];
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      if (pattern.test(text)) return true;
      return Boolean(Reflect.apply(write ?? (() => true), stream, [chunk, ...rest]));
    }) as typeof stream.write;
  });
  return () => {
    streams.forEach((stream, i) => {
      const write = writes[i];
      if (write) stream.write = write;
    });
  };
};

export interface HarnessOptions {
  /** Folder for the bundles (default: a new temporary folder, removed on close). */
  readonly outDir?: string;
  /** Handler sources to build (default: the project's `handlers/`); e.g. an older checkout's. */
  readonly handlersDir?: string;
}

/** Builds the four bundles, starts local AWS and loads the bundles with its environment. */
export const startHarness = async (options: HarnessOptions = {}): Promise<Harness> => {
  const outRoot = options.outDir ?? (await mkdtemp(path.join(os.tmpdir(), 'glue-mv-stop-fuzz-')));
  const handlersDir = options.handlersDir ?? path.join(projectRoot, 'handlers');
  const bundles = await build({ root: outRoot, handlersDir, log: false });
  const local = await startLocalAws({ exportEnv: false, policy: FUZZ_POLICY });

  const saved = { ...process.env };
  Object.assign(process.env, local.env, {
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    STOP_POLICY: JSON.stringify(FUZZ_POLICY),
  });
  const require = createRequire(import.meta.url);
  const handlers: Partial<Record<HandlerName, LambdaHandler>> = {};
  try {
    for (const bundle of bundles) {
      const name = bundle.function.name as HandlerName;
      const mod: unknown = require(bundle.outfile);
      const handler = isRecord(mod) ? mod.handler : undefined;
      if (typeof handler !== 'function') throw new Error(`${bundle.outfile} exports no handler`);
      handlers[name] = async (event, context) => handler(event, context);
    }
  } catch (error) {
    await local.close();
    throw error;
  }
  const { stopFromQueue, stopFromEvent, stopFromAlarm, stopFromSchedule } = handlers;
  if (!stopFromQueue || !stopFromEvent || !stopFromAlarm || !stopFromSchedule)
    throw new Error('a bundle is missing');

  const clientConfig = {
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  const state: HarnessState = {
    freshCounter: 0,
    executions: 0,
    unhandled: [],
    ledger: { reported: new Set(), accepted: new Set() },
    sqs: new SQSClient({ ...clientConfig, endpoint: local.sqsEndpoint }),
    dynamoDb: new DynamoDBClient({ ...clientConfig, endpoint: local.dynamoDbEndpoint }),
    prototypeBaseline: PROTOTYPES.map((p) => Reflect.ownKeys(p)),
  };
  const onUnhandled = (reason: unknown) => {
    state.unhandled.push(reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason));
  };
  process.on('unhandledRejection', onUnhandled);
  const restoreOutput = dropLines(/^No application metrics to publish\./);

  return {
    local,
    handlers: { stopFromQueue, stopFromEvent, stopFromAlarm, stopFromSchedule },
    gc: exposeGc(),
    heap: { peak: 0, peakAfterGc: 0 },
    state,
    async close() {
      process.off('unhandledRejection', onUnhandled);
      restoreOutput();
      state.sqs.destroy();
      state.dynamoDb.destroy();
      await local.close();
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      if (!options.outDir) await rm(outRoot, { recursive: true, force: true });
    },
  };
};

/** Drops and recreates the idempotency table, so that a long run's records do not pile up in memory. */
const resetIdempotencyTable = async (h: Harness): Promise<void> => {
  const name = h.local.config.idempotencyTableName;
  await h.state.dynamoDb.send(new DeleteTableCommand({ TableName: name }));
  for (let i = 0; i < 200; i++) {
    try {
      await h.state.dynamoDb.send(new DescribeTableCommand({ TableName: name }));
    } catch {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await createIdempotencyTable(h.state.dynamoDb, name);
};

const drainQueue = async (h: Harness, queueUrl: string): Promise<Message[]> => {
  const all: Message[] = [];
  for (;;) {
    const received = await h.state.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 600,
        WaitTimeSeconds: 0,
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) return all;
    all.push(...messages);
    await h.state.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
};

// ---------------------------------------------------------------------------------------------------
// What the contract says (the oracle)
// ---------------------------------------------------------------------------------------------------

/** A view as Glue calls and outcomes name it. */
export interface View {
  readonly catalogId: string;
  readonly database: string;
  readonly table: string;
}

const viewId = (v: View): string => `${v.catalogId}\u0000${v.database}\u0000${v.table}`;
const placeId = (catalogId: string, database: string): string => `${catalogId}\u0000${database}`;

const isAllowedView = (v: View): boolean =>
  checkAllowed(FUZZ_POLICY.allow, OWN_ACCOUNT, {
    CatalogId: v.catalogId,
    DatabaseName: v.database,
    TableName: v.table,
  }).kind === 'allowed';

export type Verdict =
  | {
      readonly kind: 'invalid';
      readonly why: string;
      /** The field the contract names first (none when the oracle could not read the input). */
      readonly field?: string;
    }
  | { readonly kind: 'not-allowed'; readonly reason: string }
  | { readonly kind: 'ignored' }
  | {
      readonly kind: 'valid';
      readonly catalogId: string;
      readonly database: string;
      readonly key: string | undefined;
      /** A task of a scope's expansion. */
      readonly task?: ScopeTask;
      /** A request (exact or scope). */
      readonly request?: StopRequest;
    };

const verdictOf = (parsed: ParsedMessage): Verdict => {
  if (parsed.kind === 'invalid') {
    const first = parsed.violations[0];
    return { kind: 'invalid', why: first?.rule ?? 'invalid', ...(first ? { field: first.field } : {}) };
  }
  if (parsed.kind === 'task') {
    // A task of a scope's expansion: its database is checked again (its views are filtered one by one).
    const { task } = parsed;
    const verdict = checkAllowed(FUZZ_POLICY.allow, OWN_ACCOUNT, {
      CatalogId: task.CatalogId,
      DatabaseName: task.DatabaseName,
    });
    if (verdict.kind === 'not-allowed') return { kind: 'not-allowed', reason: verdict.reason };
    return {
      kind: 'valid',
      catalogId: task.CatalogId,
      database: task.DatabaseName,
      key: scopeTaskKey(task),
      task,
    };
  }
  const { request } = parsed;
  const verdict = checkAllowed(FUZZ_POLICY.allow, OWN_ACCOUNT, {
    CatalogId: request.CatalogId ?? OWN_ACCOUNT,
    DatabaseName: request.DatabaseName,
    ...(request.TableName !== undefined ? { TableName: request.TableName } : {}),
  });
  if (verdict.kind === 'not-allowed') return { kind: 'not-allowed', reason: verdict.reason };
  return {
    kind: 'valid',
    catalogId: request.CatalogId ?? OWN_ACCOUNT,
    database: request.DatabaseName,
    key: request.IdempotencyKey ?? parsed.eventId,
    request,
  };
};

/** The oracle overflowing on a value (deep nesting) counts as "invalid": the product must refuse it too. */
const guarded = (decide: () => Verdict): Verdict => {
  try {
    return decide();
  } catch (error) {
    return { kind: 'invalid', why: `unreadable (${error instanceof Error ? error.name : 'error'})` };
  }
};

const queueBodyVerdict = (body: string): Verdict =>
  guarded(() => {
    const message = interpretQueueMessage(body, FUZZ_POLICY.costGuards);
    return message.kind === 'alarm-ignored' ? { kind: 'ignored' } : verdictOf(message.parsed);
  });

const asyncVerdict = (handler: Exclude<HandlerName, 'stopFromQueue'>, event: unknown): Verdict =>
  guarded(() => {
    // The contract: no request nests past a few levels; a payload deeper than MAX_NESTING is refused whole.
    if (valueNestsDeeperThan(event, MAX_NESTING)) return { kind: 'invalid', why: 'depth' };
    if (handler === 'stopFromEvent') return verdictOf(parseStopEvent(event));
    if (handler === 'stopFromAlarm') {
      const alarm = parseAlarmStateChange(event);
      if (alarm.kind === 'invalid') return { kind: 'invalid', why: alarm.violations[0]?.rule ?? 'invalid' };
      const decision = decideOnAlarm(alarm.event, FUZZ_POLICY.costGuards);
      if (decision.kind === 'ignore') return { kind: 'ignored' };
      return verdictOf({ kind: 'valid', request: decision.request, eventId: alarm.event.id });
    }
    const payload = z.safeParse(schedulePayloadSchema, event);
    if (!payload.success) return { kind: 'invalid', why: 'schedule payload' };
    return verdictOf({
      kind: 'valid',
      request: scopeRequestForWindow(payload.data),
      eventId: payload.data.executionId,
    });
  });

// ---------------------------------------------------------------------------------------------------
// One execution
// ---------------------------------------------------------------------------------------------------

interface OutcomeSeen {
  readonly outcome: string;
  readonly reason?: string;
  readonly messageId?: string;
  readonly queued?: number;
  readonly detail?: string;
  readonly idempotencyKey?: string;
  readonly parentIdempotencyKey?: string;
  readonly replayed?: boolean;
  /** The view of a table outcome (an exact request's, or one a stop task settled). */
  readonly target?: View;
}

export interface Observation {
  readonly event: unknown;
  /** The event's JSON text as delivered. */
  readonly text: string;
  readonly settled:
    | { readonly ok: true; readonly value: unknown }
    | { readonly ok: false; readonly error: unknown };
  readonly glueCalls: readonly GlueCallSeen[];
  readonly outcomes: readonly OutcomeSeen[];
  readonly parked: readonly ParkedMessage[];
  /**
   * Bodies the invocation put on the stop queue: a scope handed on (the event, alarm and schedule
   * functions), or the tasks of a scope's expansion and the exact requests they fall back on (the queue
   * function).
   */
  readonly derived: readonly string[];
  /** PutEvents calls of the outcome events that EventBridge refused as a whole (HTTP 4xx/5xx). */
  readonly putEventsRefused: number;
  readonly polluted: readonly string[];
  readonly heapUsed: number;
  readonly unhandled: readonly string[];
  /** The harness's ledger of stops (updated by the checks). */
  readonly ledger: StopLedger;
}

export interface GlueCallSeen {
  readonly operation: string;
  /** The call's CatalogId, or the emulator's account when the call names none. */
  readonly catalogId: string;
  readonly database?: string;
  readonly table?: string;
  readonly stopped: boolean;
}

export interface Failure {
  /** What broke, stable across inputs: failures with the same check (and cause) are one finding. */
  readonly check: string;
  readonly detail: string;
}

class InvocationTimeout extends Error {
  override readonly name = 'InvocationTimeout';
}

const invoke = async (
  fn: LambdaHandler,
  event: unknown,
  context: ReturnType<typeof lambdaContext>,
): Promise<Observation['settled']> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new InvocationTimeout(`no answer after ${INVOCATION_TIMEOUT_MS} ms`)),
      INVOCATION_TIMEOUT_MS,
    );
  });
  try {
    return { ok: true, value: await Promise.race([fn(event, context), timeout]) };
  } catch (error) {
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
};

const prepareEmulators = (h: Harness, input: FuzzInput): void => {
  const { glue, eventBridge } = h.local;
  glue.reset();
  eventBridge.reset();
  for (const table of KNOWN_TABLES) glue.addTable(table);
  for (const index of input.plan.running) {
    const running = RUNNING_POOL[index];
    const table = running ? KNOWN_TABLES[running.table] : undefined;
    const runId = RUN_IDS[index];
    if (!running || !table || !runId) continue;
    glue.seedRun({
      ...table,
      runId,
      ...(running.state === 'stopping' ? { stopping: true } : { status: running.state }),
      startTime: new Date(Date.now() - 60_000),
    });
  }
  const fault = input.plan.glueFault;
  if (fault) {
    glue.injectFault({
      kind: fault.kind,
      times: fault.times,
      afterOperation: fault.afterOperation,
      ...(fault.operation !== undefined ? { operation: fault.operation } : {}),
    });
  }
  if (input.plan.eventBridgeFault) eventBridge.injectFault({ kind: input.plan.eventBridgeFault, times: 10 });
};

const outcomesOf = (h: Harness): OutcomeSeen[] =>
  h.local.eventBridge.events.flatMap((e): OutcomeSeen[] => {
    if (e.detailType !== OUTCOME_DETAIL_TYPE || !isRecord(e.detail)) return [];
    const {
      outcome,
      reason,
      messageId,
      queued,
      detail,
      idempotencyKey,
      parentIdempotencyKey,
      replayed,
      target,
    } = e.detail;
    if (typeof outcome !== 'string') return [];
    const view =
      isRecord(target) &&
      typeof target.CatalogId === 'string' &&
      typeof target.DatabaseName === 'string' &&
      typeof target.TableName === 'string'
        ? { catalogId: target.CatalogId, database: target.DatabaseName, table: target.TableName }
        : undefined;
    return [
      {
        outcome,
        ...(typeof reason === 'string' ? { reason } : {}),
        ...(typeof messageId === 'string' ? { messageId } : {}),
        ...(typeof queued === 'number' ? { queued } : {}),
        ...(typeof detail === 'string' ? { detail } : {}),
        ...(typeof idempotencyKey === 'string' ? { idempotencyKey } : {}),
        ...(typeof parentIdempotencyKey === 'string' ? { parentIdempotencyKey } : {}),
        ...(typeof replayed === 'boolean' ? { replayed } : {}),
        ...(view ? { target: view } : {}),
      },
    ];
  });

const parkedOf = (messages: readonly Message[]): ParkedMessage[] =>
  messages.map((m) => ({
    body: m.Body ?? '',
    attributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).flatMap(([name, value]) =>
        value.StringValue !== undefined ? [[name, value.StringValue]] : [],
      ),
    ),
  }));

const checkPrototypes = (h: Harness): string[] => {
  const polluted: string[] = [];
  PROTOTYPES.forEach((proto, i) => {
    const baseline = new Set(h.state.prototypeBaseline[i]);
    for (const key of Reflect.ownKeys(proto)) {
      if (baseline.has(key)) continue;
      polluted.push(String(key));
      Reflect.deleteProperty(proto, key); // clean up, so that later inputs are judged on their own
    }
  });
  const probe: Record<string, unknown> = {};
  if (probe.polluted !== undefined) polluted.push('({}).polluted');
  return polluted;
};

const FUNCTION_NAMES: Readonly<Record<HandlerName, string>> = {
  stopFromQueue: 'glue-mv-stop-fuzz-stopFromQueue',
  stopFromEvent: 'glue-mv-stop-fuzz-stopFromEvent',
  stopFromAlarm: 'glue-mv-stop-fuzz-stopFromAlarm',
  stopFromSchedule: 'glue-mv-stop-fuzz-stopFromSchedule',
};

/** Runs one input through one handler and collects everything it did. */
export const execute = async (h: Harness, handler: HandlerName, input: FuzzInput): Promise<Observation> => {
  const { state } = h;
  state.executions += 1;
  if (state.executions % 2_500 === 0) {
    await resetIdempotencyTable(h);
    // The product forgets what it stopped with its records: so does the ledger.
    state.ledger.reported.clear();
    state.ledger.accepted.clear();
  }
  prepareEmulators(h, input);
  const text = renderDoc(input.doc, {
    fresh: (prefix) => {
      state.freshCounter += 1;
      return `${prefix}-${state.freshCounter}-${process.pid}`;
    },
    now: Date.now(),
    sqsText: false,
  });
  // As Lambda does: the payload is JSON text, parsed into the handler's event.
  const event: unknown = JSON.parse(text);
  const unhandledBefore = state.unhandled.length;
  const settled = await invoke(
    h.handlers[handler],
    event,
    lambdaContext({ functionName: FUNCTION_NAMES[handler] }),
  );
  // Rejections nobody awaited surface on a later turn of the event loop.
  await new Promise((resolve) => setImmediate(resolve));
  const outcomes = outcomesOf(h);
  const parked = parkedOf(await drainQueue(h, h.local.deadLetterQueueUrl));
  // Only a scope (handed on, or expanded) and a stop task (its follow-ups, or itself handed on unstarted,
  // which publishes no outcome) write to the stop queue; a fault or a failed invocation may have cut one
  // short.
  const mayHaveQueued =
    handler === 'stopFromQueue' ||
    outcomes.some((o) => o.outcome === 'expanded') ||
    input.plan.glueFault !== undefined ||
    input.plan.eventBridgeFault !== undefined ||
    !settled.ok ||
    (isRecord(settled.value) &&
      Array.isArray(settled.value.batchItemFailures) &&
      settled.value.batchItemFailures.length > 0);
  const derived = mayHaveQueued ? (await drainQueue(h, h.local.stopQueueUrl)).map((m) => m.Body ?? '') : [];
  let heapUsed = v8.getHeapStatistics().used_heap_size;
  if (heapUsed > HEAP_LIMIT_BYTES && h.gc) {
    h.gc();
    heapUsed = v8.getHeapStatistics().used_heap_size;
  }
  h.heap.peak = Math.max(h.heap.peak, heapUsed);
  if (h.gc && state.executions % 500 === 0) {
    h.gc();
    h.heap.peakAfterGc = Math.max(h.heap.peakAfterGc, v8.getHeapStatistics().used_heap_size);
  }
  return {
    event,
    text,
    settled,
    glueCalls: h.local.glue.calls.map((c) => ({
      operation: c.operation,
      catalogId: typeof c.input.CatalogId === 'string' ? c.input.CatalogId : h.local.glue.accountId,
      ...(typeof c.input.DatabaseName === 'string' ? { database: c.input.DatabaseName } : {}),
      ...(typeof c.input.TableName === 'string' ? { table: c.input.TableName } : {}),
      // A Stop that took effect and whose answer reached the caller.
      stopped: c.operation === STOP_OPERATION && c.runId !== undefined && c.status === 200,
    })),
    ledger: state.ledger,
    outcomes,
    parked,
    derived,
    putEventsRefused: h.local.eventBridge.calls.filter((c) => c.status >= 400).length,
    polluted: checkPrototypes(h),
    heapUsed,
    unhandled: state.unhandled.slice(unhandledBefore),
  };
};

// ---------------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------------

const errorText = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${visible(error.message, 300)}` : visible(String(error), 300);

const errorName = (error: unknown): string => (error instanceof Error ? error.name : typeof error);

/** A short cause for grouping failures: the AWS error code or JS error in a message. */
export const causeOf = (text: string): string => {
  const known: [RegExp, string][] = [
    [/InvalidMessageContents|Invalid characters found/, 'SQS refuses characters'],
    [/shorter than \d+ bytes|too long|MessageTooLong/i, 'SQS size limit'],
    [/Maximum call stack/, 'stack overflow'],
    [/Invalid time value/, 'invalid date'],
    [/MissingParameter|must contain the parameter MessageBody/, 'SQS refuses an empty body'],
  ];
  for (const [pattern, cause] of known) if (pattern.test(text)) return cause;
  return /\b([A-Z][A-Za-z]+(?:Exception|Error))\b/.exec(text)?.[1] ?? 'other';
};

const reasonOfRetry = (error: unknown): string | undefined => {
  if (!isRecord(error) || !isRecord(error.outcome)) return undefined;
  return typeof error.outcome.reason === 'string' ? error.outcome.reason : undefined;
};

/** What a message on the stop queue is: a task of an expansion, a scope, or an exact request. */
const derivedKind = (body: string): 'task' | 'scope' | 'exact' | 'other' => {
  const value: unknown = JSON.parse(body);
  if (!isRecord(value)) return 'other';
  if (SCOPE_TASK_FIELD in value) return 'task';
  if ('TableNames' in value) return 'scope';
  return 'TableName' in value ? 'exact' : 'other';
};

/** Checks common to every handler. */
const commonChecks = (handler: HandlerName, input: FuzzInput, obs: Observation): Failure[] => {
  const failures: Failure[] = [];
  // What a function puts on the stop queue must itself be valid there and inside the allow-list: the
  // event, alarm and schedule functions hand a scope on; the queue function sends the tasks of its
  // expansion, and exact requests for views a task could not settle.
  for (const body of obs.derived) {
    const verdict = queueBodyVerdict(body);
    const kind = verdict.kind === 'valid' ? derivedKind(body) : 'other';
    if (verdict.kind !== 'valid')
      failures.push({
        check: `derived message ${verdict.kind === 'not-allowed' ? 'outside the allow-list' : `is ${verdict.kind}`}`,
        detail: visible(body, 400),
      });
    else if (handler === 'stopFromQueue' ? kind !== 'task' && kind !== 'exact' : kind !== 'scope')
      failures.push({
        check: `derived message is ${kind === 'other' ? 'no request' : `a ${kind}`}`,
        detail: visible(body, 400),
      });
  }
  // Parked messages say why they are there.
  for (const p of obs.parked) {
    if (
      !['rejected', 'not-allowed'].includes(p.attributes['glue-mv-stop.outcome'] ?? '') ||
      !p.attributes['glue-mv-stop.reason']
    )
      failures.push({
        check: 'parked message without outcome and reason',
        detail: describeModel(p.attributes, 300),
      });
  }
  if (obs.putEventsRefused > 0 && !input.plan.eventBridgeFault)
    failures.push({
      check: 'outcome events refused by EventBridge',
      detail: `${obs.putEventsRefused} PutEvents call(s) refused; ${obs.outcomes.length} outcome event(s) published`,
    });
  if (obs.polluted.length > 0)
    failures.push({ check: 'prototype pollution', detail: `new keys: ${obs.polluted.join(', ')}` });
  if (obs.heapUsed > HEAP_LIMIT_BYTES)
    failures.push({ check: 'heap over limit', detail: `${(obs.heapUsed / 2 ** 20).toFixed(0)} MiB in use` });
  if (obs.unhandled.length > 0)
    failures.push({ check: 'unhandled rejection', detail: obs.unhandled.join('; ') });
  if (!obs.settled.ok && obs.settled.error instanceof InvocationTimeout)
    failures.push({ check: 'invocation never ended', detail: obs.settled.error.message });
  return failures;
};

const isRefusal = (outcome: string | undefined) => outcome === 'rejected' || outcome === 'not-allowed';

/** stopFromEvent, stopFromAlarm, stopFromSchedule: one request per invocation, result or throw. */
const checkAsyncHandler = (input: FuzzInput, obs: Observation, verdict: Verdict, stats: Tally): Failure[] => {
  const failures: Failure[] = [];
  const fail = (check: string, detail: string) => failures.push({ check, detail });
  const original: Original = { json: obs.event };
  let parkExpected = false;
  let outcomeExpected = false;
  if (!obs.settled.ok) {
    const { error } = obs.settled;
    if (errorName(error) === 'StopRetryError') {
      const reason = reasonOfRetry(error) ?? 'unknown';
      stats.outcome(`retry (${reason})`);
      if (verdict.kind !== 'valid') {
        fail(`${verdict.kind} input not parked (${causeOf(errorText(error))})`, errorText(error));
      } else if (!input.plan.glueFault && reason !== 'duplicate-in-progress') {
        fail(`unexpected retry (${reason})`, errorText(error));
      }
    } else if (!(error instanceof InvocationTimeout)) {
      stats.outcome(`error (${errorName(error)})`);
      fail(`crash ${errorName(error)} (${causeOf(errorText(error))})`, errorText(error));
    }
  } else {
    const result = obs.settled.value;
    if (isRecord(result) && result.outcome === 'alarm-ignored') {
      stats.outcome('ignored');
      if (verdict.kind !== 'ignored')
        fail('ignored an alarm that calls for a stop', `verdict ${verdict.kind}`);
    } else if (!isRecord(result) || typeof result.outcome !== 'string') {
      stats.outcome('no outcome');
      fail('answer is no outcome', describeModel(result, 300));
    } else {
      const outcome = result.outcome;
      const reason = typeof result.reason === 'string' ? result.reason : undefined;
      stats.outcome(reason ? `${outcome} (${reason})` : outcome);
      parkExpected = isRefusal(outcome);
      outcomeExpected = outcome !== 'retry';
      const said = `${outcome}${reason ? ` (${reason})` : ''}`;
      if (outcome === 'retry') fail('retry answered instead of thrown', said);
      if (verdict.kind === 'invalid' && !(outcome === 'rejected' && reason === 'invalid-request'))
        fail('invalid input not rejected', said);
      if (verdict.kind === 'not-allowed' && !(outcome === 'not-allowed' && reason === verdict.reason))
        fail('input outside the allow-list not refused', `${said}, expected not-allowed (${verdict.reason})`);
      if (verdict.kind === 'ignored') fail('alarm that calls for nothing was acted on', said);
      if (verdict.kind === 'valid' && reason === 'invalid-request')
        fail(
          'valid input rejected as invalid',
          typeof result.detail === 'string' ? visible(result.detail, 300) : said,
        );
    }
  }
  checkParked(obs.parked, parkExpected ? [original] : [], fail, stats);
  // A refusal that can be fixed (allow-list, permissions, a missing table) must be redrivable: the parked
  // body, moved to the stop queue, must be read as the same request.
  if (verdict.kind === 'valid' || verdict.kind === 'not-allowed') {
    for (const message of obs.parked) {
      const restored = readParked(message);
      if (restored.kind !== 'verbatim' && restored.kind !== 'json-string') continue;
      const redriven = queueBodyVerdict(restored.text);
      if (redriven.kind !== verdict.kind)
        fail(
          'parked event not redrivable to the stop queue',
          `${verdict.kind} on its trigger, ${redriven.kind} on the queue`,
        );
    }
  }
  if (verdict.kind !== 'valid') {
    stats.glueCallsForInvalid += obs.glueCalls.length;
    if (obs.glueCalls.length > 0)
      fail('Glue call for invalid input', obs.glueCalls.map((c) => c.operation).join(', '));
  }
  if (!input.plan.eventBridgeFault) {
    const expected = outcomeExpected ? 1 : 0;
    if (obs.outcomes.length !== expected)
      fail('outcome events', `${obs.outcomes.length} published, expected ${expected}`);
  }
  return failures;
};

/** Exactly the expected originals parked, each once, each restorable. */
const checkParked = (
  parked: readonly ParkedMessage[],
  expected: readonly Original[],
  fail: (check: string, detail: string) => void,
  stats: Tally,
): void => {
  stats.parked += parked.length;
  if (expected.length === 1 && parked.length === 0)
    fail('refused input not parked', 'the dead-letter queue is empty');
  if (parked.length > expected.length)
    fail(
      expected.length === 0 ? 'parked without a refusal' : 'parked more than once',
      `${parked.length} message(s) parked, expected ${expected.length}`,
    );
  const original = expected[0];
  for (const message of parked) {
    if (!original) continue;
    const restored = restores(message, original);
    if (restored.ok) stats.restorable += 1;
    else fail('parked body not restorable', restored.why);
  }
};

interface RecordInfo {
  readonly index: number;
  readonly record: unknown;
  /** A non-empty string messageId. */
  readonly messageId?: string;
  readonly body?: string;
  readonly broken: boolean;
  readonly verdict?: Verdict;
  /** The body is a task as the queue reads one (`isTaskShaped`). */
  readonly taskShaped: boolean;
  /** Why a record of this input might be mishandled (for grouping failures). */
  readonly feature: string;
}

/** Lambda wraps a failed invocation's event once; the queue unwraps at most this many records. */
const MAX_INVOCATION_RECORD_WRAPPING = 8;

/**
 * Whether a body is shaped as a scope task, read without the product's parsers: `{"ScopeTask": …}` and
 * nothing else, maybe inside Lambda invocation records (`requestPayload`) no deeper than the queue unwraps.
 */
const isTaskShaped = (body: string): boolean => {
  if (textNestsDeeperThan(body, MAX_NESTING)) return false;
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return false;
  }
  for (
    let wrapped = 0;
    isRecord(value) && isRecord(value.requestContext) && 'requestPayload' in value;
    wrapped++
  ) {
    if (wrapped === MAX_INVOCATION_RECORD_WRAPPING) return false;
    value = value.requestPayload;
  }
  if (!isRecord(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === SCOPE_TASK_FIELD;
};

/** A field path inside a task, as the contract names it (`ScopeTask.Views.0.RunId`, `requestPayload.ScopeTask`). */
const TASK_FIELD_PATH = /(^|\.)ScopeTask(\.|$)/;

const absurdSentTimestamp = (record: Record<string, unknown>): boolean => {
  const sent = isRecord(record.attributes) ? Number(record.attributes.SentTimestamp) : Number.NaN;
  return Number.isFinite(sent) && sent > 0 && Number.isNaN(new Date(sent).getTime());
};

const recordInfo = (record: unknown, index: number): RecordInfo => {
  if (!isRecord(record))
    return { index, record, broken: true, taskShaped: false, feature: 'record is no object' };
  const messageId =
    typeof record.messageId === 'string' && record.messageId !== '' ? record.messageId : undefined;
  const body = typeof record.body === 'string' ? record.body : undefined;
  const verdict = body !== undefined ? queueBodyVerdict(body) : undefined;
  const taskShaped = body !== undefined && isTaskShaped(body);
  const feature =
    messageId === undefined
      ? 'no messageId'
      : body === undefined
        ? 'body is no string'
        : body === ''
          ? 'empty body'
          : absurdSentTimestamp(record)
            ? 'absurd SentTimestamp'
            : textNestsDeeperThan(body, MAX_NESTING)
              ? 'body nests deep'
              : verdict?.kind === 'invalid' && verdict.why.startsWith('unreadable')
                ? `body ${verdict.why}`
                : Buffer.byteLength(body, 'utf8') > 1_040_000
                  ? 'body near the SQS size limit'
                  : `${taskShaped ? 'task ' : ''}${verdict?.kind ?? 'unknown'}`;
  return {
    index,
    record,
    broken: messageId === undefined || body === undefined,
    taskShaped,
    feature,
    ...(messageId !== undefined ? { messageId } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(verdict !== undefined ? { verdict } : {}),
  };
};

const PARKED_MESSAGE_ID = 'glue-mv-stop.message-id';
const PARKED_DETAIL = 'glue-mv-stop.detail';

/** What a record's parked message may restore: its body, or (no string body) that value as JSON, or the record. */
const originalsOf = (r: RecordInfo): Original[] => {
  if (r.body !== undefined) return [{ text: r.body }];
  // A missing body is written as JSON has it, null.
  const body = isRecord(r.record) ? (r.record.body ?? null) : undefined;
  return body !== undefined ? [{ json: body }, { json: r.record }] : [{ json: r.record }];
};

const verdictLabel = (r: RecordInfo): string =>
  `${r.taskShaped ? 'task ' : ''}${r.verdict?.kind ?? 'unknown'}`;

/** A message the queue function sent back to the stop queue, as the queue reads it. */
interface DerivedMessage {
  readonly body: string;
  /** The body as JSON, whatever the contract says of it. */
  readonly json: unknown;
  /** The body read as a task or a request, when the contract accepts it. */
  readonly task?: ScopeTask;
  readonly request?: StopRequest;
}

const readDerived = (body: string): DerivedMessage => {
  let json: unknown;
  try {
    json = JSON.parse(body);
    const message = interpretQueueMessage(body, FUZZ_POLICY.costGuards);
    if (message.kind === 'request' && message.parsed.kind === 'task')
      return { body, json, task: message.parsed.task };
    if (message.kind === 'request' && message.parsed.kind === 'valid')
      return { body, json, request: message.parsed.request };
  } catch {
    // Unreadable: the common checks report it.
  }
  return { body, json };
};

const describeView = (v: View): string => visible(`${v.catalogId}:${v.database}.${v.table}`, 300);

const stopTarget = (v: View) => ({ CatalogId: v.catalogId, DatabaseName: v.database, TableName: v.table });

const viewOfTask = (task: ScopeTask, table: string): View => ({
  catalogId: task.CatalogId,
  database: task.DatabaseName,
  table,
});

/** Outcomes a view settled by a stop task may end in (`expanded` is the task's own). */
const VIEW_OUTCOMES = new Set(['stop-requested', 'already-stopping', 'not-running', 'skipped', 'dry-run']);

/** An exact request the task sent for one of its views: that view, its run and guard, the view's key. */
const isExactRequestFor = (request: StopRequest | undefined, task: ScopeTask, table: string): boolean => {
  if (request?.TableName !== table) return false;
  const target = stopTarget(viewOfTask(task, table));
  return (
    request.CatalogId === task.CatalogId &&
    request.DatabaseName === task.DatabaseName &&
    request.IdempotencyKey === derivedIdempotencyKey(task.RootKey, target) &&
    request.ParentIdempotencyKey === contractText(task.RootKey, PARENT_KEY_MAX_LENGTH) &&
    request.IssuedAt === task.IssuedAt &&
    (request.DryRun === true) === (task.DryRun === true) &&
    (task.Views ?? []).some((v) => v.TableName === table && v.RunId === request.RunId)
  );
};

/** A message sent on for one view of a task, by its fields alone (valid or not: other checks say which). */
const isSentOnFor = (json: unknown, task: ScopeTask, table: string): boolean => {
  if (!isRecord(json)) return false;
  if (json.TableName === table)
    return (
      json.CatalogId === task.CatalogId &&
      json.DatabaseName === task.DatabaseName &&
      json.IdempotencyKey === derivedIdempotencyKey(task.RootKey, stopTarget(viewOfTask(task, table)))
    );
  const sent = json[SCOPE_TASK_FIELD];
  return (
    isRecord(sent) &&
    sent.Kind === 'stop' &&
    sent.RootKey === task.RootKey &&
    sent.CatalogId === task.CatalogId &&
    sent.DatabaseName === task.DatabaseName &&
    Array.isArray(sent.Views) &&
    sent.Views.some((v: unknown) => isRecord(v) && v.TableName === table)
  );
};

/**
 * A valid task's view outcomes: each for a view the task names, inside the allow-list, under the view's key
 * and with the scope's key as parent, reported once per naming; a view is stopped once per root key across
 * the run; a task that ran reports or hands on every view it may stop.
 */
const checkTaskViews = (
  task: ScopeTask,
  own: OutcomeSeen | undefined,
  viewOutcomes: readonly OutcomeSeen[],
  derived: readonly DerivedMessage[],
  ledger: StopLedger,
  fail: (check: string, detail: string) => void,
): void => {
  const dryRun = task.DryRun === true;
  const named = new Map<string, number>();
  for (const v of task.Views ?? []) named.set(v.TableName, (named.get(v.TableName) ?? 0) + 1);
  if (task.Kind === 'list' && viewOutcomes.length > 0)
    fail('list task reported view outcomes', `${viewOutcomes.length} view outcome(s)`);
  const reported = new Map<string, number>();
  for (const o of viewOutcomes) {
    const view = o.target;
    if (!view) continue;
    const said = `${o.outcome}${o.reason ? ` (${o.reason})` : ''} for ${describeView(view)}`;
    if (view.catalogId !== task.CatalogId || view.database !== task.DatabaseName || !named.has(view.table)) {
      fail('view outcome for a view the task does not name', said);
      continue;
    }
    if (!isAllowedView(view)) fail('view outcome for a view outside the allow-list', said);
    if (!VIEW_OUTCOMES.has(o.outcome)) fail(`view outcome ${o.outcome}`, said);
    if (dryRun && o.outcome === 'stop-requested') fail('dry-run task stopped a view', said);
    const times = (reported.get(view.table) ?? 0) + 1;
    reported.set(view.table, times);
    if (times > (named.get(view.table) ?? 0)) fail('view outcome reported twice', said);
    const key = viewKey(task.RootKey, stopTarget(view), dryRun);
    if (o.idempotencyKey !== key)
      fail(
        'view outcome under another key than its root key gives',
        `${said}: ${o.idempotencyKey ?? '(none)'}`,
      );
    if (o.parentIdempotencyKey !== contractText(task.RootKey, PARENT_KEY_MAX_LENGTH))
      fail("view outcome without its scope's key", said);
    if (o.outcome === 'stop-requested' && o.replayed === false) {
      if (ledger.reported.has(key))
        fail('view stopped twice under one root key', `${said} under ${visible(task.RootKey, 100)}, again`);
      ledger.reported.add(key);
    }
  }
  // A task that ran (not the replay of one that finished) reports, or hands on, each view it may stop.
  if (task.Kind !== 'stop' || own?.outcome !== 'expanded' || own.replayed !== false) return;
  for (const table of named.keys()) {
    if (reported.has(table) || !isAllowedView(viewOfTask(task, table))) continue;
    if (!derived.some((d) => isSentOnFor(d.json, task, table)))
      fail('view of a stop task neither reported nor handed on', describeView(viewOfTask(task, table)));
  }
};

/**
 * Every Stop call is for a view a valid record of the batch may stop: the target of an exact request, or a
 * view a stop task names inside the allow-list (neither in dry run). A Stop that Glue accepted and answered,
 * for a view only one root key's tasks name, goes into the ledger: once per root key and view in the run.
 */
const checkStopCalls = (
  valid: readonly Extract<Verdict, { kind: 'valid' }>[],
  obs: Observation,
  fail: (check: string, detail: string) => void,
): void => {
  const stopTasks = valid.flatMap((v) => (v.task?.Kind === 'stop' && v.task.DryRun !== true ? [v.task] : []));
  const exact = new Set(
    valid.flatMap((v) =>
      v.request?.TableName !== undefined && v.request.DryRun !== true
        ? [viewId({ catalogId: v.catalogId, database: v.database, table: v.request.TableName })]
        : [],
    ),
  );
  for (const call of obs.glueCalls) {
    if (call.operation !== STOP_OPERATION) continue;
    if (call.database === undefined || call.table === undefined) {
      fail(
        'Stop call for a view no record may stop',
        `${call.catalogId}:${call.database ?? '(no database)'}`,
      );
      continue;
    }
    const view: View = { catalogId: call.catalogId, database: call.database, table: call.table };
    const roots = new Set(
      stopTasks
        .filter(
          (t) =>
            t.CatalogId === view.catalogId &&
            t.DatabaseName === view.database &&
            (t.Views ?? []).some((v) => v.TableName === view.table),
        )
        .map((t) => t.RootKey),
    );
    const byExact = exact.has(viewId(view));
    if (!byExact && (roots.size === 0 || !isAllowedView(view))) {
      fail('Stop call for a view no record may stop', describeView(view));
      continue;
    }
    const [root] = roots;
    if (call.stopped && !byExact && roots.size === 1 && root !== undefined) {
      const key = `${root}\u0000${viewId(view)}`;
      if (obs.ledger.accepted.has(key))
        fail('view stopped twice under one root key', `Glue accepted another Stop of ${describeView(view)}`);
      obs.ledger.accepted.add(key);
    }
  }
};

/** The same stop or list task: place, root key, guard, dry run, views, page and resend count. */
const sameTask = (a: ScopeTask, b: ScopeTask): boolean => {
  const identity = (t: ScopeTask) =>
    JSON.stringify([
      t.Kind,
      t.CatalogId,
      t.DatabaseName,
      t.RootKey,
      t.IssuedAt,
      t.DryRun === true,
      t.Views,
      t.PageToken,
      t.Resend,
    ]);
  return identity(a) === identity(b);
};

/**
 * What the queue function sends back to the queue belongs to the batch: a task continues a task of the
 * batch (same root key, place, guard and dry run) or expands a scope request of the batch (same place), and
 * names views inside the allow-list or views its task named; an exact request is a view of a stop task,
 * under the key the task's root key gives it.
 */
const checkDerivedFromQueue = (
  valid: readonly Extract<Verdict, { kind: 'valid' }>[],
  derived: readonly DerivedMessage[],
  fail: (check: string, detail: string) => void,
): void => {
  const tasks = valid.flatMap((v) => (v.task ? [v.task] : []));
  for (const d of derived) {
    const sent = d.task;
    if (sent) {
      const samePlace = (catalogId: string, database: string) =>
        catalogId === sent.CatalogId && database === sent.DatabaseName;
      const fromTasks = tasks.filter(
        (t) => samePlace(t.CatalogId, t.DatabaseName) && t.RootKey === sent.RootKey,
      );
      const fromScopes = valid.filter(
        (v) => v.request?.TableNames !== undefined && samePlace(v.catalogId, v.database),
      );
      if (fromTasks.length === 0 && fromScopes.length === 0) {
        fail('derived task belongs to no record of the batch', visible(d.body, 300));
        continue;
      }
      if (
        fromScopes.length === 0 &&
        !fromTasks.some((t) => t.IssuedAt === sent.IssuedAt && (t.DryRun === true) === (sent.DryRun === true))
      )
        fail("derived task changes its scope's guard or dry run", visible(d.body, 300));
      for (const v of sent.Views ?? []) {
        const view = viewOfTask(sent, v.TableName);
        const namedBefore = fromTasks.some((t) =>
          (t.Views ?? []).some((w) => w.TableName === v.TableName && w.RunId === v.RunId),
        );
        if (!isAllowedView(view) && !namedBefore)
          fail('derived stop task names a view outside the allow-list', describeView(view));
      }
    } else if (d.request?.TableName !== undefined) {
      const table = d.request.TableName;
      if (!tasks.some((t) => t.Kind === 'stop' && isExactRequestFor(d.request, t, table)))
        fail('derived exact request belongs to no view of a stop task', visible(d.body, 300));
    }
  }
};

/** stopFromQueue: a partial batch response; every record on its own. */
const checkQueueHandler = (input: FuzzInput, obs: Observation, stats: Tally): Failure[] => {
  const failures: Failure[] = [];
  const fail = (check: string, detail: string) => failures.push({ check, detail });
  const event = obs.event;
  const isBatch = isRecord(event) && Array.isArray(event.Records);
  const records = isRecord(event) && Array.isArray(event.Records) ? event.Records.map(recordInfo) : [];
  // A record without a message id cannot be named in a batch item failure: failing the whole invocation
  // with a clear error (SQS redelivers, then its redrive policy keeps the batch) is a correct answer.
  const unaddressable = !isBatch || records.some((r) => r.messageId === undefined);
  stats.records += records.length;
  if (!isBatch) stats.verdict('not a batch');
  for (const r of records) stats.verdict(r.broken ? 'broken record' : verdictLabel(r));
  const feature = records.find((r) => r.broken || r.feature !== verdictLabel(r))?.feature ?? 'batch';
  const derived = obs.derived.map(readDerived);

  if (!obs.settled.ok) {
    const { error } = obs.settled;
    const name = errorName(error);
    stats.outcome(`error (${name})`);
    stats.parked += obs.parked.length;
    if (error instanceof InvocationTimeout) return failures;
    const clear = error instanceof Error && error.message !== '' && !PROGRAMMING_ERRORS.has(name);
    if (!clear || !unaddressable) fail(`crash ${name} (${isBatch ? feature : 'no batch'})`, errorText(error));
    if (obs.parked.length > 0)
      fail('parked, then the whole batch failed', `${obs.parked.length} message(s) parked before ${name}`);
    stats.glueCallsForInvalid += obs.glueCalls.length;
    if (obs.glueCalls.length > 0)
      fail('Glue call for invalid input', `${obs.glueCalls.length} calls, then ${name}`);
    return failures;
  }
  if (!isBatch) {
    stats.outcome('answered an event that is no batch');
    checkBatchResponse(obs.settled.value, [], fail);
    stats.parked += obs.parked.length;
    if (obs.parked.length > 1) fail('parked more than once', `${obs.parked.length} messages for one event`);
    for (const message of obs.parked) {
      const restored = restores(message, { json: event });
      if (restored.ok) stats.restorable += 1;
      else fail('parked body not restorable', restored.why);
    }
    stats.glueCallsForInvalid += obs.glueCalls.length;
    if (obs.glueCalls.length > 0) fail('Glue call for invalid input', 'an event that is no SQS batch');
    return failures;
  }
  const failed = checkBatchResponse(obs.settled.value, records, fail);
  for (const _ of failed) stats.outcome('retry (batch item failure)');
  for (const o of obs.outcomes) stats.outcome(o.reason ? `${o.outcome} (${o.reason})` : o.outcome);

  const outcomesById = new Map<string, OutcomeSeen[]>();
  const orphanOutcomes: OutcomeSeen[] = [];
  for (const o of obs.outcomes) {
    if (o.messageId === undefined) orphanOutcomes.push(o);
    else outcomesById.set(o.messageId, [...(outcomesById.get(o.messageId) ?? []), o]);
  }
  const parkedById = new Map<string, ParkedMessage[]>();
  const orphanParked: ParkedMessage[] = [];
  for (const p of obs.parked) {
    const id = p.attributes[PARKED_MESSAGE_ID];
    if (id === undefined) orphanParked.push(p);
    else parkedById.set(id, [...(parkedById.get(id) ?? []), p]);
  }
  stats.parked += obs.parked.length;

  // Records that share an idempotency key race each other: one of them may be retried as a duplicate.
  const keys = records.flatMap((r) =>
    r.verdict?.kind === 'valid'
      ? [r.verdict.key ?? (r.messageId !== undefined ? `message:${r.messageId}` : '')]
      : [],
  );
  const sharedKey = (r: RecordInfo) => {
    const key = r.verdict?.kind === 'valid' ? r.verdict.key : undefined;
    return key !== undefined && keys.filter((k) => k === key).length > 1;
  };

  const restoreCheck = (message: ParkedMessage, originals: readonly Original[]) => {
    const results = originals.map((o) => restores(message, o));
    if (results.some((r) => r.ok)) stats.restorable += 1;
    else fail('parked body not restorable', results[0]?.why ?? 'nothing to restore');
  };

  // What the valid records that expanded (not replays) say they sent to the queue.
  const expandedQueued: (number | undefined)[] = [];
  for (const r of records) {
    if (r.messageId === undefined) continue; // broken records without an id: below
    const all = outcomesById.get(r.messageId) ?? [];
    outcomesById.delete(r.messageId);
    // A stop task reports every view it settles as an outcome of its own, beside the task's outcome.
    const task = r.verdict?.kind === 'valid' ? r.verdict.task : undefined;
    const outs = task ? all.filter((o) => o.target === undefined) : all;
    if (task)
      checkTaskViews(
        task,
        outs[0],
        all.filter((o) => o.target !== undefined),
        derived,
        obs.ledger,
        fail,
      );
    const parks = parkedById.get(r.messageId) ?? [];
    parkedById.delete(r.messageId);
    const retried = failed.has(r.messageId);
    const out = outs[0];
    const tag = `${r.feature}`;
    if (outs.length > 1) fail('outcome reported twice', `${outs.length} outcomes for one record`);
    if (parks.length > 1) fail('parked more than once', `${parks.length} messages for one record`);
    const originals = originalsOf(r);
    for (const p of parks) restoreCheck(p, originals);
    if (r.broken) {
      if (parks.length === 0 && !retried && !out)
        fail(`broken record dropped (${tag})`, 'neither parked nor retried');
      if (retried && parks.length > 0) fail('record parked and retried', tag);
      continue;
    }
    const verdict = r.verdict;
    if (!verdict) continue;
    if (retried) {
      if (parks.length > 0) fail('record parked and retried', tag);
      if (verdict.kind !== 'valid')
        fail(`${verdict.kind} record not parked (${tag})`, 'answered as a batch item failure');
      else if (!input.plan.glueFault && !sharedKey(r))
        fail(`unexpected retry (${tag})`, 'answered as a batch item failure');
      continue;
    }
    if (verdict.kind === 'ignored') {
      stats.outcome('alarm ignored');
      if (out) fail('alarm that calls for nothing was acted on', `${out.outcome} (${out.reason ?? ''})`);
      if (parks.length > 0) fail('parked without a refusal', tag);
      continue;
    }
    if (!out) {
      // A stop task handed on unstarted publishes no outcome: the same task is back on the stop queue.
      if (task && derived.some((d) => d.task !== undefined && sameTask(d.task, task))) {
        stats.outcome('stop task handed on (not published)');
        continue;
      }
      // Outcome events EventBridge refused are reported once, by the common checks.
      if (obs.putEventsRefused === 0) fail(`record dropped (${tag})`, 'no outcome, not retried');
      continue;
    }
    const said = `${out.outcome}${out.reason ? ` (${out.reason})` : ''}`;
    if (verdict.kind === 'invalid' && !(out.outcome === 'rejected' && out.reason === 'invalid-request'))
      fail('invalid input not rejected', said);
    // A refusal names the field at fault; a task's refusal names a field of the task.
    if (verdict.kind === 'invalid' && verdict.field !== undefined && out.outcome === 'rejected') {
      if (!(out.detail ?? '').includes(verdict.field))
        fail(
          `invalid ${r.taskShaped ? 'task' : 'input'} refused without naming its field`,
          `expected ${visible(verdict.field, 200)}; detail: ${visible(out.detail ?? '(none)', 300)}`,
        );
      const parkedDetail = parks[0]?.attributes[PARKED_DETAIL];
      if (parkedDetail !== undefined && !parkedDetail.includes(toSqsText(verdict.field)))
        fail(
          `parked ${r.taskShaped ? 'task' : 'input'} does not name its field`,
          `expected ${visible(verdict.field, 200)}; ${PARKED_DETAIL}: ${visible(parkedDetail, 300)}`,
        );
      if (r.taskShaped && !TASK_FIELD_PATH.test(verdict.field))
        fail('task read as another kind of message', `first violation at ${visible(verdict.field, 200)}`);
    }
    if (verdict.kind === 'valid' && out.outcome === 'expanded' && out.replayed === false)
      expandedQueued.push(out.queued);
    if (r.taskShaped && verdict.kind === 'valid' && verdict.task === undefined)
      fail('task read as another kind of message', 'accepted as a stop request');
    if (verdict.kind === 'not-allowed' && !(out.outcome === 'not-allowed' && out.reason === verdict.reason))
      fail('input outside the allow-list not refused', `${said}, expected not-allowed (${verdict.reason})`);
    if (verdict.kind === 'valid' && out.reason === 'invalid-request')
      fail('valid input rejected as invalid', said);
    if (isRefusal(out.outcome) && parks.length === 0) fail(`refused input not parked (${tag})`, said);
    if (!isRefusal(out.outcome) && parks.length > 0) fail('parked without a refusal', said);
  }

  // Records without a usable id: parked (matched by content), or processed (an outcome without id).
  for (const r of records.filter((x) => x.messageId === undefined)) {
    const originals = originalsOf(r);
    const at = orphanParked.findIndex((p) => originals.some((o) => restores(p, o).ok));
    if (at >= 0) {
      stats.restorable += 1;
      orphanParked.splice(at, 1);
      const dup = orphanParked.findIndex((p) => originals.some((o) => restores(p, o).ok));
      if (dup >= 0) fail('parked more than once', r.feature);
      continue;
    }
    const processed = orphanOutcomes.findIndex((o) => !isRefusal(o.outcome));
    if (processed >= 0 && r.verdict?.kind === 'valid') {
      orphanOutcomes.splice(processed, 1);
      continue;
    }
    fail(`broken record dropped (${r.feature})`, 'neither parked nor processed');
  }
  for (const p of [...orphanParked, ...[...parkedById.values()].flat()])
    fail('parked without a matching record', visible(p.body, 200));

  // Glue calls: only for the catalogs and databases of valid records; Stop calls only for the views they
  // may stop; messages sent back to the queue only for what the batch's records stand for.
  const valid = records.flatMap((r) => (r.verdict?.kind === 'valid' ? [r.verdict] : []));
  const validPlaces = new Set(valid.map((v) => placeId(v.catalogId, v.database)));
  const stray = obs.glueCalls.filter(
    (c) => c.database === undefined || !validPlaces.has(placeId(c.catalogId, c.database)),
  );
  stats.glueCallsForInvalid += stray.length;
  if (stray.length > 0)
    fail(
      'Glue call for invalid input',
      stray.map((c) => `${c.operation} ${c.catalogId}:${c.database ?? ''}`).join(', '),
    );
  checkStopCalls(valid, obs, fail);
  // Alone in its batch, an expansion or a task sent exactly the messages its outcome counts.
  const [queued] = expandedQueued;
  if (valid.length === 1 && expandedQueued.length === 1 && queued !== obs.derived.length)
    fail(
      'expanded outcome counts other messages than were sent',
      `queued ${queued}, sent ${obs.derived.length}`,
    );
  checkDerivedFromQueue(valid, derived, fail);
  return failures;
};

/** The answer must be `{ batchItemFailures: [{ itemIdentifier }] }` naming records of the batch. */
const checkBatchResponse = (
  value: unknown,
  records: readonly RecordInfo[],
  fail: (check: string, detail: string) => void,
): Set<string> => {
  const failed = new Set<string>();
  if (!isRecord(value) || !Array.isArray(value.batchItemFailures)) {
    fail('invalid batch response', describeModel(value, 300));
    return failed;
  }
  const ids = new Set(records.flatMap((r) => (r.messageId !== undefined ? [r.messageId] : [])));
  for (const item of value.batchItemFailures) {
    const id = isRecord(item) ? item.itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') {
      const feature = records.find((r) => r.broken)?.feature ?? 'batch';
      fail(`empty itemIdentifier (${feature})`, describeModel(item, 200));
    } else if (!ids.has(id)) fail('itemIdentifier names no record of the batch', visible(id, 100));
    else failed.add(id);
  }
  return failed;
};

// ---------------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------------

export class Tally {
  inputs = 0;
  records = 0;
  parked = 0;
  restorable = 0;
  glueCalls = 0;
  glueCallsForInvalid = 0;
  glueFaults = 0;
  eventBridgeFaults = 0;
  failedInputs = 0;
  readonly outcomes = new Map<string, number>();
  readonly verdicts = new Map<string, number>();
  readonly families = new Map<string, number>();
  outcome(label: string): void {
    this.outcomes.set(label, (this.outcomes.get(label) ?? 0) + 1);
  }
  verdict(label: string): void {
    this.verdicts.set(label, (this.verdicts.get(label) ?? 0) + 1);
  }
  family(label: string): void {
    this.families.set(label, (this.families.get(label) ?? 0) + 1);
  }
}

/** Runs the checks of one observation; `stats` receives the counts. */
export const check = (handler: HandlerName, input: FuzzInput, obs: Observation, stats: Tally): Failure[] => {
  stats.inputs += 1;
  stats.family(input.family);
  stats.glueCalls += obs.glueCalls.length;
  if (input.plan.glueFault) stats.glueFaults += 1;
  if (input.plan.eventBridgeFault) stats.eventBridgeFaults += 1;
  let failures: Failure[];
  if (handler === 'stopFromQueue') {
    failures = checkQueueHandler(input, obs, stats);
  } else {
    const verdict = asyncVerdict(handler, obs.event);
    stats.verdict(verdict.kind);
    failures = checkAsyncHandler(input, obs, verdict, stats);
  }
  failures.push(...commonChecks(handler, input, obs));
  if (failures.length > 0) stats.failedInputs += 1;
  return failures;
};

// ---------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------

export interface Finding {
  readonly handler: HandlerName;
  readonly check: string;
  /** Inputs of the run that failed this check. */
  count: number;
  /** The first failing input of the run: its index (fast-check path) and what was seen. */
  readonly firstIndex: number;
  readonly firstInput: FuzzInput;
  readonly firstDetail: string;
  /** After shrinking (when it reproduced): the smallest input found, its path and what was seen. */
  shrunk?: {
    readonly input: FuzzInput;
    readonly path: string;
    readonly detail: string;
    readonly executions: number;
  };
}

export interface HandlerRun {
  readonly handler: HandlerName;
  readonly seed: number;
  readonly runs: number;
  readonly stats: Tally;
  readonly findings: readonly Finding[];
  readonly durationMs: number;
}

export interface FuzzOptions {
  readonly seed: number;
  /** Inputs for the handler. */
  readonly runs: number;
  /** Distinct findings to shrink (the others are reported unshrunk). Default 8. */
  readonly shrinkFindings?: number;
  /** Executions each shrink may spend. Default 150. */
  readonly shrinkBudget?: number;
  readonly onProgress?: (done: number, stats: Tally) => void;
}

/** Runs `runs` seeded inputs through `handler`, then shrinks each distinct failure. */
export const fuzzHandler = async (
  h: Harness,
  handler: HandlerName,
  options: FuzzOptions,
): Promise<HandlerRun> => {
  const started = Date.now();
  const arbitrary = arbitraryFor(handler);
  const stats = new Tally();
  const findings = new Map<string, Finding>();
  let index = 0;
  await fc.check(
    fc.asyncProperty(arbitrary, async (input) => {
      const at = index;
      index += 1;
      const obs = await execute(h, handler, input);
      for (const failure of check(handler, input, obs, stats)) {
        const found = findings.get(failure.check);
        if (found) found.count += 1;
        else
          findings.set(failure.check, {
            handler,
            check: failure.check,
            count: 1,
            firstIndex: at,
            firstInput: input,
            firstDetail: failure.detail,
          });
      }
      options.onProgress?.(index, stats);
      return true;
    }),
    { seed: options.seed, numRuns: options.runs },
  );

  if (h.gc) {
    h.gc();
    h.heap.peakAfterGc = Math.max(h.heap.peakAfterGc, v8.getHeapStatistics().used_heap_size);
  }
  const toShrink = [...findings.values()].slice(0, options.shrinkFindings ?? 8);
  for (const finding of toShrink) {
    let budget = options.shrinkBudget ?? 150;
    let executions = 0;
    let last: { input: FuzzInput; detail: string } | undefined;
    const result = await fc.check(
      fc.asyncProperty(arbitrary, async (input) => {
        if (budget <= 0) return true;
        budget -= 1;
        executions += 1;
        const obs = await execute(h, handler, input);
        const failure = check(handler, input, obs, new Tally()).find((f) => f.check === finding.check);
        if (failure) last = { input, detail: failure.detail };
        return failure === undefined;
      }),
      { seed: options.seed, path: String(finding.firstIndex), numRuns: options.runs },
    );
    if (result.failed && last && result.counterexamplePath !== null) {
      finding.shrunk = { ...last, path: result.counterexamplePath, executions };
    }
  }
  return {
    handler,
    seed: options.seed,
    runs: options.runs,
    stats,
    findings: [...findings.values()],
    durationMs: Date.now() - started,
  };
};

/** Replays one input by its fast-check path and returns what happened (for `run.ts --replay`). */
export const replay = async (
  h: Harness,
  handler: HandlerName,
  seed: number,
  replayPath: string,
): Promise<{ input: FuzzInput; observation: Observation; failures: Failure[] } | undefined> => {
  let seen: { input: FuzzInput; observation: Observation; failures: Failure[] } | undefined;
  await fc.check(
    fc.asyncProperty(arbitraryFor(handler), async (input) => {
      const observation = await execute(h, handler, input);
      seen = { input, observation, failures: check(handler, input, observation, new Tally()) };
      return true;
    }),
    { seed, path: replayPath, numRuns: 1, endOnFailure: true },
  );
  return seen;
};

// ---------------------------------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------------------------------

/** The input as its model (compact) and the start of the text delivered. */
export const describeInput = (input: FuzzInput, max = 1_200): string => {
  const text = renderDoc(input.doc, {
    fresh: (p) => `${p}-N`,
    now: Date.parse('2026-11-29T02:00:00Z'),
    sqsText: false,
  });
  return [
    `family: ${input.family}; plan: ${describeModel(input.plan, 300)}`,
    `model: ${describeModel(input.doc, max)}`,
    `text (${Buffer.byteLength(text, 'utf8')} bytes): ${visible(text, Math.min(max, 600))}`,
  ].join('\n');
};

export const describeFinding = (f: Finding, seed: number, replayOptions = ''): string => {
  const lines = [
    `FAIL ${f.handler}: ${f.check} — ${f.count} input(s); first at input #${f.firstIndex}`,
    `  detail: ${f.shrunk?.detail ?? f.firstDetail}`,
  ];
  if (f.shrunk) {
    lines.push(
      `  shrunk in ${f.shrunk.executions} executions; replay: npm run fuzz -- --seed ${seed} --handler ${f.handler} --replay ${f.shrunk.path}${replayOptions}`,
      ...describeInput(f.shrunk.input)
        .split('\n')
        .map((l) => `  ${l}`),
    );
  } else {
    lines.push(
      `  (not shrunk) replay: npm run fuzz -- --seed ${seed} --handler ${f.handler} --replay ${f.firstIndex}${replayOptions}`,
      ...describeInput(f.firstInput)
        .split('\n')
        .map((l) => `  ${l}`),
    );
  }
  return lines.join('\n');
};
