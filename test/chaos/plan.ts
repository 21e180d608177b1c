/**
 * What the chaos suite does, decided from the seed alone (pure functions, no I/O): the requests, which of
 * them are poison and which are delivered twice, the Glue fault mix, and which invocations are killed when.
 * The same seed gives the same plan; faults are drawn per view and operation (`seededFaults` keyed by
 * table), so a request meets the same faults whatever the other requests do in between.
 */
import { type FaultHookCall, type FaultRate, seededUnit } from '../../local/glue-emulator.ts';

export const CHAOS_DATABASE = 'chaos';

/**
 * - `view`: a running materialized view, to be stopped.
 * - `not-a-view`: poison, a plain table (Glue answers InvalidInputException): must be parked with a reason.
 * - `denied`: poison, a view the function may not touch (AccessDeniedException): parked with a reason.
 */
export type RequestKind = 'view' | 'not-a-view' | 'denied';

export interface PlannedRequest {
  readonly index: number;
  readonly kind: RequestKind;
  readonly tableName: string;
  /** Sent with this IdempotencyKey (else the SQS message id is the key). */
  readonly idempotencyKey?: string;
  /** Sent with IssuedAt (the run guard: a run that started later is not stopped). */
  readonly issuedAt: boolean;
  /** Delivered again once handled, after a new run of the view has started. */
  readonly duplicate: boolean;
}

export interface PlanShares {
  readonly poison: number;
  readonly duplicate: number;
  readonly idempotencyKey: number;
  readonly issuedAt: number;
}

export const DEFAULT_SHARES: PlanShares = {
  poison: 0.01,
  duplicate: 0.05,
  idempotencyKey: 0.5,
  issuedAt: 0.5,
};

/** `count` of `candidates`, chosen by the seed (a seeded shuffle, then the first ones), in index order. */
export const chooseSome = (
  seed: number,
  label: string,
  candidates: readonly number[],
  count: number,
): number[] =>
  [...candidates]
    .sort((a, b) => seededUnit(seed, label, a) - seededUnit(seed, label, b))
    .slice(0, Math.max(0, Math.min(count, candidates.length)))
    .sort((a, b) => a - b);

const pad = (n: number) => String(n).padStart(5, '0');

export const planRequests = (
  seed: number,
  count: number,
  shares: PlanShares = DEFAULT_SHARES,
): PlannedRequest[] => {
  const all = Array.from({ length: count }, (_, i) => i);
  const poison = chooseSome(seed, 'poison', all, Math.round(count * shares.poison));
  const poisonKind = new Map(
    poison.map((index, n) => [index, n % 2 === 0 ? 'not-a-view' : 'denied'] as const),
  );
  const views = all.filter((i) => !poisonKind.has(i));
  const duplicates = new Set(chooseSome(seed, 'duplicate', views, Math.round(count * shares.duplicate)));
  return all.map((index): PlannedRequest => {
    const kind: RequestKind = poisonKind.get(index) ?? 'view';
    const withKey = seededUnit(seed, 'idempotency-key', index) < shares.idempotencyKey;
    // A plain table has no runs: with a run guard the request would end as not-running, never reaching
    // the stop that Glue refuses. Poison of that kind is sent unguarded.
    const issuedAt = kind !== 'not-a-view' && seededUnit(seed, 'issued-at', index) < shares.issuedAt;
    const tableName =
      kind === 'view'
        ? `mv_${pad(index)}`
        : kind === 'denied'
          ? `denied_mv_${pad(index)}`
          : `plain_${pad(index)}`;
    return {
      index,
      kind,
      tableName,
      ...(withKey ? { idempotencyKey: `chaos-${seed}-${pad(index)}` } : {}),
      issuedAt,
      duplicate: duplicates.has(index),
    };
  });
};

/** The message body a producer sends for a planned request. */
export const requestBody = (request: PlannedRequest, issuedAt: string): Record<string, string> => ({
  DatabaseName: CHAOS_DATABASE,
  TableName: request.tableName,
  ...(request.idempotencyKey !== undefined ? { IdempotencyKey: request.idempotencyKey } : {}),
  ...(request.issuedAt ? { IssuedAt: issuedAt } : {}),
  Reason: 'chaos suite',
  RequestedBy: 'chaos',
});

/** One kind of Glue fault in the mix, with what the chaos table calls it. */
export interface ChaosFault extends FaultRate {
  readonly label: string;
}

/** Longer than any per-attempt timeout the functions' Glue client uses (6 s, then 3 s): a late answer. */
export const DELAY_BEYOND_SOCKET_TIMEOUT_MS = 10_000;

/**
 * The fault mix, per Glue call (every attempt draws): 30 % throttling, 10 % 5xx, 5 %
 * OperationTimeout, 5 % connection reset (half of them after the operation took effect: the answer is
 * lost), 2 % answers later than the socket timeout (the operation takes effect on arrival), 0.5 % calls
 * that never answer. Poison (1 %) is a property of requests, not calls: see `planRequests`.
 */
export const glueFaultMix = (delayMs: number = DELAY_BEYOND_SOCKET_TIMEOUT_MS): readonly ChaosFault[] => [
  { label: 'throttling (400 ThrottlingException)', kind: 'throttle', rate: 0.3 },
  { label: '5xx (500 InternalServiceException)', kind: 'internal-error', rate: 0.05 },
  { label: '5xx (503 ServiceUnavailableException)', kind: 'service-unavailable', rate: 0.05 },
  { label: 'OperationTimeoutException (400)', kind: 'operation-timeout', rate: 0.05 },
  { label: 'connection reset, before the operation', kind: 'connection-reset', rate: 0.025 },
  {
    label: 'connection reset, after the operation (answer lost)',
    kind: 'connection-reset',
    rate: 0.025,
    afterOperation: true,
  },
  {
    label: `answer delayed ${delayMs / 1000} s (beyond the socket timeout)`,
    kind: 'delay',
    rate: 0.02,
    delayMs,
  },
  { label: 'no answer at all (hangs past the function timeout)', kind: 'hang', rate: 0.005 },
];

/** The label of the fault a decision stands for (`undefined`: not one of the mix). */
export const faultLabel = (
  mix: readonly ChaosFault[],
  decision: { kind: string; afterOperation?: boolean },
): string | undefined =>
  mix.find(
    (f) => f.kind === decision.kind && (f.afterOperation ?? false) === (decision.afterOperation ?? false),
  )?.label;

/** Faults are drawn per operation and view: a request meets the same faults whatever else runs. */
export const faultKey = (call: FaultHookCall): string =>
  `${call.operation}\u0000${String(call.input.DatabaseName ?? '')}\u0000${String(call.input.TableName ?? '')}`;

export const KILL_SHARE = 0.02;

/** When invocation `sequence` is SIGKILLed (ms after it started), or `undefined` if it is not. */
export const killAfterMs = (
  seed: number,
  sequence: number,
  windowMs: number,
  share: number = KILL_SHARE,
): number | undefined =>
  seededUnit(seed, 'kill', sequence) < share
    ? Math.floor(seededUnit(seed, 'kill-at', sequence) * windowMs)
    : undefined;

/** How long after its first successful handling a duplicate is delivered. */
export const duplicateDelayMs = (seed: number, index: number, maxMs = 3_000): number =>
  Math.floor(seededUnit(seed, 'duplicate-delay', index) * maxMs);

/**
 * Scope requests (`TableNames`): each covers a group of running views of its own. Half of them name a
 * glob over the views' prefix in the shared database (`chaos`, where the exact requests' views run too, so
 * the listing spans two pages and pages move while new runs start), half a database of their own (`*`).
 *
 * - `view`: running, to be stopped.
 * - `finished`: its run ends (SUCCEEDED) before the scope is expanded, or while its tasks run: not-running
 *   or stopped are both right.
 * - `replaced`: its run ends and a newer one starts after the scope's IssuedAt, before the scope is
 *   expanded or just before the first task naming the view is delivered: the newer run must not be stopped.
 * - `denied`: poison inside a scope, a view the function may not touch (AccessDeniedException): it must be
 *   parked with a reason, as an exact request under the view's own key.
 */
export type ScopeViewKind = 'view' | 'finished' | 'replaced' | 'denied';

/**
 * When a `finished` or `replaced` view's run changes: before the drain starts (the expansion sees it), just
 * before the first task naming the view is delivered (`replaced` only), or at a seeded moment after the
 * scope was expanded (`finished` only: it races the task, and either end is right).
 */
export type ScopeViewChange = 'before-expansion' | 'before-task' | 'after-expansion';

export interface PlannedScopeView {
  readonly tableName: string;
  readonly kind: ScopeViewKind;
  readonly change?: ScopeViewChange;
  /** `after-expansion`: how long after the scope was first handled. */
  readonly changeAfterMs?: number;
}

export interface PlannedScope {
  readonly index: number;
  /** `glob`: `scope_NNNN_*` in the shared database; `database`: `*` in a database of its own. */
  readonly layout: 'glob' | 'database';
  readonly databaseName: string;
  readonly tableNames: readonly string[];
  readonly views: readonly PlannedScopeView[];
  readonly idempotencyKey?: string;
  /** Sent with IssuedAt; without, the queue function takes the message's SentTimestamp. */
  readonly issuedAt: boolean;
  /** Delivered again once handled, after new runs of its settled views started. */
  readonly duplicate: boolean;
  /** Sent right after the exact request with this index (-1: before the first). */
  readonly sendAfter: number;
}

export interface ScopeShares {
  readonly viewsMin: number;
  readonly viewsMax: number;
  /** Of all scope views. */
  readonly finished: number;
  readonly replaced: number;
  readonly denied: number;
  /** Of the scopes. */
  readonly duplicate: number;
  readonly ownDatabase: number;
  readonly idempotencyKey: number;
  readonly issuedAt: number;
  /** Of the stop tasks the queue function sends itself (decided per task, from its views). */
  readonly taskDuplicate: number;
}

export const DEFAULT_SCOPE_SHARES: ScopeShares = {
  viewsMin: 10,
  viewsMax: 50,
  finished: 0.08,
  replaced: 0.08,
  denied: 0.02,
  duplicate: 0.2,
  ownDatabase: 0.5,
  idempotencyKey: 0.5,
  issuedAt: 0.5,
  taskDuplicate: 0.1,
};

const pad4 = (n: number) => String(n).padStart(4, '0');

/** The shared database's glob for scope `index`: `scope_0007_*`. */
export const scopePrefix = (index: number): string => `scope_${pad4(index)}_`;

/** The scopes, decided by the seed; `exactCount` places them among the exact requests' sends. */
export const planScopes = (
  seed: number,
  count: number,
  exactCount: number,
  shares: ScopeShares = DEFAULT_SCOPE_SHARES,
): PlannedScope[] => {
  const span = shares.viewsMax - shares.viewsMin + 1;
  const sizes = Array.from(
    { length: count },
    (_, i) => shares.viewsMin + Math.floor(seededUnit(seed, 'scope-size', i) * span),
  );
  // Kinds are chosen over every scope view at once, so that the shares hold for the whole run.
  const all = sizes.flatMap((size, scope) => Array.from({ length: size }, (_, view) => ({ scope, view })));
  const ids = all.map((_, i) => i);
  const denied = new Set(chooseSome(seed, 'scope-denied', ids, Math.round(all.length * shares.denied)));
  const rest = ids.filter((i) => !denied.has(i));
  const finished = new Set(
    chooseSome(seed, 'scope-finished', rest, Math.round(all.length * shares.finished)),
  );
  const replaced = new Set(
    chooseSome(
      seed,
      'scope-replaced',
      rest.filter((i) => !finished.has(i)),
      Math.round(all.length * shares.replaced),
    ),
  );
  const duplicates = new Set(
    chooseSome(
      seed,
      'scope-duplicate',
      sizes.map((_, i) => i),
      Math.round(count * shares.duplicate),
    ),
  );
  const ownDatabase = new Set(
    chooseSome(
      seed,
      'scope-layout',
      sizes.map((_, i) => i),
      Math.round(count * shares.ownDatabase),
    ),
  );
  let id = 0;
  return sizes.map((size, index): PlannedScope => {
    const layout = ownDatabase.has(index) ? 'database' : 'glob';
    const views = Array.from({ length: size }, (_, view): PlannedScopeView => {
      const at = id++;
      const tableName = `${scopePrefix(index)}v${pad4(view)}`;
      const early = seededUnit(seed, 'scope-change', at) < 0.5;
      if (denied.has(at)) return { tableName, kind: 'denied' };
      if (finished.has(at)) {
        return early
          ? { tableName, kind: 'finished', change: 'before-expansion' }
          : {
              tableName,
              kind: 'finished',
              change: 'after-expansion',
              changeAfterMs: Math.floor(seededUnit(seed, 'scope-change-at', at) * 5_000),
            };
      }
      if (replaced.has(at)) {
        return { tableName, kind: 'replaced', change: early ? 'before-expansion' : 'before-task' };
      }
      return { tableName, kind: 'view' };
    });
    const withKey = seededUnit(seed, 'scope-idempotency-key', index) < shares.idempotencyKey;
    return {
      index,
      layout,
      databaseName: layout === 'glob' ? CHAOS_DATABASE : `${CHAOS_DATABASE}_scope_${pad4(index)}`,
      tableNames: layout === 'glob' ? [`${scopePrefix(index)}*`] : ['*'],
      views,
      ...(withKey ? { idempotencyKey: `chaos-${seed}-scope-${pad4(index)}` } : {}),
      issuedAt: seededUnit(seed, 'scope-issued-at', index) < shares.issuedAt,
      duplicate: duplicates.has(index),
      sendAfter: Math.floor(seededUnit(seed, 'scope-send-after', index) * (exactCount + 1)) - 1,
    };
  });
};

/** The message body a producer sends for a planned scope. */
export const scopeRequestBody = (
  scope: PlannedScope,
  issuedAt: string,
): Record<string, string | readonly string[]> => ({
  DatabaseName: scope.databaseName,
  TableNames: scope.tableNames,
  ...(scope.idempotencyKey !== undefined ? { IdempotencyKey: scope.idempotencyKey } : {}),
  ...(scope.issuedAt ? { IssuedAt: issuedAt } : {}),
  Reason: 'chaos suite',
  RequestedBy: 'chaos',
});

/** Whether a stop task the queue function sent itself is delivered twice (decided by its views). */
export const duplicatesTask = (
  seed: number,
  views: readonly string[],
  share: number = DEFAULT_SCOPE_SHARES.taskDuplicate,
): boolean => seededUnit(seed, 'task-duplicate', [...views].sort().join(',')) < share;

/** One message of the run, in the order producers send them. */
export type PlannedMessage =
  | { readonly kind: 'exact'; readonly request: PlannedRequest }
  | { readonly kind: 'scope'; readonly scope: PlannedScope };

/** Exact requests in their order, each scope right after the exact request it is placed after. */
export const sendOrder = (
  requests: readonly PlannedRequest[],
  scopes: readonly PlannedScope[],
): PlannedMessage[] => {
  const after = new Map<number, PlannedScope[]>();
  for (const scope of scopes) after.set(scope.sendAfter, [...(after.get(scope.sendAfter) ?? []), scope]);
  return [
    ...(after.get(-1) ?? []).map((scope) => ({ kind: 'scope', scope }) as const),
    ...requests.flatMap((request) => [
      { kind: 'exact', request } as const,
      ...(after.get(request.index) ?? []).map((scope) => ({ kind: 'scope', scope }) as const),
    ]),
  ];
};
