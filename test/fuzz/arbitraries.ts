/**
 * fast-check arbitraries for the fuzz suite: one input generator per handler. Each input is a document
 * (a model rendered to JSON, see model.ts) plus an environment plan (which refreshes are running, which
 * Glue or EventBridge faults answer). The mix, per handler:
 *
 * - valid requests and near-valid mutations of them (wrong types, missing and unknown fields, texts that
 *   break the API pattern or a length limit, both TableName and TableNames, …);
 * - malformed JSON (cut, spliced, any text), wrong types at the top level;
 * - huge values (documents padded to a target UTF-8 size, up to the 1 MiB SQS limit) and deep values
 *   (thousands of levels of arrays, objects, `__proto__` chains and Lambda invocation records);
 * - `__proto__` / `constructor` / `prototype` as own keys;
 * - unicode edge cases: lone surrogates, U+FFFE/U+FFFF, control characters, astral characters, BOM,
 *   line and paragraph separators;
 * - the other triggers' shapes (an alarm on the event handler, an SQS event on the schedule handler, …);
 * - on the stop queue, the queue function's own scope tasks (`{"ScopeTask": …}`): list and stop tasks over
 *   the emulator's views (running or not, inside the allow-list or not, in allowed databases or not, dry
 *   run), tasks with one field broken, broken envelopes, tasks in Lambda invocation records, the tasks of
 *   one scope together in a batch, and tasks at every limit;
 * - broken SQS records and events: null records, missing or non-string ids and bodies, absurd
 *   SentTimestamps, the whole event null, an array or a number;
 * - broken AWS answers: Glue faults (5xx, malformed responses, timeouts, resets) on a share of inputs and
 *   EventBridge faults on a smaller share.
 */
import fc from 'fast-check';
import type { FaultKind } from '../../local/glue-emulator.ts';
import { PARENT_KEY_MAX_LENGTH } from '../../src/request/contract.ts';
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../../src/request/events.ts';
import { ROOT_KEY_MAX_LENGTH, SCOPE_TASK_FIELD } from '../../src/request/scope-task.ts';
import {
  arr,
  type DeepNode,
  type Doc,
  type DocForm,
  type Entry,
  type JsonNode,
  type ObjectNode,
  obj,
  withEntry,
} from './model.ts';

export const OWN_ACCOUNT = '123456789012';
export const SHARED_ACCOUNT = '111122223333';
export const FOREIGN_ACCOUNT = '999988887777';

export const HANDLERS = ['stopFromQueue', 'stopFromEvent', 'stopFromAlarm', 'stopFromSchedule'] as const;
export type HandlerName = (typeof HANDLERS)[number];

/** Tables the Glue emulator knows at the start of every input (`unknown_mv` is never registered). */
export const KNOWN_TABLES: readonly {
  readonly catalogId?: string;
  databaseName: string;
  tableName: string;
}[] = [
  { databaseName: 'sales', tableName: 'daily_mv' },
  { databaseName: 'sales', tableName: 'orders_mv' },
  { databaseName: 'sales', tableName: 'returns_mv' },
  { databaseName: 'marketing', tableName: 'campaign_stats_mv' },
  { databaseName: 'marketing', tableName: 'campaign_clicks_mv' },
  { databaseName: 'marketing', tableName: 'audience_mv' },
  { databaseName: 'finance', tableName: 'risk_mv' },
  { databaseName: 'hr', tableName: 'payroll_mv' },
  { catalogId: SHARED_ACCOUNT, databaseName: 'shared', tableName: 'daily_mv' },
];

/** Refreshes that may be running when an input arrives: indices into KNOWN_TABLES, with their state. */
export const RUNNING_POOL: readonly {
  readonly table: number;
  readonly state: 'RUNNING' | 'STARTING' | 'stopping';
}[] = [
  { table: 0, state: 'RUNNING' },
  { table: 1, state: 'RUNNING' },
  { table: 2, state: 'stopping' },
  { table: 3, state: 'RUNNING' },
  { table: 5, state: 'STARTING' },
  { table: 6, state: 'RUNNING' },
  { table: 8, state: 'RUNNING' },
];

export const GLUE_FAULTS = [
  'internal-error',
  'malformed-response',
  'service-unavailable',
  'operation-timeout',
  'connection-reset',
  'throttle',
] as const satisfies readonly FaultKind[];

export interface GlueFaultPlan {
  readonly kind: (typeof GLUE_FAULTS)[number];
  /** Requests it answers; `Infinity` for all of them. */
  readonly times: number;
  readonly afterOperation: boolean;
  readonly operation?: string;
}

export interface EnvironmentPlan {
  /** Indices into RUNNING_POOL. */
  readonly running: readonly number[];
  readonly glueFault?: GlueFaultPlan;
  /** The outcome events' PutEvents fails (never for the queue handler, whose outcomes only show there). */
  readonly eventBridgeFault?: 'internal-error' | 'entry-failure';
}

export interface FuzzInput {
  /** Which part of the mix the input comes from (for the report). */
  readonly family: string;
  /** The payload Lambda delivers, as JSON text to parse. */
  readonly doc: Doc;
  readonly plan: EnvironmentPlan;
}

// ---------------------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------------------

/** Characters that break something somewhere: JSON, SQS, the API pattern, UTF-16, display. */
export const EDGE_CHARACTERS = [
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
  '\uFFFE',
  '\uFFFF',
  '\uFEFF',
  '\u0000',
  '\u0001',
  '\u0008',
  '\n',
  '\r',
  '\u001F',
  '\u007F',
  '\u0085',
  '\u2028',
  '\u2029',
  '\u200B',
  '\u202E',
  '\u0301',
  '😀',
  '\u{10FFFF}',
  '\u{1D11E}',
  '\u{E0001}',
  'ſ',
  'İ',
  '\t',
  ' ',
  '"',
  '\\',
  '*',
  '?',
  '\u00A0',
] as const;

/** Characters the API pattern accepts (astral ones included). */
const PATTERN_CHARACTERS = [
  'é',
  '😀',
  '\t',
  'İ',
  ' ',
  '\u{10FFFF}',
  '\uE000',
  '\uFFFD',
  '\u200B',
  '\u2028',
  'ſ',
  '"',
  '\\',
];

const asciiCharacter = fc.constantFrom(...'abcdxyz_-.0179'.split(''));
const edgeCharacter = fc.constantFrom(...EDGE_CHARACTERS);
const join = (parts: readonly string[]): string => parts.join('');

/** Short text with edge characters mixed in. */
export const edgeText: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 6, arbitrary: asciiCharacter },
      { weight: 3, arbitrary: edgeCharacter },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    ),
    { maxLength: 12 },
  )
  .map(join);

const patternCharacter = fc.oneof(
  { weight: 8, arbitrary: asciiCharacter },
  { weight: 2, arbitrary: fc.constantFrom(...PATTERN_CHARACTERS) },
);

/** A text the contract accepts, up to `max` code points: short and random, or long and at the limit. */
export const validText = (max: number): fc.Arbitrary<JsonNode> =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.array(patternCharacter, { minLength: 1, maxLength: Math.min(16, max) }).map(join),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(patternCharacter, fc.integer({ min: Math.max(1, max - 1), max }))
        .map(([unit, count]): JsonNode => ({ t: 'big', unit, count })),
    },
  );

/** A text that breaks the API pattern or a length limit. */
export const badText: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.constant(''),
  fc
    .tuple(
      edgeText,
      fc.constantFrom('\u0000', '\u0001', '\n', '\u001F', '\uFFFE', '\uFFFF', '\uD800', '\uDFFF'),
      edgeText,
    )
    .map(([a, b, c]) => `${a}${b}${c}`),
  fc.constantFrom(256, 513, 1025, 70_000).map((count): JsonNode => ({ t: 'big', unit: 'x', count })),
  fc.constant<JsonNode>({ t: 'big', unit: '😀', count: 256 }),
);

// ---------------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------------

const fromValue = (value: unknown): JsonNode => {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Object.is(value, -0) ? { t: 'raw', text: '-0' } : value;
  if (Array.isArray(value)) return { t: 'arr', items: value.map(fromValue) };
  if (typeof value === 'object')
    return { t: 'obj', entries: Object.entries(value).map(([k, v]): Entry => [k, fromValue(v)]) };
  return null;
};

/** Random JSON: the kind of thing any producer might send by mistake. */
export const jsonJunk: fc.Arbitrary<JsonNode> = fc.jsonValue({ maxDepth: 3 }).map(fromValue);

const deepShape = fc.constantFrom<DeepNode['shape']>('array', 'object', 'proto', 'mixed');

/** Nesting from a few levels to well past what a recursive JSON.stringify survives. */
export const deepValue = (leaf: fc.Arbitrary<JsonNode> = fc.constantFrom<JsonNode>(null, 'x', 1)) =>
  fc
    .record({
      shape: deepShape,
      depth: fc.oneof(
        { weight: 3, arbitrary: fc.integer({ min: 1, max: 200 }) },
        { weight: 2, arbitrary: fc.integer({ min: 1_000, max: 8_000 }) },
      ),
      leaf,
    })
    .map((d): JsonNode => ({ t: 'deep', ...d }));

export const wrongType: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.constantFrom<JsonNode>(null, true, false, 0, -1, 1.5, 1e21, 'sales'),
  fc.constantFrom<JsonNode>({ t: 'raw', text: '1e400' }, { t: 'raw', text: '-0' }, { t: 'raw', text: '1.0' }),
  fc.constantFrom<JsonNode>(arr(), obj(), arr('sales'), obj(['S', 'sales']), arr(arr(arr()))),
  deepValue(),
);

/** Own keys that would pollute a prototype if anything merged them naively. */
export const protoEntry: fc.Arbitrary<Entry> = fc.constantFrom<Entry>(
  ['__proto__', obj(['polluted', 'yes'])],
  ['__proto__', obj(['DatabaseName', 'sales'], ['TableName', 'daily_mv'])],
  ['__proto__', arr(1)],
  ['__proto__', null],
  ['constructor', obj(['prototype', obj(['polluted', 'yes'])])],
  ['prototype', obj(['polluted', 'yes'])],
  ['toString', 'x'],
  ['hasOwnProperty', 1],
  ['valueOf', null],
);

const strangeKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'Tablename',
    'tableName',
    'databaseName',
    '',
    ' DatabaseName',
    'TableName\u0000',
    'DatabaseName',
    'detail',
    'Records',
    'requestPayload',
    'id',
  ),
  edgeText,
);

export type Mutation =
  | { readonly set: string; readonly value: JsonNode }
  | { readonly drop: string }
  | { readonly add: Entry };

export const applyMutations = (node: ObjectNode, mutations: readonly Mutation[]): ObjectNode =>
  mutations.reduce<ObjectNode>((current, m) => {
    if ('set' in m) return withEntry(current, m.set, m.value);
    if ('drop' in m) return withEntry(current, m.drop, undefined);
    return { t: 'obj', entries: [...current.entries, m.add] };
  }, node);

const mutationOf = (fields: readonly string[], specific: fc.Arbitrary<Mutation>): fc.Arbitrary<Mutation> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({ set: fc.constantFrom(...fields), value: fc.oneof(wrongType, badText) }),
    },
    { weight: 2, arbitrary: fc.record({ drop: fc.constantFrom(...fields) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        add: fc.oneof(protoEntry, fc.tuple(strangeKey, fc.oneof(validText(20), wrongType))),
      }),
    },
    { weight: 3, arbitrary: specific },
  );

/** No mutation (a valid input) or a few. */
const mutations = (mutation: fc.Arbitrary<Mutation>, validWeight = 5): fc.Arbitrary<Mutation[]> =>
  fc.oneof(
    { weight: validWeight, arbitrary: fc.constant<Mutation[]>([]) },
    { weight: 4, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 3 }) },
  );

const now = (offsetMs: number, format: 'iso' | 'iso-seconds' | 'cloudwatch' | 'millis'): JsonNode => ({
  t: 'now',
  offsetMs,
  format,
});

/** Ids are fresh per execution (no stale idempotency records), sometimes shared (replays). */
const idNode = (prefix: string): fc.Arbitrary<JsonNode> =>
  fc.oneof(
    { weight: 9, arbitrary: fc.constant<JsonNode>({ t: 'fresh', prefix }) },
    { weight: 1, arbitrary: fc.constantFrom<JsonNode>(`${prefix}-shared-1`, `${prefix}-shared-2`) },
  );

// ---------------------------------------------------------------------------------------------------
// Stop requests
// ---------------------------------------------------------------------------------------------------

const REQUEST_FIELDS = [
  'CatalogId',
  'DatabaseName',
  'TableName',
  'TableNames',
  'RunId',
  'IssuedAt',
  'DryRun',
  'IdempotencyKey',
  'Reason',
  'RequestedBy',
  'ParentIdempotencyKey',
] as const;

/** Mostly allowed databases (sales, marketing), some refused (finance, hr; shared in another catalog). */
const database = fc.oneof(
  { weight: 8, arbitrary: fc.constant('sales') },
  { weight: 4, arbitrary: fc.constant('marketing') },
  { weight: 3, arbitrary: fc.constantFrom('finance', 'hr', 'shared') },
  { weight: 1, arbitrary: validText(255) },
);

/** Mostly absent (the function's own account), sometimes another account's. */
const catalogId: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom(OWN_ACCOUNT, SHARED_ACCOUNT, FOREIGN_ACCOUNT) },
);
/** Mostly the tables that may be running (so that stops happen), some that never run or do not exist. */
const tableName = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('daily_mv', 'orders_mv') },
  { weight: 3, arbitrary: fc.constantFrom('returns_mv', 'campaign_stats_mv', 'audience_mv') },
  { weight: 3, arbitrary: fc.constantFrom('campaign_clicks_mv', 'risk_mv', 'unknown_mv') },
  { weight: 1, arbitrary: validText(255) },
);
const glob = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('*', 'daily_*', 'campaign_*', '*_mv', '?aily_mv', 'orders_mv') },
  { weight: 1, arbitrary: tableName },
);
const validIssuedAt: fc.Arbitrary<JsonNode> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 7_200_000 }).map((offset) => now(offset, 'iso')) },
  { weight: 1, arbitrary: fc.integer({ min: -7_200_000, max: 0 }).map((offset) => now(offset, 'iso')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '2026-11-29T02:00:00Z',
      '2026-11-29T04:00:00.123+02:00',
      '1970-01-01T00:00:00Z',
      '2999-12-31T23:59:59.999Z',
    ),
  },
);

/** `arbitrary` on a `present` share of the draws, else absent. */
const sometimes = <T>(
  arbitrary: fc.Arbitrary<T>,
  present: number,
  absent: number,
): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: absent, arbitrary: fc.constant(undefined) }, { weight: present, arbitrary });

/** The run ids of the refreshes the emulator may have running (RUNNING_POOL), and one it never has. */
export const RUN_IDS = [
  '0a1b2c3d-0000-4000-8000-000000000000',
  '0a1b2c3d-0000-4000-8000-000000000001',
  '0a1b2c3d-0000-4000-8000-000000000002',
  '0a1b2c3d-0000-4000-8000-000000000003',
  '0a1b2c3d-0000-4000-8000-000000000004',
  '0a1b2c3d-0000-4000-8000-000000000005',
  '0a1b2c3d-0000-4000-8000-000000000006',
] as const;
const runId = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...RUN_IDS) },
  { weight: 1, arbitrary: fc.uuid() },
);

/** A request the contract accepts. */
export const stopRequest: fc.Arbitrary<ObjectNode> = fc
  .record({
    CatalogId: catalogId,
    DatabaseName: database,
    target: fc.oneof(
      { weight: 3, arbitrary: fc.record({ TableName: tableName, RunId: sometimes(runId, 1, 3) }) },
      { weight: 2, arbitrary: fc.record({ TableNames: fc.array(glob, { minLength: 1, maxLength: 4 }) }) },
    ),
    IssuedAt: sometimes(validIssuedAt, 1, 2),
    DryRun: sometimes(fc.boolean(), 1, 2),
    IdempotencyKey: sometimes(
      fc.oneof(
        { weight: 3, arbitrary: fc.constant<JsonNode>({ t: 'fresh', prefix: 'key' }) },
        { weight: 1, arbitrary: fc.constantFrom('key-shared-1', 'key-shared-2', 'key-shared-3') },
      ),
      1,
      1,
    ),
    Reason: sometimes(validText(1024), 1, 1),
    RequestedBy: sometimes(validText(255), 1, 1),
    ParentIdempotencyKey: sometimes(validText(512), 1, 3),
  })
  .map(({ target, ...fields }) => {
    const entries: Entry[] = [];
    for (const [key, value] of Object.entries({ ...fields, ...target })) {
      if (value === undefined) continue;
      entries.push([key, Array.isArray(value) ? { t: 'arr', items: value } : (value as JsonNode)]);
    }
    return { t: 'obj', entries };
  });

const requestSpecific: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom<Mutation>(
    { set: 'TableNames', value: arr() },
    { set: 'TableNames', value: { t: 'arr', items: Array.from({ length: 101 }, (_, i) => `t${i}`) } },
    { set: 'TableNames', value: arr('daily_mv', null) },
    { set: 'TableName', value: 'daily_mv' },
    { set: 'TableNames', value: arr('*') },
    { set: 'RunId', value: 'not-a-uuid' },
    { set: 'RunId', value: '3E1A5D7C-2F4B-4C8E-9A61-7D0B5C3E2F10' },
    { set: 'IssuedAt', value: '2026-11-29' },
    { set: 'IssuedAt', value: '2026-13-01T00:00:00Z' },
    { set: 'IssuedAt', value: '2026-11-29T02:00:00' },
    { set: 'IssuedAt', value: '+275760-09-13T00:00:00.000Z' },
    { set: 'DryRun', value: 'true' },
    { set: 'CatalogId', value: 'not-an-account' },
    { set: 'IdempotencyKey', value: { t: 'big', unit: 'k', count: 256 } },
  ),
  fc.record({ set: fc.constantFrom('DatabaseName', 'TableName'), value: deepValue() }),
);

/** A request, valid or with a few mutations. */
export const nearStopRequest: fc.Arbitrary<ObjectNode> = fc
  .tuple(stopRequest, mutations(mutationOf(REQUEST_FIELDS, requestSpecific), 8))
  .map(([node, ms]) => applyMutations(node, ms));

const MAXIMAL_UNITS = ['x', 'é', '€', '😀'] as const;

/**
 * A valid request with every field at its limit (in code points of 1- to 4-byte characters): 255-character
 * names, 100 of them in a scope, a 1,024-character Reason. What a batch of these makes of every size
 * budget downstream (outcome events, derived requests) is the point.
 */
export const maximalRequestOf = (unit: string): fc.Arbitrary<ObjectNode> =>
  fc
    .record({
      scope: fc.oneof(
        { weight: 2, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
      database: fc.constantFrom('sales', 'sales', 'marketing', 'finance'),
      dryRun: fc.boolean(),
    })
    .map(({ scope, database, dryRun }) => {
      const text = (count: number): JsonNode => ({ t: 'big', unit, count });
      const names: JsonNode = { t: 'arr', items: ['*', ...Array.from({ length: 99 }, () => text(255))] };
      return obj(
        ['DatabaseName', database],
        scope ? ['TableNames', names] : ['TableName', text(255)],
        ['IdempotencyKey', { t: 'fresh', prefix: 'key' }],
        ['Reason', text(1024)],
        ['RequestedBy', text(255)],
        ['ParentIdempotencyKey', text(512)],
        ['DryRun', dryRun],
      );
    });

export const maximalRequest: fc.Arbitrary<ObjectNode> = fc
  .constantFrom(...MAXIMAL_UNITS)
  .chain((unit) => maximalRequestOf(unit));

// ---------------------------------------------------------------------------------------------------
// Scope tasks: the queue function's own messages (src/request/scope-task.ts)
// ---------------------------------------------------------------------------------------------------

const TASK_FIELDS = [
  'Kind',
  'CatalogId',
  'DatabaseName',
  'TableNames',
  'IssuedAt',
  'RootKey',
  'PageToken',
  'Views',
  'DryRun',
  'ParentIdempotencyKey',
  'Reason',
  'RequestedBy',
] as const;

/** Where a task lists, as a catalog and a database. */
interface TaskPlace {
  readonly catalogId: string;
  readonly database: string;
}

/** Mostly the allowed databases (where views run), some outside the allow-list by database or catalog. */
const taskPlace: fc.Arbitrary<TaskPlace> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ catalogId: OWN_ACCOUNT, database: 'sales' }) },
  { weight: 4, arbitrary: fc.constant({ catalogId: OWN_ACCOUNT, database: 'marketing' }) },
  { weight: 2, arbitrary: fc.constant({ catalogId: SHARED_ACCOUNT, database: 'shared' }) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      { catalogId: OWN_ACCOUNT, database: 'finance' },
      { catalogId: OWN_ACCOUNT, database: 'hr' },
      { catalogId: OWN_ACCOUNT, database: 'shared' },
      { catalogId: SHARED_ACCOUNT, database: 'sales' },
      { catalogId: FOREIGN_ACCOUNT, database: 'marketing' },
    ),
  },
);

/** The run id the emulator gives a KNOWN_TABLES entry when its RUNNING_POOL refresh runs. */
const poolRunId = (table: number): string | undefined =>
  RUN_IDS[RUNNING_POOL.findIndex((r) => r.table === table)];

const viewNode = ([name, run]: readonly [JsonNode, JsonNode]): ObjectNode =>
  obj(['TableName', name], ['RunId', run]);

/**
 * A view of a stop task: mostly a view the emulator knows in the task's database, with the run id the
 * expansion would have seen (sometimes another run's); some views it does not know or never runs, some the
 * allow-list refuses (marketing allows `campaign_*` and `audience_mv` only).
 */
const taskViewOf = (place: TaskPlace): fc.Arbitrary<ObjectNode> => {
  const known = KNOWN_TABLES.flatMap((t, i) =>
    t.databaseName === place.database && (t.catalogId ?? OWN_ACCOUNT) === place.catalogId
      ? [{ name: t.tableName, seen: poolRunId(i) }]
      : [],
  );
  const ofKnown = fc.constantFrom(...(known.length > 0 ? known : [{ name: 'daily_mv', seen: undefined }]));
  return fc.oneof(
    {
      weight: 8,
      arbitrary: ofKnown.chain(({ name, seen }) =>
        fc
          .tuple(
            fc.constant<JsonNode>(name),
            seen !== undefined
              ? fc.oneof({ weight: 4, arbitrary: fc.constant(seen) }, { weight: 1, arbitrary: runId })
              : runId,
          )
          .map(viewNode),
      ),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom<JsonNode>('orders_mv', 'partner_mv', 'unknown_mv', 'risk_mv'), runId)
        .map(viewNode),
    },
    { weight: 1, arbitrary: fc.tuple(validText(255), runId).map(viewNode) },
  );
};

/** A stop task's views: a few, sometimes one named twice (it must still be stopped once). */
const taskViewsOf = (place: TaskPlace): fc.Arbitrary<JsonNode> =>
  fc
    .tuple(fc.array(taskViewOf(place), { minLength: 1, maxLength: 5 }), fc.nat({ max: 9 }))
    .map(([views, twice]): JsonNode => {
      const first = views[0];
      return { t: 'arr', items: twice === 0 && first ? [...views, first] : views };
    });

/** Root keys: fresh per execution, shared across the run (its views must still stop once), or at the limit. */
const taskRootKey: fc.Arbitrary<JsonNode> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<JsonNode>({ t: 'fresh', prefix: 'root' }) },
  { weight: 2, arbitrary: fc.constantFrom<JsonNode>('root-shared-1', 'root-shared-2') },
  { weight: 1, arbitrary: validText(ROOT_KEY_MAX_LENGTH) },
);

/** A task the contract accepts: `list` (go on listing) or `stop` (stop `Views` from a read of the page). */
export const scopeTaskOf = (rootKey: fc.Arbitrary<JsonNode>): fc.Arbitrary<ObjectNode> =>
  fc
    .record({
      kind: fc.oneof(
        { weight: 3, arbitrary: fc.constant('stop' as const) },
        { weight: 1, arbitrary: fc.constant('list' as const) },
      ),
      place: taskPlace,
      TableNames: fc.array(glob, { minLength: 1, maxLength: 3 }),
      IssuedAt: validIssuedAt,
      RootKey: rootKey,
      DryRun: sometimes(fc.boolean(), 1, 3),
      ParentIdempotencyKey: sometimes(validText(PARENT_KEY_MAX_LENGTH), 1, 1),
      Reason: sometimes(validText(1024), 1, 1),
      RequestedBy: sometimes(validText(255), 1, 2),
    })
    .chain(({ kind, place, ...fields }) =>
      (kind === 'stop' ? taskViewsOf(place) : fc.constant(undefined)).map((views) => {
        const entries: Entry[] = [
          ['Kind', kind],
          ['CatalogId', place.catalogId],
          ['DatabaseName', place.database],
          ['TableNames', { t: 'arr', items: fields.TableNames }],
          ['IssuedAt', fields.IssuedAt],
          ['RootKey', fields.RootKey],
        ];
        if (views !== undefined) entries.push(['Views', views]);
        for (const key of ['DryRun', 'ParentIdempotencyKey', 'Reason', 'RequestedBy'] as const) {
          const value = fields[key];
          if (value !== undefined) entries.push([key, value]);
        }
        return { t: 'obj', entries };
      }),
    );

const big = (unit: string, count: number): JsonNode => ({ t: 'big', unit, count });
const oneView = (name: JsonNode, run: JsonNode = RUN_IDS[0]): JsonNode =>
  arr(obj(['TableName', name], ['RunId', run]));
const manyViews = (count: number): JsonNode => ({
  t: 'arr',
  items: Array.from({ length: count }, (_, i) =>
    obj(['TableName', `v${i}_mv`], ['RunId', RUN_IDS[i % RUN_IDS.length] ?? '']),
  ),
});

/** Breaks one thing a task's contract or Glue cares about (a few leave the task valid: the oracle decides). */
const taskSpecific: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<Mutation>(
      { set: 'Kind', value: 'halt' },
      { set: 'Kind', value: 'Stop' },
      // On a stop task: Views on a list task. On a list task: a stop task without Views.
      { set: 'Kind', value: 'list' },
      { set: 'Kind', value: 'stop' },
      { set: 'Views', value: oneView('daily_mv') },
      { drop: 'Views' },
      { set: 'Views', value: arr() },
      { set: 'Views', value: arr(null) },
      { set: 'Views', value: arr('daily_mv') },
      { set: 'Views', value: arr(obj(['TableName', 'daily_mv'])) },
      {
        set: 'Views',
        value: arr(obj(['TableName', 'daily_mv'], ['RunId', RUN_IDS[0]], ['Status', 'RUNNING'])),
      },
      { set: 'Views', value: oneView('daily_mv', 'not-a-uuid') },
      { set: 'Views', value: oneView('daily_mv', `{${RUN_IDS[0]}}`) },
      { set: 'Views', value: oneView('daily_mv', '') },
      { set: 'Views', value: oneView('daily_mv', 42) },
      { set: 'Views', value: oneView(big('v', 256)) },
      { set: 'Views', value: oneView('') },
      { set: 'Views', value: manyViews(101) },
      // The most a task names: the views the page does not show go on as exact requests.
      { set: 'Views', value: manyViews(100) },
      { set: 'PageToken', value: big('t', 4097) },
      { set: 'PageToken', value: '' },
      // Tokens the contract accepts and the emulator refuses (not base64 JSON; another epoch's).
      { set: 'PageToken', value: 'not-a-token' },
      {
        set: 'PageToken',
        value: 'eyJlIjoiZWFybGllciIsImIiOjEsImMiOiIxMjM0NTY3ODkwMTIiLCJkIjoic2FsZXMiLCJ0IjpudWxsfQ',
      },
      { set: 'PageToken', value: big('t', 4096) },
      { set: 'RootKey', value: big('r', ROOT_KEY_MAX_LENGTH + 1) },
      { set: 'RootKey', value: '' },
      { set: 'TableNames', value: arr() },
      { set: 'TableNames', value: { t: 'arr', items: Array.from({ length: 101 }, (_, i) => `t${i}`) } },
      { set: 'TableNames', value: arr('daily_mv', null) },
      { set: 'IssuedAt', value: '2026-11-29' },
      { set: 'IssuedAt', value: '2026-11-29T02:00:00' },
      { set: 'IssuedAt', value: 1795922400000 },
      { set: 'DryRun', value: 'true' },
      { set: 'CatalogId', value: big('1', 256) },
      { set: 'Reason', value: big('r', 1025) },
      { set: 'RequestedBy', value: 'ops\nteam' },
      { set: 'ParentIdempotencyKey', value: big('p', PARENT_KEY_MAX_LENGTH + 1) },
      { add: ['IdempotencyKey', 'key-1'] },
      { add: ['TableName', 'daily_mv'] },
      { add: ['RunId', RUN_IDS[0]] },
      { add: ['kind', 'stop'] },
    ),
  },
  // Lone surrogates: the API pattern refuses them (a stop request's contract does too).
  {
    weight: 1,
    arbitrary: fc.constantFrom<Mutation>(
      { set: 'Views', value: oneView('daily_mv\uD800') },
      { set: 'Views', value: oneView('\uDC00orders_mv') },
      { set: 'TableNames', value: arr('daily_\uD800*') },
      { set: 'Reason', value: 'why \uDC00' },
      { set: 'RequestedBy', value: '\uD83D' },
      { set: 'RootKey', value: 'root-\uDFFF' },
      { set: 'ParentIdempotencyKey', value: 'parent-\uD800' },
    ),
  },
  // Control characters, lone surrogates, lengths past the limit, in a view's name or run id.
  {
    weight: 2,
    arbitrary: fc.record({
      set: fc.constant('Views'),
      value: fc.oneof(
        badText.map((name) => oneView(name)),
        fc.oneof(badText, wrongType).map((run) => oneView('daily_mv', run)),
      ),
    }),
  },
);

/** One thing broken (mostly), two, or none. */
const oneMutation = (mutation: fc.Arbitrary<Mutation>, validWeight: number): fc.Arbitrary<Mutation[]> =>
  fc.oneof(
    { weight: validWeight, arbitrary: fc.constant<Mutation[]>([]) },
    { weight: 5, arbitrary: mutation.map((m) => [m]) },
    { weight: 1, arbitrary: fc.array(mutation, { minLength: 2, maxLength: 2 }) },
  );

const taskMutation = mutationOf(TASK_FIELDS, taskSpecific);

/** A task, valid or with one field broken, under root keys drawn by `rootKey`. */
export const nearScopeTaskOf = (rootKey: fc.Arbitrary<JsonNode>, validWeight = 6): fc.Arbitrary<ObjectNode> =>
  fc
    .tuple(scopeTaskOf(rootKey), oneMutation(taskMutation, validWeight))
    .map(([node, ms]) => applyMutations(node, ms));

/** `{"ScopeTask": task}`: how a task travels. */
export const taskBody = (task: JsonNode): ObjectNode => obj([SCOPE_TASK_FIELD, task]);

/** The envelope broken instead: a second field, another name, the task as text or in an array. */
const brokenTaskEnvelope: fc.Arbitrary<ObjectNode> = fc
  .tuple(
    scopeTaskOf(taskRootKey),
    fc.constantFrom('extra field', 'lower case', 'as text', 'in an array', 'prototype key', 'wrong type'),
    wrongType,
    protoEntry,
  )
  .map(([task, how, wrong, proto]) => {
    switch (how) {
      case 'extra field':
        return obj([SCOPE_TASK_FIELD, task], ['DatabaseName', 'sales']);
      case 'lower case':
        return obj(['scopeTask', task]);
      case 'as text':
        return obj([SCOPE_TASK_FIELD, { t: 'text', doc: { node: task, form: plainJson } }]);
      case 'in an array':
        return obj([SCOPE_TASK_FIELD, arr(task)]);
      case 'prototype key':
        return obj(proto, [SCOPE_TASK_FIELD, task]);
      default:
        return obj([SCOPE_TASK_FIELD, wrong]);
    }
  });

/** What the stop queue may hold as a task: valid, one field broken, or a broken envelope. */
export const nearScopeTaskBody: fc.Arbitrary<ObjectNode> = fc.oneof(
  { weight: 12, arbitrary: nearScopeTaskOf(taskRootKey).map(taskBody) },
  { weight: 1, arbitrary: brokenTaskEnvelope },
);

/**
 * A valid stop task with every field at its limit (`unit` characters): 100 views with 255-character names
 * (three the emulator knows, so that some stop), a 319-character root key, a 1,024-character Reason.
 */
export const maximalTaskOf = (unit: string): fc.Arbitrary<ObjectNode> =>
  fc
    .record({
      database: fc.constantFrom('sales', 'marketing', 'finance'),
      dryRun: fc.boolean(),
      issuedAt: validIssuedAt,
    })
    .map(({ database, dryRun, issuedAt }) => {
      const text = (count: number): JsonNode => big(unit, count);
      const views: JsonNode = {
        t: 'arr',
        items: [
          obj(['TableName', 'daily_mv'], ['RunId', RUN_IDS[0]]),
          obj(['TableName', 'campaign_stats_mv'], ['RunId', RUN_IDS[3]]),
          obj(['TableName', 'risk_mv'], ['RunId', RUN_IDS[5]]),
          ...Array.from({ length: 97 }, (_, i) =>
            obj(['TableName', `${unit.repeat(252)}${String(i).padStart(3, '0')}`], ['RunId', RUN_IDS[1]]),
          ),
        ],
      };
      return taskBody(
        obj(
          ['Kind', 'stop'],
          ['CatalogId', OWN_ACCOUNT],
          ['DatabaseName', database],
          ['TableNames', { t: 'arr', items: ['*', ...Array.from({ length: 99 }, () => text(255))] }],
          ['IssuedAt', issuedAt],
          ['RootKey', { t: 'fresh', prefix: unit.repeat(ROOT_KEY_MAX_LENGTH - 32) }],
          ['Views', views],
          ['DryRun', dryRun],
          ['ParentIdempotencyKey', text(PARENT_KEY_MAX_LENGTH)],
          ['Reason', text(1024)],
          ['RequestedBy', text(255)],
        ),
      );
    });

// ---------------------------------------------------------------------------------------------------
// The triggers' shapes
// ---------------------------------------------------------------------------------------------------

/** Times `Date` can hold that ISO-8601 only writes with an extended year (`+275760-…`, `-000001-…`). */
const EXTREME_TIMES = ['+275760-09-13T00:00:00.000Z', '+010000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z'];

const ENVELOPE_FIELDS = [
  'version',
  'id',
  'detail-type',
  'source',
  'account',
  'time',
  'region',
  'resources',
  'detail',
];

const envelopeSpecific: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom<Mutation>(
    { set: 'source', value: 'aws.cloudwatch' },
    { set: 'detail-type', value: 'CloudWatch Alarm State Change' },
    { set: 'id', value: { t: 'big', unit: 'e', count: 256 } },
    { set: 'id', value: { t: 'big', unit: 'e', count: 255 } },
    { set: 'id', value: 'evt\u0000\uFFFE\uD800\n😀' },
    { set: 'id', value: '' },
    { set: 'time', value: 'not a time' },
    { set: 'time', value: '+275760-09-13T00:00:00.000Z' },
    { set: 'detail', value: '{"DatabaseName":"sales","TableName":"daily_mv"}' },
  ),
  // A deep or odd value in a field the envelope schema lets through: the request itself stays valid.
  fc.record({ add: fc.tuple(fc.constantFrom('extra', 'resources', '__proto__'), deepValue()) }),
);

/** An EventBridge stop event, valid or mutated (envelope and detail). */
export const stopEvent: fc.Arbitrary<ObjectNode> = fc
  .tuple(
    fc.record({
      id: idNode('evt'),
      detail: fc.oneof({ weight: 12, arbitrary: nearStopRequest }, { weight: 1, arbitrary: wrongType }),
      time: fc.oneof(
        { weight: 8, arbitrary: fc.integer({ min: -3_600_000, max: 0 }).map((o) => now(o, 'iso-seconds')) },
        { weight: 1, arbitrary: fc.constantFrom<JsonNode>('2026-11-29T02:00:00Z') },
        // Times Date can hold but ISO-8601 only writes with an extended year.
        { weight: 1, arbitrary: fc.constantFrom<JsonNode>(...EXTREME_TIMES) },
      ),
      account: fc.constantFrom(OWN_ACCOUNT, '210987654321'),
    }),
    mutations(mutationOf(ENVELOPE_FIELDS, envelopeSpecific), 12),
  )
  .map(([e, ms]) =>
    applyMutations(
      obj(
        ['version', '0'],
        ['id', e.id],
        ['detail-type', STOP_EVENT_DETAIL_TYPE],
        ['source', STOP_EVENT_SOURCE],
        ['account', e.account],
        ['time', e.time],
        ['region', 'us-east-1'],
        ['resources', arr()],
        ['detail', e.detail],
      ),
      ms,
    ),
  );

const ALARM_FIELDS = ['id', 'source', 'detail-type', 'time', 'detail', 'alarmName', 'state', 'previousState'];
const ALARM_STATES = ['OK', 'INSUFFICIENT_DATA', 'ALARM'];

/** A CloudWatch alarm state change, for configured and unconfigured alarms, valid or mutated. */
export const alarmEvent: fc.Arbitrary<ObjectNode> = fc
  .tuple(
    fc.record({
      id: idNode('alarm-evt'),
      alarmName: fc.oneof(
        {
          weight: 8,
          arbitrary: fc.constantFrom('sales-glue-dpu-spend', 'finance-glue-dpu-spend', 'marketing-dry-run'),
        },
        { weight: 2, arbitrary: fc.constantFrom('unconfigured-alarm') },
        { weight: 2, arbitrary: edgeText.filter((s) => s.length > 0) },
      ),
      from: fc.constantFrom(...ALARM_STATES),
      to: fc.oneof(
        { weight: 5, arbitrary: fc.constant('ALARM') },
        { weight: 1, arbitrary: fc.constantFrom('OK', 'INSUFFICIENT_DATA', 'alarm', '') },
      ),
      reason: fc.oneof(
        { weight: 4, arbitrary: validText(120) },
        { weight: 2, arbitrary: edgeText },
        {
          weight: 1,
          arbitrary: fc
            .tuple(edgeCharacter, fc.integer({ min: 900, max: 3_000 }))
            .map(([unit, count]): JsonNode => ({ t: 'big', unit, count })),
        },
      ),
      timestamp: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: -600_000, max: 0 }).map((o) => now(o, 'cloudwatch')) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<JsonNode>('garbage', '', '2026-11-29T02:04:00.301+0000', '9e99'),
        },
      ),
      previous: fc.boolean(),
    }),
    mutations(
      mutationOf(
        ALARM_FIELDS,
        fc.constantFrom<Mutation>(
          { set: 'detail', value: obj(['alarmName', 'sales-glue-dpu-spend']) },
          {
            set: 'detail',
            value: obj(['alarmName', 'sales-glue-dpu-spend'], ['state', obj(['value', 'ALARM'])]),
          },
          { set: 'source', value: STOP_EVENT_SOURCE },
          { set: 'id', value: { t: 'big', unit: 'a', count: 256 } },
          { set: 'id', value: { t: 'big', unit: 'a', count: 255 } },
          { set: 'id', value: 'alarm\u0000\uFFFE\uD800\n😀' },
        ),
      ),
      8,
    ),
  )
  .map(([a, ms]) => {
    const state = (value: JsonNode, reason: JsonNode, timestamp: JsonNode) =>
      obj(['reason', reason], ['timestamp', timestamp], ['value', value]);
    const detail = obj(
      ['alarmName', a.alarmName],
      [
        'configuration',
        obj(
          ['description', 'DPU-seconds spent on refreshes'],
          ['metrics', arr(obj(['id', 'dpu'], ['returnData', true]))],
        ),
      ],
      ...(a.previous
        ? ([
            ['previousState', state(a.from, 'Threshold Crossed: no datapoints', now(-600_000, 'cloudwatch'))],
          ] as Entry[])
        : []),
      ['state', state(a.to, a.reason, a.timestamp)],
    );
    // Mutations of detail fields apply to the detail, the others to the envelope.
    const inDetail = ms.filter((m) => ['alarmName', 'state', 'previousState'].includes(keyOf(m)));
    const inEnvelope = ms.filter((m) => !inDetail.includes(m));
    return applyMutations(
      obj(
        ['version', '0'],
        ['id', a.id],
        ['detail-type', 'CloudWatch Alarm State Change'],
        ['source', 'aws.cloudwatch'],
        ['account', OWN_ACCOUNT],
        ['time', now(0, 'iso-seconds')],
        ['region', 'us-east-1'],
        ['resources', arr(`arn:aws:cloudwatch:us-east-1:${OWN_ACCOUNT}:alarm:x`)],
        ['detail', applyMutations(detail, inDetail)],
      ),
      inEnvelope,
    );
  });

const keyOf = (m: Mutation): string => ('set' in m ? m.set : 'drop' in m ? m.drop : m.add[0]);

const SCHEDULE_FIELDS = [
  'window',
  'scope',
  'dryRun',
  'scheduledTime',
  'executionId',
  'scheduleArn',
  'attemptNumber',
];

/** A maintenance-window payload as Scheduler delivers it, valid or mutated. */
export const schedulePayload: fc.Arbitrary<ObjectNode> = fc
  .tuple(
    fc.record(
      {
        window: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom('finance-nightly', 'weekend-maintenance', 'sales-weekly') },
          { weight: 1, arbitrary: edgeText.filter((s) => s.length > 0 && s.length <= 64) },
        ),
        database: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom('sales', 'marketing') },
          { weight: 2, arbitrary: fc.constantFrom('finance', 'hr', 'shared') },
          { weight: 1, arbitrary: fc.constantFrom('sal*', 'Sales', 'sales db', 'a/b', '{x}') },
        ),
        tables: fc.array(fc.constantFrom('*', 'daily_*', 'campaign_*', 'orders_mv'), {
          minLength: 1,
          maxLength: 3,
        }),
        catalogId,
        dryRun: fc.boolean(),
        scheduledTime: fc.oneof(
          fc.integer({ min: -3_600_000, max: 0 }).map((o) => now(o, 'iso-seconds')),
          fc.constantFrom<JsonNode>('2026-11-29T02:05:00Z', '2026-11-29T03:05:00+01:00'),
        ),
        attemptNumber: fc.oneof(fc.constantFrom<JsonNode>('1', '2'), fc.integer({ min: 1, max: 185 })),
      },
      { requiredKeys: ['window', 'database', 'catalogId', 'dryRun', 'scheduledTime', 'attemptNumber'] },
    ),
    mutations(
      mutationOf(
        SCHEDULE_FIELDS,
        fc.constantFrom<Mutation>(
          { set: 'window', value: { t: 'big', unit: 'w', count: 65 } },
          { set: 'scope', value: obj(['database', 'sales'], ['tables', arr()]) },
          { set: 'scope', value: obj(['database', 'sales'], ['table', arr('*')]) },
          { set: 'scheduledTime', value: '2026-11-29 02:05' },
          { set: 'executionId', value: '' },
          { set: 'executionId', value: 'exec\u0000\uFFFE\uD800\n😀' },
          { set: 'executionId', value: { t: 'big', unit: 'x', count: 5_000 } },
          { set: 'window', value: 'w\uFFFE\u0001\uD800' },
          { set: 'attemptNumber', value: null },
        ),
      ),
      8,
    ),
  )
  .map(([s, ms]) =>
    applyMutations(
      obj(
        ['window', s.window],
        [
          'scope',
          obj(
            ...(s.catalogId !== undefined ? ([['catalogId', s.catalogId]] as Entry[]) : []),
            ['database', s.database],
            ...(s.tables !== undefined ? ([['tables', { t: 'arr', items: s.tables }]] as Entry[]) : []),
          ),
        ],
        ['dryRun', s.dryRun],
        ['scheduledTime', s.scheduledTime],
        ['executionId', { t: 'fresh', prefix: 'exec' }],
        ['scheduleArn', `arn:aws:scheduler:us-east-1:${OWN_ACCOUNT}:schedule/default/window`],
        ['attemptNumber', s.attemptNumber],
      ),
      ms,
    ),
  );

/** A Lambda on-failure destination record around another payload (what a redrive puts on the queue). */
const invocationRecord = (inner: fc.Arbitrary<JsonNode>): fc.Arbitrary<JsonNode> =>
  inner.map((payload) =>
    obj(
      ['version', '1.0'],
      ['timestamp', now(0, 'iso')],
      [
        'requestContext',
        obj(
          ['requestId', { t: 'fresh', prefix: 'req' }],
          [
            'functionArn',
            `arn:aws:lambda:us-east-1:${OWN_ACCOUNT}:function:glue-mv-stop-dev-stopFromEvent:$LATEST`,
          ],
          ['condition', 'RetriesExhausted'],
          ['approximateInvokeCount', 3],
        ),
      ],
      ['requestPayload', payload],
      [
        'responseContext',
        obj(['statusCode', 200], ['executedVersion', '$LATEST'], ['functionError', 'Unhandled']),
      ],
      ['responsePayload', obj(['errorType', 'StopRetryError'], ['errorMessage', 'stop will be retried'])],
    ),
  );

/** Invocation records nested in invocation records, up to many thousands of levels. */
const deepInvocation: fc.Arbitrary<JsonNode> = fc
  .record({
    depth: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 2, max: 80 }) },
      { weight: 3, arbitrary: fc.integer({ min: 1_000, max: 4_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 4_000, max: 12_000 }) },
    ),
    leaf: fc.oneof(stopRequest, stopEvent, scopeTaskOf(taskRootKey).map(taskBody)),
  })
  .map(({ depth, leaf }): JsonNode => ({ t: 'deep', shape: 'invocation', depth, leaf }));

/** Tasks in Lambda invocation records: up to the 8 wrappings the queue unwraps, and a few past them. */
const wrappedTask: fc.Arbitrary<JsonNode> = fc
  .record({
    depth: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 8 }) },
      { weight: 1, arbitrary: fc.integer({ min: 9, max: 12 }) },
    ),
    leaf: nearScopeTaskBody,
  })
  .map(({ depth, leaf }): JsonNode => ({ t: 'deep', shape: 'invocation', depth, leaf }));

/** Whole payloads that are no event at all. */
export const garbage: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.constantFrom<JsonNode>(
    null,
    0,
    42,
    -1,
    true,
    false,
    '',
    'stop',
    { t: 'raw', text: '1e400' },
    arr(),
    obj(),
  ),
  edgeText,
  jsonJunk,
  deepValue(),
  fc.array(protoEntry, { minLength: 1, maxLength: 3 }).map((entries) => obj(...entries)),
);

// ---------------------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------------------

const jsonForm: fc.Arbitrary<DocForm> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<DocForm>({ k: 'json', ascii: false, indent: false }) },
  { weight: 1, arbitrary: fc.constant<DocForm>({ k: 'json', ascii: true, indent: false }) },
  { weight: 1, arbitrary: fc.constant<DocForm>({ k: 'json', ascii: false, indent: true }) },
);

const jsonDoc = (node: fc.Arbitrary<JsonNode>): fc.Arbitrary<Doc> =>
  fc.tuple(node, jsonForm).map(([n, form]) => ({ node: n, form }));

const plainJson: DocForm = { k: 'json', ascii: false, indent: false };

const MALFORMED_TEXTS = [
  '',
  ' ',
  '{',
  '[',
  '}',
  'NaN',
  'undefined',
  "{'DatabaseName':'sales','TableName':'daily_mv'}",
  '{"DatabaseName":"sales","TableName":"daily_mv",}',
  '\uFEFF{"DatabaseName":"sales","TableName":"daily_mv"}',
  '{"DatabaseName":"sales"}{"TableName":"daily_mv"}',
  '{"DatabaseName":"sales","TableName":"daily_mv"',
  '0x10',
  '"\\ud800"',
  '"\\uDFFF\\uD800"',
  '{"DatabaseName":"\\u0000"}',
  '{"__proto__":{"polluted":"yes"},"DatabaseName":"sales","TableName":"daily_mv"}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '1e400',
  '-0',
  'true',
  'null',
];

const malformedDoc: fc.Arbitrary<Doc> = fc
  .tuple(
    nearStopRequest,
    fc.oneof(
      fc.record({
        k: fc.constant('cut' as const),
        at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      }),
      fc.record({
        k: fc.constant('splice' as const),
        at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        remove: fc.integer({ min: 0, max: 3 }),
        insert: fc.oneof(
          fc.constantFrom(',', '}', '"', '\\', "'", 'NaN', '\uFEFF', '//', '/*', '\u0000'),
          edgeText,
        ),
      }),
      fc.record({
        k: fc.constant('text' as const),
        text: fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...MALFORMED_TEXTS) },
          { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
          { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
        ),
      }),
    ),
  )
  .map(([node, form]) => ({ node, form }));

const FILL_UNITS = ['x', 'é', '€', '😀', '\u0001', '"', '\\', '\uFFFE', '\uD800'];

/** A size to pad to: mostly right at the 1 MiB SQS limit, sometimes anywhere below it. */
const paddedSize = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 1_048_576 - 1_536, max: 1_048_576 }) },
  { weight: 1, arbitrary: fc.integer({ min: 4_096, max: 1_048_576 }) },
);

/** Documents of a chosen size: a field filled until the whole document weighs `padToBytes`. */
const hugeDoc = (base: fc.Arbitrary<ObjectNode>, field: fc.Arbitrary<string>): fc.Arbitrary<Doc> =>
  fc
    .record({
      base,
      field,
      unit: fc.constantFrom(...FILL_UNITS),
      padToBytes: paddedSize,
      asArray: fc.boolean(),
    })
    .map(({ base: node, field: key, unit, padToBytes, asArray }) => ({
      node: withEntry(node, key, asArray ? arr({ t: 'fill', unit }) : { t: 'fill', unit }),
      form: plainJson,
      padToBytes,
    }));

/** A task with one field filled up to the document's size: a PageToken or a Reason far past its limit. */
const hugeTaskDoc: fc.Arbitrary<Doc> = fc
  .record({
    task: scopeTaskOf(taskRootKey),
    field: fc.constantFrom('PageToken', 'Reason', 'Padding'),
    unit: fc.constantFrom(...FILL_UNITS),
    padToBytes: paddedSize,
  })
  .map(({ task, field, unit, padToBytes }) => ({
    node: taskBody(withEntry(task, field, { t: 'fill', unit })),
    form: plainJson,
    padToBytes,
  }));

// ---------------------------------------------------------------------------------------------------
// SQS
// ---------------------------------------------------------------------------------------------------

/** What the stop queue's messages hold: everything a producer or a redrive could put there, and worse. */
export const queueBody: fc.Arbitrary<Doc> = fc.oneof(
  { weight: 60, arbitrary: jsonDoc(nearStopRequest) },
  // The queue function's own tasks: what most of a scope's expansion puts on the queue.
  { weight: 20, arbitrary: jsonDoc(nearScopeTaskBody) },
  { weight: 16, arbitrary: jsonDoc(stopEvent) },
  { weight: 8, arbitrary: jsonDoc(alarmEvent) },
  { weight: 8, arbitrary: jsonDoc(schedulePayload) },
  {
    weight: 8,
    arbitrary: jsonDoc(
      invocationRecord(
        fc.oneof(stopEvent, alarmEvent, schedulePayload, nearStopRequest, nearScopeTaskBody, garbage),
      ),
    ),
  },
  { weight: 3, arbitrary: jsonDoc(wrappedTask) },
  { weight: 5, arbitrary: jsonDoc(deepInvocation) },
  { weight: 3, arbitrary: jsonDoc(deepValue(fc.oneof(stopRequest, fc.constant<JsonNode>(null)))) },
  { weight: 12, arbitrary: malformedDoc },
  { weight: 6, arbitrary: jsonDoc(garbage) },
  // Expensive (up to 1 MiB each): a small share, most of it right at the SQS limit.
  { weight: 1, arbitrary: hugeDoc(nearStopRequest, fc.constantFrom('Reason', 'TableName', 'Padding')) },
  { weight: 1, arbitrary: hugeDoc(stopEvent, fc.constantFrom('resources', 'extra')) },
  { weight: 1, arbitrary: hugeTaskDoc },
);

const SENT_TIMESTAMPS: JsonNode[] = [
  '1e300',
  '-1',
  '0',
  'abc',
  '',
  'Infinity',
  '8640000000000001',
  '99999999999999999999',
  '1.7976931348623157e308',
  '0x10',
  ' 1795922400000 ',
  '1795922400000',
  1795922400000,
  null,
];

const sentTimestamp: fc.Arbitrary<JsonNode> = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: -60_000, max: 0 }).map((o) => now(o, 'millis')) },
  { weight: 1, arbitrary: fc.constantFrom(...SENT_TIMESTAMPS) },
  // The last millisecond Date can hold, and the year 10000: valid dates, extended-year ISO strings.
  { weight: 1, arbitrary: fc.constantFrom<JsonNode>('8640000000000000', '253402300800000') },
);

const sqsRecord = (body: JsonNode, sent: JsonNode): ObjectNode =>
  obj(
    ['messageId', { t: 'fresh', prefix: 'msg' }],
    ['receiptHandle', 'AQEBfuzzReceiptHandle'],
    ['body', body],
    [
      'attributes',
      obj(
        ['ApproximateReceiveCount', '1'],
        ['SentTimestamp', sent],
        ['SenderId', 'AIDAEXAMPLEPRODUCER'],
        ['ApproximateFirstReceiveTimestamp', sent],
      ),
    ],
    ['messageAttributes', obj()],
    ['md5OfBody', '0'.repeat(32)],
    ['eventSource', 'aws:sqs'],
    ['eventSourceARN', `arn:aws:sqs:us-east-1:${OWN_ACCOUNT}:glue-mv-stop-requests`],
    ['awsRegion', 'us-east-1'],
  );

/** A batch of maximal requests written in one character (1 to 4 UTF-8 bytes). */
const maximalBatch: fc.Arbitrary<JsonNode[]> = fc.constantFrom(...MAXIMAL_UNITS).chain((unit) =>
  fc.array(
    fc
      .tuple(maximalRequestOf(unit), sentTimestamp)
      .map(([node, sent]): JsonNode => sqsRecord({ t: 'text', doc: { node, form: plainJson } }, sent)),
    { minLength: 2, maxLength: 10 },
  ),
);

/** A batch of maximal stop tasks (1 to 3): 100 views each, most of them sent on as exact requests. */
const maximalTaskBatch: fc.Arbitrary<JsonNode[]> = fc.constantFrom(...MAXIMAL_UNITS).chain((unit) =>
  fc.array(
    fc
      .tuple(maximalTaskOf(unit), sentTimestamp)
      .map(([node, sent]): JsonNode => sqsRecord({ t: 'text', doc: { node, form: plainJson } }, sent)),
    { minLength: 1, maxLength: 3 },
  ),
);

/**
 * The tasks of one scope in one batch: one root key, views that overlap (they run in parallel, each view
 * under the same key), sometimes the same task twice (a redelivered expansion).
 */
const scopeTaskBatch: fc.Arbitrary<JsonNode[]> = fc
  .tuple(
    fc
      .uuid()
      .chain((id) =>
        fc.array(nearScopeTaskOf(fc.constant<JsonNode>(`root-${id}`), 16), { minLength: 1, maxLength: 5 }),
      ),
    fc.boolean(),
    sentTimestamp,
  )
  .map(([tasks, again, sent]) => {
    const first = tasks[0];
    const all = again && first ? [...tasks, first] : tasks;
    return all.map((task) => sqsRecord({ t: 'text', doc: { node: taskBody(task), form: plainJson } }, sent));
  });

const RECORD_FIELDS = ['messageId', 'body', 'attributes', 'receiptHandle', 'eventSource'];

/** How an SQS record can be broken when something other than the event source mapping invokes. */
const recordBreakage: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom<Mutation>(
    { drop: 'messageId' },
    { set: 'messageId', value: '' },
    { set: 'messageId', value: 42 },
    { set: 'messageId', value: null },
    { drop: 'body' },
    { set: 'body', value: 42 },
    { set: 'body', value: null },
    { set: 'body', value: obj(['DatabaseName', 'sales'], ['TableName', 'daily_mv']) },
    { set: 'body', value: arr() },
    { set: 'body', value: '' },
    { set: 'attributes', value: null },
    { drop: 'attributes' },
    { set: 'attributes', value: 'x' },
  ),
  fc.record({ set: fc.constantFrom(...RECORD_FIELDS), value: wrongType }),
);

const queueRecord: fc.Arbitrary<JsonNode> = fc.oneof(
  {
    weight: 48,
    arbitrary: fc
      .tuple(queueBody, sentTimestamp)
      .map(([doc, sent]): JsonNode => sqsRecord({ t: 'text', doc }, sent)),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(queueBody, sentTimestamp, fc.array(recordBreakage, { minLength: 1, maxLength: 2 }))
      .map(([doc, sent, ms]): JsonNode => applyMutations(sqsRecord({ t: 'text', doc }, sent), ms)),
  },
  { weight: 1, arbitrary: fc.constantFrom<JsonNode>(null, 42, 'record', arr(), obj()) },
);

/** Events a queue handler could be invoked with that are no SQS batch. */
const notABatch: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.constantFrom<JsonNode>(
    null,
    42,
    'Records',
    arr(),
    obj(),
    obj(['Records', null]),
    obj(['Records', obj()]),
    obj(['Records', 'x']),
    obj(['Records', 7]),
    obj(['records', arr()]),
  ),
  garbage,
);

// ---------------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------------

/**
 * A Glue fault. The SDK backs off between its attempts (about 0.1–0.3 s, 0.5–1 s after a throttle), which
 * is most of what a faulted input costs: throttles answer once, the others once, twice or always.
 */
const glueFault: fc.Arbitrary<GlueFaultPlan> = fc
  .record(
    {
      kind: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...GLUE_FAULTS.filter((k) => k !== 'throttle')) },
        { weight: 1, arbitrary: fc.constant('throttle' as const) },
      ),
      times: fc.constantFrom(1, 2, Number.POSITIVE_INFINITY),
      afterOperation: fc.boolean(),
      operation: fc.constantFrom(
        'StopMaterializedViewRefreshTaskRun',
        'ListMaterializedViewRefreshTaskRuns',
        'GetMaterializedViewRefreshTaskRun',
      ),
    },
    { requiredKeys: ['kind', 'times', 'afterOperation'] },
  )
  .map((fault) => (fault.kind === 'throttle' ? { ...fault, times: 1 } : fault));

const plan = (withEventBridgeFaults: boolean): fc.Arbitrary<EnvironmentPlan> =>
  fc
    .record({
      // Mostly every refresh of the pool running (so that requests find something to stop), else a subset.
      running: fc.oneof(
        { weight: 2, arbitrary: fc.constant(RUNNING_POOL.map((_, i) => i)) },
        { weight: 1, arbitrary: fc.subarray(RUNNING_POOL.map((_, i) => i)) },
      ),
      glueFault: fc.oneof(
        { weight: 39, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: glueFault },
      ),
      eventBridgeFault: withEventBridgeFaults
        ? fc.oneof(
            { weight: 60, arbitrary: fc.constant(undefined) },
            // PutEvents answering with failed entries costs nothing; a 500 costs the SDK's back-off.
            { weight: 2, arbitrary: fc.constant('entry-failure' as const) },
            { weight: 1, arbitrary: fc.constant('internal-error' as const) },
          )
        : fc.constant(undefined),
    })
    .map(({ running, glueFault: g, eventBridgeFault: e }) => ({
      running,
      ...(g !== undefined ? { glueFault: g } : {}),
      ...(e !== undefined ? { eventBridgeFault: e } : {}),
    }));

// ---------------------------------------------------------------------------------------------------
// Per handler
// ---------------------------------------------------------------------------------------------------

type Family = readonly [name: string, weight: number, doc: fc.Arbitrary<Doc>];

const family = (name: string, weight: number, doc: fc.Arbitrary<Doc>): Family => [name, weight, doc];

const inputOf = (families: readonly Family[], withEventBridgeFaults: boolean): fc.Arbitrary<FuzzInput> =>
  fc
    .tuple(
      fc.oneof(
        ...families.map(([name, weight, doc]) => ({
          weight,
          arbitrary: doc.map((d) => ({ family: name, doc: d })),
        })),
      ),
      plan(withEventBridgeFaults),
    )
    .map(([{ family: name, doc }, p]) => ({ family: name, doc, plan: p }));

const batch = (records: fc.Arbitrary<JsonNode[]>): fc.Arbitrary<Doc> =>
  records.map((items) => ({ node: obj(['Records', { t: 'arr', items }]), form: plainJson }));

/** What the other handlers' triggers deliver, and the on-failure records around them. */
const foreignShapes = (own: HandlerName): fc.Arbitrary<JsonNode> =>
  fc.oneof(
    ...[
      own === 'stopFromEvent' ? undefined : stopEvent,
      own === 'stopFromAlarm' ? undefined : alarmEvent,
      own === 'stopFromSchedule' ? undefined : schedulePayload,
      own === 'stopFromQueue'
        ? undefined
        : fc
            .tuple(queueBody, sentTimestamp)
            .map(([doc, sent]): JsonNode => obj(['Records', arr(sqsRecord({ t: 'text', doc }, sent))])),
      invocationRecord(fc.oneof(stopEvent, alarmEvent, schedulePayload)),
    ].filter((a): a is fc.Arbitrary<JsonNode> => a !== undefined),
  );

/** The families every asynchronous trigger gets besides its own shape. */
const commonFamilies = (
  own: HandlerName,
  ownShape: fc.Arbitrary<ObjectNode>,
  hugeField: string,
): Family[] => [
  family('other triggers', 8, jsonDoc(foreignShapes(own))),
  family('garbage', 6, jsonDoc(garbage)),
  family('deep', 4, jsonDoc(deepValue(fc.oneof(ownShape, fc.constant<JsonNode>(null))))),
  family(
    'prototype keys',
    3,
    fc.tuple(ownShape, fc.array(protoEntry, { minLength: 1, maxLength: 2 })).map(([node, entries]) => ({
      node: { t: 'obj', entries: [...entries, ...node.entries] },
      form: plainJson,
    })),
  ),
  family('huge', 1, hugeDoc(ownShape, fc.constantFrom(hugeField, 'extra'))),
];

export const arbitraryFor = (handler: HandlerName): fc.Arbitrary<FuzzInput> => {
  switch (handler) {
    case 'stopFromQueue':
      return inputOf(
        [
          family('batch', 40, batch(fc.array(queueRecord, { minLength: 1, maxLength: 2 }))),
          family('large batch', 6, batch(fc.array(queueRecord, { minLength: 3, maxLength: 10 }))),
          family('maximal batch', 1, batch(maximalBatch)),
          family('scope tasks', 6, batch(scopeTaskBatch)),
          family('maximal task', 1, batch(maximalTaskBatch)),
          family('empty batch', 1, fc.constant({ node: obj(['Records', arr()]), form: plainJson })),
          family('not a batch', 4, jsonDoc(notABatch)),
          family('other triggers', 3, jsonDoc(foreignShapes('stopFromQueue'))),
        ],
        false,
      );
    case 'stopFromEvent':
      return inputOf(
        [
          family('stop event', 60, jsonDoc(stopEvent)),
          family(
            'maximal stop event',
            1,
            fc
              .tuple(stopEvent, maximalRequest)
              .map(([event, detail]) => ({ node: withEntry(event, 'detail', detail), form: plainJson })),
          ),
          ...commonFamilies('stopFromEvent', stopEvent, 'resources'),
        ],
        true,
      );
    case 'stopFromAlarm':
      return inputOf(
        [
          family('alarm', 60, jsonDoc(alarmEvent)),
          ...commonFamilies('stopFromAlarm', alarmEvent, 'resources'),
        ],
        true,
      );
    case 'stopFromSchedule':
      return inputOf(
        [
          family('window', 60, jsonDoc(schedulePayload)),
          ...commonFamilies('stopFromSchedule', schedulePayload, 'scheduleArn'),
        ],
        true,
      );
  }
};
