/**
 * Wire-level emulator for the four AWS Glue materialized-view refresh operations:
 *
 *   StartMaterializedViewRefreshTaskRun, StopMaterializedViewRefreshTaskRun,
 *   GetMaterializedViewRefreshTaskRun,   ListMaterializedViewRefreshTaskRuns
 *
 * It speaks the awsJson1_1 protocol exactly as the real endpoint does (POST /, `x-amz-target:
 * AWSGlue.<Operation>`, JSON bodies, `__type` + `x-amzn-errortype` on errors), so the real
 * `@aws-sdk/client-glue` talks to it through `endpoint` or `AWS_ENDPOINT_URL_GLUE` with no test-only
 * code path. State lives in memory; time-dependent transitions are computed lazily from timestamps,
 * so the emulator owns no background timers.
 *
 * Importing this module has no side effects; call `startGlueEmulator()`.
 */
import { randomUUID } from 'node:crypto';
import {
  type Answer,
  type AwsJsonRequest,
  errorReply as awsJsonError,
  type ErrorDef,
  type Exchange,
  PROTOCOL_ERRORS,
  type Reply,
  startAwsJsonServer,
} from './aws-json-server.ts';

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

export type RunStatus = 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'STOPPED';
export type RefreshType = 'FULL' | 'INCREMENTAL';

export type FaultKind =
  | 'throttle' // 400 ThrottlingException (the SDK retries it, ~1 s base delay by default)
  | 'internal-error' // 500 InternalServiceException (retried, ~50 ms base delay)
  | 'service-unavailable' // 503 ServiceUnavailableException (retried)
  | 'operation-timeout' // 400 OperationTimeoutException (a client fault: NOT retried by the SDK)
  | 'connection-reset' // socket reset, no HTTP answer at all
  | 'hang' // never answers; the socket is only destroyed by close()
  | 'malformed-response' // 500 with a non-JSON body
  | 'delay'; // the operation runs on arrival and answers normally, but only after `delayMs`

export interface RateLimitOptions {
  /** Sustained rate (token refill per second). */
  requestsPerSecond: number;
  /** Bucket size, i.e. how many requests may arrive at once. Default: `requestsPerSecond`. */
  burst?: number;
  /** `'global'` (default): one bucket shared by all operations. `'operation'`: one bucket per operation. */
  scope?: 'global' | 'operation';
}

export interface DenyRequest {
  operation: string;
  catalogId: string;
  databaseName?: string;
  tableName?: string;
  runId?: string;
}

export interface GlueEmulatorOptions {
  /** Account of the caller; the default CatalogId and every run's CustomerId. Default `'123456789012'`. */
  accountId?: string;
  /** Region used in ARNs inside messages. Default `'us-east-1'`. */
  region?: string;
  /** Delay added before every answer (the operation itself takes effect on arrival). Default 0. */
  latencyMs?: number;
  /** How long a stopped run stays "being stopped" (status still RUNNING/STARTING) before it is STOPPED.
   *  Default 0: STOPPED at once. */
  stoppingDurationMs?: number;
  /** How long a run created by Start stays STARTING before it reports RUNNING. Default 0. */
  startingDurationMs?: number;
  /** Start on an unregistered table registers it instead of failing with EntityNotFound. Default true. */
  autoCreateTables?: boolean;
  /** Token bucket; requests above it get ThrottlingException (HTTP 400). Default: unlimited. */
  rateLimit?: RateLimitOptions;
  /** Return true to answer AccessDeniedException (checked after input validation). */
  deny?: (req: DenyRequest) => boolean;
  /** Asked for every call that no injected fault matched; see `seededFaults()`. Default: none. */
  faultHook?: FaultHook;
  /** Clock in epoch milliseconds for run timestamps, lazy transitions and the rate limiter.
   *  Default `Date.now`. */
  now?: () => number;
  /** Default `'127.0.0.1'`. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
}

export interface TableRef {
  catalogId?: string;
  databaseName: string;
  tableName: string;
}

export interface SeedRunInput extends TableRef {
  /** Default `'RUNNING'`. */
  status?: RunStatus;
  /** Mark an active (STARTING/RUNNING) run as already being stopped. */
  stopping?: boolean;
  /** With `stopping`: how long it keeps being stopped before turning STOPPED. Default: until `finishRun`. */
  stoppingForMs?: number;
  /** CreationTime and StartTime. Default: now. */
  startTime?: Date;
  /** Must be a UUID (the only shape Get accepts). Default: a random UUID. */
  runId?: string;
  /** Default `'INCREMENTAL'`. */
  refreshType?: RefreshType;
  errorMessage?: string;
}

export interface RunSnapshot {
  runId: string;
  catalogId: string;
  databaseName: string;
  tableName: string;
  /** The status the API reports right now. */
  status: RunStatus;
  /** A stop was accepted and the run has not reached STOPPED yet (there is no STOPPING status value). */
  stopping: boolean;
  refreshType: RefreshType;
  creationTime: Date;
  startTime: Date;
  lastUpdated: Date;
  endTime?: Date;
  stopRequestedAt?: Date;
  errorMessage?: string;
}

export interface CallRecord {
  operation: string;
  input: Record<string, unknown>;
  /** Arrival time, epoch ms (emulator clock). */
  at: number;
  /** HTTP status answered; 0 while unanswered, or when no HTTP answer was sent (connection-reset, hang). */
  status: number;
  errorCode?: string;
  /** The injected fault that answered this call, if any. */
  fault?: FaultKind;
  /** SDK attempt number from the `amz-sdk-request: attempt=N; max=M` header, when present. */
  attempt?: number;
  /** The run the operation acted on: the run a Start created, or the run a Stop was accepted for
   *  (also when a fault replaced the answer, `afterOperation` or `delay`). */
  runId?: string;
}

export interface FaultSpec {
  /** Only requests for this operation (e.g. `'StopMaterializedViewRefreshTaskRun'`). Default: any. */
  operation?: string;
  kind: FaultKind;
  /** How many matching requests it hits. Default 1; `Infinity` for every one. */
  times?: number;
  /** Extra predicate on the parsed request body. */
  match?: (input: Record<string, unknown>) => boolean;
  /** Run the operation first (state changes happen), then answer with the fault instead of the result:
   *  "the call succeeded but the caller never learned it". Default false: the operation never runs. */
  afterOperation?: boolean;
  /** `kind: 'delay'` only (required there): how long the answer is held back, in ms. */
  delayMs?: number;
}

/** What a fault hook decides for one call. */
export interface FaultDecision {
  kind: FaultKind;
  /** As in `FaultSpec`. Default false. */
  afterOperation?: boolean;
  /** `kind: 'delay'` only (required there). */
  delayMs?: number;
}

/** A call as a fault hook sees it. */
export interface FaultHookCall {
  operation: string;
  /** The parsed request body. */
  input: Record<string, unknown>;
  /** Position of the call in `calls` (0-based). */
  index: number;
}

/** Decides a fault per call (or none): the probabilistic counterpart of `injectFault`. */
export type FaultHook = (call: FaultHookCall) => FaultDecision | undefined;

export interface GlueEmulator {
  /** e.g. `http://127.0.0.1:43123`; use as `endpoint` or `AWS_ENDPOINT_URL_GLUE`. */
  readonly url: string;
  readonly accountId: string;
  /** Registers a table. `plain: true` makes it an ordinary table, not a materialized view: Start and
   *  Stop on it answer InvalidInputException. */
  addTable(t: TableRef & { plain?: boolean }): void;
  /** Registers the table too; returns the run id. */
  seedRun(r: SeedRunInput): string;
  /** Ends an active run as if Glue finished it on its own. */
  finishRun(runId: string, status: 'SUCCEEDED' | 'FAILED' | 'STOPPED', errorMessage?: string): void;
  getRun(runId: string): RunSnapshot | undefined;
  /** Runs of one table, oldest first / newest last. */
  runsOf(t: TableRef): readonly RunSnapshot[];
  injectFault(f: FaultSpec): void;
  clearFaults(): void;
  /** Replaces the fault hook (`undefined` removes it); `reset()` restores the one from the options. */
  setFaultHook(hook: FaultHook | undefined): void;
  setLatency(ms: number): void;
  /** Every request received, in arrival order (faults and rejected requests included). */
  readonly calls: readonly Readonly<CallRecord>[];
  callCount(operation?: string): number;
  /** Clears tables, runs, faults, calls and rate-limit buckets; latency returns to `latencyMs`. */
  reset(): void;
  /** Stops listening and destroys every open socket (hung ones included). Idempotent. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Wire constants
// ---------------------------------------------------------------------------------------------------

const TARGET_PREFIX = 'AWSGlue.';

const OP_START = 'StartMaterializedViewRefreshTaskRun';
const OP_STOP = 'StopMaterializedViewRefreshTaskRun';
const OP_GET = 'GetMaterializedViewRefreshTaskRun';
const OP_LIST = 'ListMaterializedViewRefreshTaskRuns';
const OPERATIONS = new Set([OP_START, OP_STOP, OP_GET, OP_LIST]);

/** List page size when MaxResults is omitted (AWS does not document its default; 100 is our choice). */
export const DEFAULT_LIST_MAX_RESULTS = 100;
const MAX_LIST_MAX_RESULTS = 1000;

/**
 * The Glue model's NameString-like pattern `[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*`
 * is a Java regex over UTF-16: BMP characters except controls and surrogates, any *paired* surrogate
 * (a supplementary code point) and tab. With the `u` flag a lone surrogate is one code point in
 * U+D800..U+DFFF and therefore fails, as it does at AWS.
 */
const NAME_PATTERN = /^[\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}\t]*$/u;
const NAME_MAX_LENGTH = 255;
/** Pattern of MaterializedViewRefreshTaskRunId in the API reference. */
const RUN_ID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

// HTTP status per error code as the real service answers it: every modelled Glue exception is a client
// fault (400) except InternalServiceException (500).
const E = {
  accessDenied: { status: 400, code: 'AccessDeniedException' },
  invalidInput: { status: 400, code: 'InvalidInputException' },
  entityNotFound: { status: 400, code: 'EntityNotFoundException' },
  notRunning: { status: 400, code: 'MaterializedViewRefreshTaskNotRunningException' },
  stopping: { status: 400, code: 'MaterializedViewRefreshTaskStoppingException' },
  running: { status: 400, code: 'MaterializedViewRefreshTaskRunningException' },
  operationTimeout: { status: 400, code: 'OperationTimeoutException' },
  throttling: { status: 400, code: 'ThrottlingException' },
  internal: { status: 500, code: 'InternalServiceException' },
  unavailable: { status: 503, code: 'ServiceUnavailableException' },
  ...PROTOCOL_ERRORS,
} as const satisfies Record<string, ErrorDef>;

class ApiError extends Error {
  readonly def: ErrorDef;
  constructor(def: ErrorDef, message: string) {
    super(message);
    this.def = def;
  }
}

// ---------------------------------------------------------------------------------------------------
// Internal state
// ---------------------------------------------------------------------------------------------------

interface RunRecord {
  seq: number;
  id: string;
  catalogId: string;
  databaseName: string;
  tableName: string;
  status: RunStatus;
  refreshType: RefreshType;
  creationTime: number;
  startTime: number;
  lastUpdated: number;
  endTime?: number;
  errorMessage?: string;
  /** STARTING turns RUNNING at this time (lazy). */
  runningAt?: number | undefined;
  /** A stop was accepted at this time... */
  stopRequestedAt?: number;
  /** ...and the run turns STOPPED at this time (lazy; Infinity = until finishRun). */
  stopAt?: number | undefined;
}

interface FaultEntry {
  operation?: string;
  kind: FaultKind;
  remaining: number;
  match?: (input: Record<string, unknown>) => boolean;
  afterOperation: boolean;
  delayMs?: number;
}

const checkDelay = (where: string, f: { kind: FaultKind; delayMs?: number | undefined }): void => {
  if (f.kind !== 'delay') return;
  if (f.delayMs === undefined || !Number.isFinite(f.delayMs) || f.delayMs < 0) {
    throw new Error(`${where}: a 'delay' fault needs delayMs >= 0`);
  }
};

interface Bucket {
  tokens: number;
  updatedAt: number;
}

const isActive = (s: RunStatus): boolean => s === 'STARTING' || s === 'RUNNING';
const tableKey = (catalogId: string, db: string, table: string): string =>
  `${catalogId}\u0000${db}\u0000${table}`;

// ---------------------------------------------------------------------------------------------------
// Emulator
// ---------------------------------------------------------------------------------------------------

export async function startGlueEmulator(options: GlueEmulatorOptions = {}): Promise<GlueEmulator> {
  const accountId = options.accountId ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const stoppingDurationMs = options.stoppingDurationMs ?? 0;
  const startingDurationMs = options.startingDurationMs ?? 0;
  const autoCreateTables = options.autoCreateTables ?? true;
  const now = options.now ?? Date.now;

  let latencyMs = options.latencyMs ?? 0;
  // Tokens embed this so that a NextToken issued before reset() is rejected afterwards.
  let epoch = randomUUID();
  let nextSeq = 1;
  const tables = new Set<string>();
  /** Registered tables that are not materialized views. */
  const plainTables = new Set<string>();
  const runs = new Map<string, RunRecord>();
  const runsByTable = new Map<string, RunRecord[]>();
  const faults: FaultEntry[] = [];
  const calls: CallRecord[] = [];
  const buckets = new Map<string, Bucket>();
  let faultHook = options.faultHook;
  /** Set by Start and Stop when they act on a run; read right after the operation ran. */
  let actedOn: string | undefined;

  // ---- state helpers --------------------------------------------------------------------------------

  /** Applies the transitions that are due by `at` (lazy clock: no timers). */
  function settle(run: RunRecord, at: number): RunRecord {
    if (!isActive(run.status)) return run;
    if (run.stopAt !== undefined && at >= run.stopAt) {
      run.status = 'STOPPED';
      run.endTime = run.stopAt;
      run.lastUpdated = run.stopAt;
      run.stopAt = undefined;
    } else if (run.status === 'STARTING' && run.runningAt !== undefined && at >= run.runningAt) {
      run.status = 'RUNNING';
      run.lastUpdated = run.runningAt;
      run.runningAt = undefined;
    }
    return run;
  }

  const isBeingStopped = (run: RunRecord): boolean =>
    isActive(run.status) && run.stopRequestedAt !== undefined;

  function registerTable(catalogId: string, db: string, table: string): string {
    const key = tableKey(catalogId, db, table);
    tables.add(key);
    if (!runsByTable.has(key)) runsByTable.set(key, []);
    return key;
  }

  function activeRunOf(key: string, at: number): RunRecord | undefined {
    const list = runsByTable.get(key) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const run = list[i];
      if (run && isActive(settle(run, at).status)) return run;
    }
    return undefined;
  }

  function insertRun(run: RunRecord): void {
    runs.set(run.id, run);
    const key = registerTable(run.catalogId, run.databaseName, run.tableName);
    runsByTable.get(key)?.push(run);
  }

  function snapshot(run: RunRecord): RunSnapshot {
    settle(run, now());
    const s: RunSnapshot = {
      runId: run.id,
      catalogId: run.catalogId,
      databaseName: run.databaseName,
      tableName: run.tableName,
      status: run.status,
      stopping: isBeingStopped(run),
      refreshType: run.refreshType,
      creationTime: new Date(run.creationTime),
      startTime: new Date(run.startTime),
      lastUpdated: new Date(run.lastUpdated),
    };
    if (run.endTime !== undefined) s.endTime = new Date(run.endTime);
    if (run.stopRequestedAt !== undefined) s.stopRequestedAt = new Date(run.stopRequestedAt);
    if (run.errorMessage !== undefined) s.errorMessage = run.errorMessage;
    return s;
  }

  /** The wire shape of MaterializedViewRefreshTaskRun. awsJson1_1 timestamps are epoch seconds. */
  function toWire(run: RunRecord, at: number): Record<string, unknown> {
    settle(run, at);
    const seconds = (ms: number): number => ms / 1000;
    const until = run.endTime ?? at;
    const wire: Record<string, unknown> = {
      MaterializedViewRefreshTaskRunId: run.id,
      CustomerId: accountId,
      CatalogId: run.catalogId,
      DatabaseName: run.databaseName,
      TableName: run.tableName,
      Role: `arn:aws:iam::${accountId}:role/GlueMaterializedViewRefreshRole`,
      Status: run.status,
      CreationTime: seconds(run.creationTime),
      StartTime: seconds(run.startTime),
      LastUpdated: seconds(run.lastUpdated),
      RefreshType: run.refreshType,
      // Plausible, deterministic usage figures: 2 DPU for the run's elapsed time.
      DPUSeconds: Math.max(0, Math.round((until - run.startTime) / 500)),
      ProcessedBytes: 0,
    };
    if (run.endTime !== undefined) wire.EndTime = seconds(run.endTime);
    if (run.errorMessage !== undefined) wire.ErrorMessage = run.errorMessage;
    return wire;
  }

  // ---- input validation (mirrors the model's constraints and AWS's message style) ------------------

  function checkName(errors: string[], input: Record<string, unknown>, field: string, required: boolean) {
    const value = input[field];
    if (value === undefined || value === null) {
      if (required)
        errors.push(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
      return;
    }
    if (typeof value !== 'string') {
      errors.push(`Value at '${field}' failed to satisfy constraint: Member must be a string`);
      return;
    }
    // Smithy length constraints count Unicode code points, not UTF-16 units.
    const length = [...value].length;
    if (length < 1) {
      errors.push(
        `Value at '${field}' failed to satisfy constraint: Member must have length greater than or equal to 1`,
      );
    } else if (length > NAME_MAX_LENGTH) {
      errors.push(
        `Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${NAME_MAX_LENGTH}`,
      );
    }
    if (!NAME_PATTERN.test(value)) {
      errors.push(
        `Value at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ` +
          '[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*',
      );
    }
  }

  function throwIfInvalid(errors: string[]): void {
    if (errors.length === 0) return;
    const n = errors.length;
    throw new ApiError(
      E.invalidInput,
      `${n} validation error${n === 1 ? '' : 's'} detected: ${errors.join('; ')}`,
    );
  }

  const str = (input: Record<string, unknown>, field: string): string | undefined => {
    const v = input[field];
    return typeof v === 'string' ? v : undefined;
  };

  function checkDeny(req: DenyRequest): void {
    if (!options.deny?.(req)) return;
    const resource =
      req.databaseName !== undefined && req.tableName !== undefined
        ? `arn:aws:glue:${region}:${req.catalogId}:table/${req.databaseName}/${req.tableName}`
        : `arn:aws:glue:${region}:${req.catalogId}:catalog`;
    throw new ApiError(
      E.accessDenied,
      `User: arn:aws:sts::${accountId}:assumed-role/emulator/caller is not authorized to perform: ` +
        `glue:${req.operation} on resource: ${resource}`,
    );
  }

  /** Shared front half of Start/Stop: validate, authorize, resolve the table. */
  function tableRequest(operation: string, input: Record<string, unknown>) {
    const errors: string[] = [];
    // CatalogId is marked required in the model, but the docs say the account id is used when it is
    // not supplied; the SDK does not enforce required members, so an omitted CatalogId reaches us.
    checkName(errors, input, 'CatalogId', false);
    checkName(errors, input, 'DatabaseName', true);
    checkName(errors, input, 'TableName', true);
    throwIfInvalid(errors);
    const catalogId = str(input, 'CatalogId') ?? accountId;
    const databaseName = str(input, 'DatabaseName') ?? '';
    const tableName = str(input, 'TableName') ?? '';
    checkDeny({ operation, catalogId, databaseName, tableName });
    return { catalogId, databaseName, tableName, key: tableKey(catalogId, databaseName, tableName) };
  }

  const tableNotFound = (db: string, table: string) =>
    new ApiError(E.entityNotFound, `Table ${table} not found in database ${db}.`);

  const notMaterializedView = (db: string, table: string) =>
    new ApiError(E.invalidInput, `Table ${db}.${table} is not a materialized view.`);

  // ---- operations -----------------------------------------------------------------------------------

  function opStart(input: Record<string, unknown>, at: number): unknown {
    const fullRefresh = input.FullRefresh;
    if (fullRefresh !== undefined && fullRefresh !== null && typeof fullRefresh !== 'boolean') {
      throw new ApiError(
        E.invalidInput,
        "1 validation error detected: Value at 'FullRefresh' must be a boolean",
      );
    }
    const t = tableRequest(OP_START, input);
    if (!tables.has(t.key)) {
      if (!autoCreateTables) throw tableNotFound(t.databaseName, t.tableName);
      registerTable(t.catalogId, t.databaseName, t.tableName);
    }
    if (plainTables.has(t.key)) throw notMaterializedView(t.databaseName, t.tableName);
    const active = activeRunOf(t.key, at);
    if (active) {
      throw new ApiError(
        E.running,
        `A materialized view refresh task run ${active.id} is already running for table ${t.databaseName}.${t.tableName}.`,
      );
    }
    const run: RunRecord = {
      seq: nextSeq++,
      id: randomUUID(),
      catalogId: t.catalogId,
      databaseName: t.databaseName,
      tableName: t.tableName,
      status: 'STARTING',
      refreshType: fullRefresh === true ? 'FULL' : 'INCREMENTAL',
      creationTime: at,
      startTime: at,
      lastUpdated: at,
      runningAt: at + startingDurationMs,
    };
    insertRun(run);
    settle(run, at);
    actedOn = run.id;
    return { MaterializedViewRefreshTaskRunId: run.id };
  }

  function opStop(input: Record<string, unknown>, at: number): unknown {
    const t = tableRequest(OP_STOP, input);
    if (!tables.has(t.key)) throw tableNotFound(t.databaseName, t.tableName);
    if (plainTables.has(t.key)) throw notMaterializedView(t.databaseName, t.tableName);
    const run = activeRunOf(t.key, at);
    if (!run) {
      throw new ApiError(
        E.notRunning,
        `No materialized view refresh task run is running for table ${t.databaseName}.${t.tableName}.`,
      );
    }
    // Glue has no STOPPING status; a second stop while the first is still in progress is refused with
    // a dedicated exception, the same way StopCrawler / StopColumnStatisticsTaskRun behave.
    if (isBeingStopped(run)) {
      throw new ApiError(
        E.stopping,
        `Materialized view refresh task run ${run.id} for table ${t.databaseName}.${t.tableName} is already stopping.`,
      );
    }
    run.stopRequestedAt = at;
    run.stopAt = at + stoppingDurationMs;
    run.lastUpdated = at;
    settle(run, at);
    actedOn = run.id;
    return {};
  }

  function opGet(input: Record<string, unknown>, at: number): unknown {
    const errors: string[] = [];
    checkName(errors, input, 'CatalogId', false);
    const runId = input.MaterializedViewRefreshTaskRunId;
    if (runId === undefined || runId === null) {
      errors.push(
        "Value null at 'MaterializedViewRefreshTaskRunId' failed to satisfy constraint: Member must not be null",
      );
    } else if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId)) {
      errors.push(
        "Value at 'MaterializedViewRefreshTaskRunId' failed to satisfy constraint: Member must satisfy " +
          'regular expression pattern: [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}',
      );
    }
    throwIfInvalid(errors);
    const catalogId = str(input, 'CatalogId') ?? accountId;
    const id = str(input, 'MaterializedViewRefreshTaskRunId') ?? '';
    checkDeny({ operation: OP_GET, catalogId, runId: id });
    const run = runs.get(id);
    if (!run || run.catalogId !== catalogId) {
      throw new ApiError(E.entityNotFound, `Materialized view refresh task run ${id} not found.`);
    }
    return { MaterializedViewRefreshTaskRun: toWire(run, at) };
  }

  interface PageToken {
    e: string; // emulator epoch
    b: number; // return runs with seq < b
    c: string; // the query the token belongs to
    d: string | null;
    t: string | null;
  }

  function encodeToken(token: PageToken): string {
    return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
  }

  function decodeToken(raw: unknown, catalogId: string, db: string | null, table: string | null): number {
    const invalid = new ApiError(E.invalidInput, 'Invalid pagination token.');
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > 4096) throw invalid;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    } catch {
      throw invalid;
    }
    if (typeof parsed !== 'object' || parsed === null) throw invalid;
    const tok = parsed as Partial<PageToken>;
    // A token is only valid for the query (and emulator state) that produced it, as at AWS.
    if (tok.e !== epoch || typeof tok.b !== 'number' || !Number.isInteger(tok.b)) throw invalid;
    if (tok.c !== catalogId || tok.d !== db || tok.t !== table) throw invalid;
    return tok.b;
  }

  function opList(input: Record<string, unknown>, at: number): unknown {
    const errors: string[] = [];
    checkName(errors, input, 'CatalogId', false);
    checkName(errors, input, 'DatabaseName', false);
    checkName(errors, input, 'TableName', false);
    const max = input.MaxResults;
    if (max !== undefined && max !== null) {
      if (typeof max !== 'number' || !Number.isInteger(max)) {
        errors.push("Value at 'MaxResults' failed to satisfy constraint: Member must be an integer");
      } else if (max < 1) {
        errors.push(
          `Value '${max}' at 'MaxResults' failed to satisfy constraint: Member must have value greater than or equal to 1`,
        );
      } else if (max > MAX_LIST_MAX_RESULTS) {
        errors.push(
          `Value '${max}' at 'MaxResults' failed to satisfy constraint: Member must have value less than or equal to ${MAX_LIST_MAX_RESULTS}`,
        );
      }
    }
    throwIfInvalid(errors);
    const catalogId = str(input, 'CatalogId') ?? accountId;
    const db = str(input, 'DatabaseName') ?? null;
    const table = str(input, 'TableName') ?? null;
    const deny: DenyRequest = { operation: OP_LIST, catalogId };
    if (db !== null) deny.databaseName = db;
    if (table !== null) deny.tableName = table;
    checkDeny(deny);

    const pageSize = typeof max === 'number' ? max : DEFAULT_LIST_MAX_RESULTS;
    const before =
      input.NextToken === undefined || input.NextToken === null
        ? Number.POSITIVE_INFINITY
        : decodeToken(input.NextToken, catalogId, db, table);

    // Newest first. Paging by sequence number (not offset) keeps pages stable while runs are added.
    const matching = [...runs.values()]
      .filter(
        (r) =>
          r.catalogId === catalogId &&
          (db === null || r.databaseName === db) &&
          (table === null || r.tableName === table) &&
          r.seq < before,
      )
      .sort((a, b) => b.seq - a.seq);
    const page = matching.slice(0, pageSize);
    const out: Record<string, unknown> = { MaterializedViewRefreshTaskRuns: page.map((r) => toWire(r, at)) };
    const last = page[page.length - 1];
    if (matching.length > pageSize && last) {
      out.NextToken = encodeToken({ e: epoch, b: last.seq, c: catalogId, d: db, t: table });
    }
    return out;
  }

  const handlers: Record<string, (input: Record<string, unknown>, at: number) => unknown> = {
    [OP_START]: opStart,
    [OP_STOP]: opStop,
    [OP_GET]: opGet,
    [OP_LIST]: opList,
  };

  // ---- rate limiting (token bucket, refilled lazily) ------------------------------------------------

  function takeToken(operation: string, at: number): boolean {
    const limit = options.rateLimit;
    if (!limit) return true;
    const capacity = limit.burst ?? limit.requestsPerSecond;
    const key = limit.scope === 'operation' ? operation : '*';
    const bucket = buckets.get(key) ?? { tokens: capacity, updatedAt: at };
    bucket.tokens = Math.min(
      capacity,
      bucket.tokens + ((at - bucket.updatedAt) / 1000) * limit.requestsPerSecond,
    );
    bucket.updatedAt = at;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  function takeFault(operation: string, input: Record<string, unknown>): FaultEntry | undefined {
    const index = faults.findIndex(
      (f) => (f.operation === undefined || f.operation === operation) && (f.match?.(input) ?? true),
    );
    const fault = faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(index, 1);
    return fault;
  }

  // ---- HTTP -----------------------------------------------------------------------------------------

  function errorReply(def: ErrorDef, message: string): Reply {
    // Glue models the text as `Message`; generic awsJson clients read `message`. Both are sent. The JS
    // SDK takes `message ?? Message` for `err.message` and deletes `err.Message`.
    return awsJsonError(def, message, { Message: message });
  }

  function faultReply(kind: Exclude<FaultKind, 'delay'>): Answer {
    switch (kind) {
      case 'throttle':
        return errorReply(E.throttling, 'Rate exceeded');
      case 'internal-error':
        return errorReply(E.internal, 'An internal service error occurred.');
      case 'service-unavailable':
        return errorReply(E.unavailable, 'Service is temporarily unavailable. Please try again later.');
      case 'operation-timeout':
        return errorReply(E.operationTimeout, 'The operation timed out.');
      case 'connection-reset':
      case 'hang':
      case 'malformed-response':
        return kind;
    }
  }

  function execute(operation: string, input: Record<string, unknown>, at: number): Reply {
    const handler = handlers[operation];
    if (!handler) return errorReply(E.unknownOperation, `Unknown operation ${operation}.`);
    try {
      actedOn = undefined;
      return { status: 200, body: handler(input, at) };
    } catch (err) {
      if (err instanceof ApiError) return errorReply(err.def, err.message);
      return errorReply(E.internal, err instanceof Error ? err.message : String(err));
    }
  }

  function handle(request: AwsJsonRequest): Exchange {
    const at = now();
    const { target, operation } = request;
    const input = request.input ?? {};
    const record: CallRecord = { operation, input, at, status: 0 };
    const attempt = /attempt=(\d+)/.exec(String(request.headers['amz-sdk-request'] ?? ''))?.[1];
    if (attempt !== undefined) record.attempt = Number(attempt);
    calls.push(record);
    const respond = (answer: Answer, delayMs?: number): Exchange => ({
      answer,
      ...(delayMs !== undefined ? { delayMs } : {}),
      answered(status, errorCode) {
        record.status = status;
        if (errorCode !== undefined) record.errorCode = errorCode;
      },
    });

    if (request.method !== 'POST' || !target.startsWith(TARGET_PREFIX) || !OPERATIONS.has(operation)) {
      return respond(errorReply(E.unknownOperation, `Unknown operation ${JSON.stringify(target)}.`));
    }
    if (request.bodyError !== undefined) return respond(errorReply(E.serialization, request.bodyError));
    const fault = takeFault(operation, input) ?? hookFault(operation, input, calls.length - 1);
    if (fault) record.fault = fault.kind;
    if (fault && fault.kind !== 'delay' && !fault.afterOperation) return respond(faultReply(fault.kind));
    let reply: Reply = errorReply(E.throttling, 'Rate exceeded');
    if (takeToken(operation, at)) {
      reply = execute(operation, input, at);
      if (actedOn !== undefined && reply.status === 200) record.runId = actedOn;
      actedOn = undefined;
    }
    if (!fault) return respond(reply);
    // delay: the operation has taken effect and its answer is only late.
    if (fault.kind === 'delay') return respond(reply, fault.delayMs ?? 0);
    // afterOperation: the operation has taken effect, but the caller gets the fault instead of its result.
    return respond(faultReply(fault.kind));
  }

  function hookFault(
    operation: string,
    input: Record<string, unknown>,
    index: number,
  ): FaultDecision | undefined {
    const decision = faultHook?.({ operation, input, index });
    if (decision) checkDelay('faultHook', decision);
    return decision;
  }

  const server = await startAwsJsonServer(
    { targetPrefix: TARGET_PREFIX, internalErrorCode: E.internal.code, handle, latencyMs: () => latencyMs },
    options,
  );

  // ---- public API -----------------------------------------------------------------------------------

  function resolveTable(t: TableRef): { catalogId: string; key: string } {
    const catalogId = t.catalogId ?? accountId;
    return { catalogId, key: tableKey(catalogId, t.databaseName, t.tableName) };
  }

  return {
    url: server.url,
    accountId,

    addTable(t) {
      const key = registerTable(t.catalogId ?? accountId, t.databaseName, t.tableName);
      if (t.plain) plainTables.add(key);
    },

    seedRun(r) {
      const at = now();
      const { catalogId, key } = resolveTable(r);
      const status = r.status ?? 'RUNNING';
      const id = r.runId ?? randomUUID();
      if (!RUN_ID_PATTERN.test(id)) {
        throw new Error(`seedRun: runId must be a UUID, got ${JSON.stringify(id)}`);
      }
      if (runs.has(id)) throw new Error(`seedRun: run ${id} already exists`);
      if (r.stopping && !isActive(status)) {
        throw new Error('seedRun: only a STARTING/RUNNING run can be stopping');
      }
      if (isActive(status) && activeRunOf(key, at)) {
        throw new Error(`seedRun: ${r.databaseName}.${r.tableName} already has an active run`);
      }
      const started = r.startTime?.getTime() ?? at;
      const run: RunRecord = {
        seq: nextSeq++,
        id,
        catalogId,
        databaseName: r.databaseName,
        tableName: r.tableName,
        status,
        refreshType: r.refreshType ?? 'INCREMENTAL',
        creationTime: started,
        startTime: started,
        lastUpdated: Math.max(started, at),
      };
      if (!isActive(status)) run.endTime = Math.max(started, at);
      if (r.errorMessage !== undefined) run.errorMessage = r.errorMessage;
      if (r.stopping) {
        run.stopRequestedAt = at;
        run.stopAt = at + (r.stoppingForMs ?? Number.POSITIVE_INFINITY);
      }
      insertRun(run);
      return id;
    },

    finishRun(runId, status, errorMessage) {
      const run = runs.get(runId);
      if (!run) throw new Error(`finishRun: unknown run ${runId}`);
      const at = now();
      settle(run, at);
      if (!isActive(run.status)) throw new Error(`finishRun: run ${runId} already ended (${run.status})`);
      run.status = status;
      run.endTime = at;
      run.lastUpdated = at;
      run.stopAt = undefined;
      run.runningAt = undefined;
      if (errorMessage !== undefined) run.errorMessage = errorMessage;
    },

    getRun(runId) {
      const run = runs.get(runId);
      return run ? snapshot(run) : undefined;
    },

    runsOf(t) {
      return (runsByTable.get(resolveTable(t).key) ?? []).map(snapshot);
    },

    injectFault(f) {
      const times = f.times ?? 1;
      if (!(times > 0)) throw new Error('injectFault: times must be > 0');
      checkDelay('injectFault', f);
      const entry: FaultEntry = { kind: f.kind, remaining: times, afterOperation: f.afterOperation ?? false };
      if (f.operation !== undefined) entry.operation = f.operation;
      if (f.match !== undefined) entry.match = f.match;
      if (f.delayMs !== undefined) entry.delayMs = f.delayMs;
      faults.push(entry);
    },

    clearFaults() {
      faults.length = 0;
    },

    setFaultHook(hook) {
      faultHook = hook;
    },

    setLatency(ms) {
      latencyMs = ms;
    },

    get calls() {
      return calls;
    },

    callCount(operation) {
      return operation === undefined ? calls.length : calls.filter((c) => c.operation === operation).length;
    },

    reset() {
      tables.clear();
      plainTables.clear();
      runs.clear();
      runsByTable.clear();
      faults.length = 0;
      calls.length = 0;
      buckets.clear();
      faultHook = options.faultHook;
      latencyMs = options.latencyMs ?? 0;
      epoch = randomUUID();
    },

    close() {
      return server.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Seeded, probabilistic faults
// ---------------------------------------------------------------------------------------------------

/** murmur3's 32-bit finalizer: spreads the bits of a 32-bit hash. */
const fmix32 = (h: number): number => {
  let x = h >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
};

/**
 * A number in [0, 1) that depends only on `seed` and `parts`: the same arguments always give the same
 * number, in any order of calls and in any process (FNV-1a over the parts, then murmur3's finalizer).
 */
export function seededUnit(seed: number, ...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5 ^ fmix32(seed >>> 0);
  for (const ch of `${seed}\u0000${parts.join('\u0000')}`) {
    h = Math.imul(h ^ (ch.codePointAt(0) ?? 0), 0x01000193);
  }
  return fmix32(h) / 2 ** 32;
}

/** One fault a `seededFaults()` hook may pick, with its probability per call. */
export interface FaultRate extends FaultDecision {
  /** Probability per call, 0..1; the rates of one hook add up to at most 1. */
  rate: number;
}

export interface SeededFaultsOptions {
  seed: number;
  faults: readonly FaultRate[];
  /** Only calls of these operations draw a fault. Default: every operation. */
  operations?: readonly string[];
  /**
   * Calls with the same key draw from one sequence: the n-th call with a key always gets the same
   * decision, whatever other calls arrived in between. Default: one key for every call (arrival order).
   */
  key?: (call: FaultHookCall) => string;
}

/**
 * A fault hook that picks each call's fault at random, reproducibly from `seed`: the n-th call with a
 * given key draws `seededUnit(seed, key, n)` and gets the first fault whose cumulative rate exceeds it.
 *
 * @example
 * startGlueEmulator({ faultHook: seededFaults({ seed: 7, faults: [{ kind: 'throttle', rate: 0.3 }] }) });
 */
export function seededFaults(options: SeededFaultsOptions): FaultHook {
  let total = 0;
  for (const fault of options.faults) {
    if (!(fault.rate >= 0 && fault.rate <= 1)) {
      throw new Error(`seededFaults: rate must be in 0..1, got ${fault.rate}`);
    }
    checkDelay('seededFaults', fault);
    total += fault.rate;
  }
  if (total > 1 + 1e-9) throw new Error(`seededFaults: the rates add up to ${total}, more than 1`);
  const operations = options.operations === undefined ? undefined : new Set(options.operations);
  const drawn = new Map<string, number>();
  return (call) => {
    if (operations && !operations.has(call.operation)) return undefined;
    const key = options.key?.(call) ?? '';
    const n = drawn.get(key) ?? 0;
    drawn.set(key, n + 1);
    const u = seededUnit(options.seed, key, n);
    let cumulative = 0;
    for (const { rate, ...decision } of options.faults) {
      cumulative += rate;
      if (u < cumulative) return decision;
    }
    return undefined;
  };
}
