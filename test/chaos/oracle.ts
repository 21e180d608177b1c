/**
 * The chaos suite's oracle: from what the emulators recorded (runs, accepted stops) and what the
 * dead-letter queue holds, how each request ended, and whether the suite's targets were met. Pure data in,
 * pure data out.
 *
 * - **stopped**: the view's run (the one running when the request was issued) was stopped.
 * - **not-running**: that run is no longer running, though no stop was accepted for it.
 * - **parked**: the request is in the dead-letter queue with a reason (`glue-mv-stop.reason`).
 * - **redriven**: the request is in the dead-letter queue without a reason: the queue's redrive policy
 *   gave up on it after `maxReceiveCount` receives.
 * - **nowhere**: none of these: the run still runs and the request is gone.
 *
 * Targets: 0 lost (a request that is not poison, whose run was not stopped, and that is not parked with a
 * reason: redriven or nowhere); 0 double stops (a run stopped more than once, or the run started after a
 * request was handled stopped by its duplicate delivery); every request stopped-or-parked (stopped,
 * not-running or parked; poison must be parked).
 */
import type { RequestKind, ScopeViewKind } from './plan.ts';

export type RequestEnd = 'stopped' | 'not-running' | 'parked' | 'redriven' | 'nowhere';

export interface OracleRequest {
  readonly index: number;
  readonly kind: RequestKind;
  readonly tableName: string;
  /** The run the request was meant to stop (none for a plain table). */
  readonly runId?: string;
  /** The run started after the first delivery was handled, before the duplicate delivery. */
  readonly duplicateRunId?: string;
}

export interface OracleRun {
  readonly status: string;
  /** Stops Glue accepted for this run (from the emulator's call log). */
  readonly acceptedStops: number;
}

/** A dead-letter queue message, reduced to what the oracle needs. */
export interface DeadLetter {
  /** `TableName` of the body, when it parses. */
  readonly tableName?: string;
  /** `glue-mv-stop.reason`, when present. */
  readonly reason?: string;
  /**
   * What the body is: an exact request (`TableName`), a scope request (`TableNames`), a scope task
   * (`{"ScopeTask": …}`), or anything else. Absent: an exact request or nothing (the exact part's view).
   */
  readonly shape?: 'exact' | 'scope' | 'task' | 'other';
  readonly databaseName?: string;
  /** A scope's or a task's `TableNames`. */
  readonly tableNames?: readonly string[];
  /** A stop task's views. */
  readonly views?: readonly string[];
  /** `IdempotencyKey` and `ParentIdempotencyKey` of the body. */
  readonly idempotencyKey?: string;
  readonly parentIdempotencyKey?: string;
}

export interface OracleInput {
  readonly requests: readonly OracleRequest[];
  readonly runs: ReadonlyMap<string, OracleRun>;
  readonly deadLetters: readonly DeadLetter[];
}

export interface RequestVerdict {
  readonly index: number;
  readonly kind: RequestKind;
  readonly end: RequestEnd;
  /** The reason it was parked with, when parked. */
  readonly reason?: string;
  readonly lost: boolean;
  /** Runs of this request's view that were stopped more than once, or stopped though they must not be. */
  readonly doubleStops: number;
  readonly stoppedOrParked: boolean;
  /** A view request parked with a reason instead of stopped (refused though it was valid). */
  readonly refusedView: boolean;
}

export interface OracleResult {
  readonly verdicts: readonly RequestVerdict[];
  readonly ends: Readonly<Record<RequestEnd, number>>;
  readonly lost: number;
  readonly lostRedriven: number;
  readonly lostNowhere: number;
  readonly doubleStops: number;
  readonly stoppedOrParked: number;
  readonly poison: number;
  readonly poisonParked: number;
  readonly refusedViews: number;
  /** Parked reasons and how often. */
  readonly parkedReasons: Readonly<Record<string, number>>;
  /** Dead-letter messages that belong to no request. */
  readonly strayDeadLetters: number;
}

const STOPPED = 'STOPPED';
const ACTIVE = new Set(['STARTING', 'RUNNING']);

export const judge = (input: OracleInput): OracleResult => {
  const byTable = new Map<string, DeadLetter[]>();
  const known = new Set(input.requests.map((r) => r.tableName));
  let strayDeadLetters = 0;
  for (const letter of input.deadLetters) {
    if (letter.tableName === undefined || !known.has(letter.tableName)) {
      strayDeadLetters += 1;
      continue;
    }
    byTable.set(letter.tableName, [...(byTable.get(letter.tableName) ?? []), letter]);
  }

  const verdicts = input.requests.map((request): RequestVerdict => {
    const run = request.runId !== undefined ? input.runs.get(request.runId) : undefined;
    const letters = byTable.get(request.tableName) ?? [];
    const parkedWith = letters.find((l) => l.reason !== undefined)?.reason;
    let end: RequestEnd;
    if (run && run.status === STOPPED && run.acceptedStops > 0) end = 'stopped';
    else if (run && !ACTIVE.has(run.status)) end = 'not-running';
    else if (parkedWith !== undefined) end = 'parked';
    else if (letters.length > 0) end = 'redriven';
    else end = 'nowhere';

    const duplicateRun =
      request.duplicateRunId !== undefined ? input.runs.get(request.duplicateRunId) : undefined;
    const doubleStops =
      (run && run.acceptedStops > 1 ? 1 : 0) +
      (duplicateRun && (duplicateRun.acceptedStops > 0 || duplicateRun.status === STOPPED) ? 1 : 0);

    const poison = request.kind !== 'view';
    const lost = !poison && (end === 'redriven' || end === 'nowhere');
    const stoppedOrParked = poison
      ? end === 'parked'
      : end === 'stopped' || end === 'not-running' || end === 'parked';
    return {
      index: request.index,
      kind: request.kind,
      end,
      ...(end === 'parked' && parkedWith !== undefined ? { reason: parkedWith } : {}),
      lost,
      doubleStops,
      stoppedOrParked,
      refusedView: !poison && end === 'parked',
    };
  });

  const ends: Record<RequestEnd, number> = {
    stopped: 0,
    'not-running': 0,
    parked: 0,
    redriven: 0,
    nowhere: 0,
  };
  const parkedReasons: Record<string, number> = {};
  for (const v of verdicts) {
    ends[v.end] += 1;
    if (v.reason !== undefined) parkedReasons[v.reason] = (parkedReasons[v.reason] ?? 0) + 1;
  }
  const count = (predicate: (v: RequestVerdict) => boolean) => verdicts.filter(predicate).length;
  return {
    verdicts,
    ends,
    lost: count((v) => v.lost),
    lostRedriven: count((v) => v.lost && v.end === 'redriven'),
    lostNowhere: count((v) => v.lost && v.end === 'nowhere'),
    doubleStops: verdicts.reduce((sum, v) => sum + v.doubleStops, 0),
    stoppedOrParked: count((v) => v.stoppedOrParked),
    poison: count((v) => v.kind !== 'view'),
    poisonParked: count((v) => v.kind !== 'view' && v.end === 'parked'),
    refusedViews: count((v) => v.refusedView),
    parkedReasons,
    strayDeadLetters,
  };
};

/** Accepted stops per run, from the Glue emulator's call log (`runId` is set on calls that acted). */
export const acceptedStopsByRun = (
  calls: readonly { readonly operation: string; readonly runId?: string }[],
): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const call of calls) {
    if (call.operation !== 'StopMaterializedViewRefreshTaskRun' || call.runId === undefined) continue;
    counts.set(call.runId, (counts.get(call.runId) ?? 0) + 1);
  }
  return counts;
};

/**
 * One view of a scope request, as the oracle sees it.
 *
 * Ends are those of an exact request. Targets: 0 lost (a view that is not denied, whose run was not
 * stopped and did not end, and that is not parked with a reason); 0 double stops (a run stopped more than
 * once); 0 newer runs stopped (a run that started after the scope's IssuedAt: a replacement, or one started
 * before a duplicate delivery); every view stopped-or-parked (denied views must be parked); and every
 * denied view that Glue refused parked as an exact request under its own key, the scope's key its parent.
 */
export interface ScopeViewFacts {
  readonly scope: number;
  readonly tableName: string;
  readonly kind: ScopeViewKind;
  /** The run that was running when the scope was issued. */
  readonly runId: string;
  /** Runs of the view that started after the scope's IssuedAt. */
  readonly newerRunIds: readonly string[];
  /** Glue refused a call naming the view (AccessDeniedException): the stack learnt it is denied. */
  readonly refusedByGlue?: boolean;
}

/** What a scope's dead letters are matched by. */
export interface ScopeFacts {
  readonly index: number;
  readonly databaseName: string;
  readonly tableNames: readonly string[];
  /** The key the views' keys derive from: `key:<IdempotencyKey>`, else `message:<MessageId>`. */
  readonly key?: string;
}

export interface ScopeOracleInput {
  readonly scopes: readonly ScopeFacts[];
  readonly views: readonly ScopeViewFacts[];
  readonly runs: ReadonlyMap<string, OracleRun>;
  /** The dead letters that belong to a scope (`scopeViewsOf` names their views). */
  readonly deadLetters: readonly DeadLetter[];
}

export interface ScopeViewVerdict {
  readonly scope: number;
  readonly tableName: string;
  readonly kind: ScopeViewKind;
  readonly end: RequestEnd;
  readonly reason?: string;
  /** How the view was parked: as an exact request of its own, inside a task, or with its whole scope. */
  readonly parkedAs?: 'view' | 'task' | 'scope';
  /** Parked as an exact request under the view's own key (`scope-…`), its parent the scope's key. */
  readonly parkedUnderViewKey: boolean;
  readonly refusedByGlue: boolean;
  /** Dead letters with a reason that name the view. */
  readonly parkings: number;
  readonly lost: boolean;
  /** Runs of the view stopped more than once. */
  readonly doubleStops: number;
  /** Runs that started after the scope's IssuedAt and were stopped. */
  readonly newerRunsStopped: number;
  readonly stoppedOrParked: boolean;
  /** A view that was not denied, parked instead of stopped. */
  readonly refusedView: boolean;
}

export interface ScopeOracleResult {
  readonly verdicts: readonly ScopeViewVerdict[];
  readonly ends: Readonly<Record<RequestEnd, number>>;
  readonly byKind: Readonly<Record<ScopeViewKind, Readonly<Record<RequestEnd, number>>>>;
  readonly lost: number;
  readonly lostRedriven: number;
  readonly lostNowhere: number;
  readonly doubleStops: number;
  readonly newerRuns: number;
  readonly newerRunsStopped: number;
  readonly stoppedOrParked: number;
  readonly denied: number;
  readonly deniedParked: number;
  readonly deniedParkedUnderViewKey: number;
  /** Denied views Glue refused (the others were parked, whole, with the task or scope that named them). */
  readonly deniedRefused: number;
  readonly deniedRefusedParkedUnderViewKey: number;
  /** Parked views by how they were parked. */
  readonly parkedAs: Readonly<Record<'view' | 'task' | 'scope', number>>;
  readonly refusedViews: number;
  /** Views parked more than once (each parking has a reason; informational). */
  readonly parkedMoreThanOnce: number;
  readonly parkedReasons: Readonly<Record<string, number>>;
}

const matchesPattern = (pattern: string, name: string): boolean =>
  new RegExp(
    `^${[...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('')}$`,
    's',
  ).test(name);

/**
 * The scope views a dead letter names: an exact request's view, a stop task's views, or every view of the
 * scope a scope request (or a list task) covers. `undefined`: the letter belongs to no scope.
 */
export const scopeViewsOf = (
  letter: DeadLetter,
  scopes: readonly ScopeFacts[],
  viewsByScope: ReadonlyMap<number, readonly string[]>,
  scopeTables: ReadonlySet<string>,
): { readonly views: readonly string[]; readonly as: 'view' | 'task' | 'scope' } | undefined => {
  if (letter.shape === 'exact' || (letter.shape === undefined && letter.tableName !== undefined)) {
    return letter.tableName !== undefined && scopeTables.has(letter.tableName)
      ? { views: [letter.tableName], as: 'view' }
      : undefined;
  }
  if (letter.shape === 'task' && letter.views !== undefined) {
    const views = letter.views.filter((v) => scopeTables.has(v));
    return views.length > 0 ? { views, as: 'task' } : undefined;
  }
  if ((letter.shape === 'scope' || letter.shape === 'task') && letter.tableNames !== undefined) {
    const patterns = letter.tableNames;
    const views = scopes
      .filter((s) => s.databaseName === letter.databaseName)
      .flatMap((s) => viewsByScope.get(s.index) ?? [])
      .filter((v) => patterns.some((p) => matchesPattern(p, v)));
    return views.length > 0 ? { views, as: letter.shape === 'task' ? 'task' : 'scope' } : undefined;
  }
  return undefined;
};

const noEnds = (): Record<RequestEnd, number> => ({
  stopped: 0,
  'not-running': 0,
  parked: 0,
  redriven: 0,
  nowhere: 0,
});

export const judgeScopes = (input: ScopeOracleInput): ScopeOracleResult => {
  const viewsByScope = new Map<number, string[]>();
  for (const v of input.views) viewsByScope.set(v.scope, [...(viewsByScope.get(v.scope) ?? []), v.tableName]);
  const scopeTables = new Set(input.views.map((v) => v.tableName));
  const keyOf = new Map(input.scopes.map((s) => [s.index, s.key]));
  const letters = new Map<string, { letter: DeadLetter; as: 'view' | 'task' | 'scope' }[]>();
  for (const letter of input.deadLetters) {
    const named = scopeViewsOf(letter, input.scopes, viewsByScope, scopeTables);
    for (const view of named?.views ?? []) {
      letters.set(view, [...(letters.get(view) ?? []), { letter, as: named?.as ?? 'view' }]);
    }
  }

  const verdicts = input.views.map((view): ScopeViewVerdict => {
    const run = input.runs.get(view.runId);
    const mine = letters.get(view.tableName) ?? [];
    const parked = mine.filter((l) => l.letter.reason !== undefined);
    const first = parked[0];
    let end: RequestEnd;
    if (run && run.status === STOPPED && run.acceptedStops > 0) end = 'stopped';
    else if (run && !ACTIVE.has(run.status)) end = 'not-running';
    else if (first) end = 'parked';
    else if (mine.length > 0) end = 'redriven';
    else end = 'nowhere';

    const scopeKey = keyOf.get(view.scope);
    const parkedUnderViewKey = parked.some(
      (l) =>
        l.as === 'view' &&
        /^scope-[0-9a-f]{64}$/.test(l.letter.idempotencyKey ?? '') &&
        scopeKey !== undefined &&
        l.letter.parentIdempotencyKey === scopeKey,
    );
    const newerRunsStopped = view.newerRunIds.filter((id) => {
      const newer = input.runs.get(id);
      return newer !== undefined && (newer.acceptedStops > 0 || newer.status === STOPPED);
    }).length;
    const runs = [view.runId, ...view.newerRunIds].map((id) => input.runs.get(id));
    const doubleStops = runs.filter((r) => r !== undefined && r.acceptedStops > 1).length;
    const denied = view.kind === 'denied';
    const lost = !denied && (end === 'redriven' || end === 'nowhere');
    return {
      scope: view.scope,
      tableName: view.tableName,
      kind: view.kind,
      end,
      ...(end === 'parked' && first?.letter.reason !== undefined ? { reason: first.letter.reason } : {}),
      ...(end === 'parked' && first ? { parkedAs: first.as } : {}),
      parkedUnderViewKey: end === 'parked' && parkedUnderViewKey,
      refusedByGlue: view.refusedByGlue === true,
      parkings: parked.length,
      lost,
      doubleStops,
      newerRunsStopped,
      stoppedOrParked: denied ? end === 'parked' : end !== 'redriven' && end !== 'nowhere',
      refusedView: !denied && end === 'parked',
    };
  });

  const ends = noEnds();
  const byKind: Record<ScopeViewKind, Record<RequestEnd, number>> = {
    view: noEnds(),
    finished: noEnds(),
    replaced: noEnds(),
    denied: noEnds(),
  };
  const parkedReasons: Record<string, number> = {};
  const parkedAs = { view: 0, task: 0, scope: 0 };
  for (const v of verdicts) {
    if (v.parkedAs !== undefined) parkedAs[v.parkedAs] += 1;
    ends[v.end] += 1;
    byKind[v.kind][v.end] += 1;
    if (v.reason !== undefined) parkedReasons[v.reason] = (parkedReasons[v.reason] ?? 0) + 1;
  }
  const count = (predicate: (v: ScopeViewVerdict) => boolean) => verdicts.filter(predicate).length;
  const sum = (field: (v: ScopeViewVerdict) => number) => verdicts.reduce((n, v) => n + field(v), 0);
  return {
    verdicts,
    ends,
    byKind,
    lost: count((v) => v.lost),
    lostRedriven: count((v) => v.lost && v.end === 'redriven'),
    lostNowhere: count((v) => v.lost && v.end === 'nowhere'),
    doubleStops: sum((v) => v.doubleStops),
    newerRuns: input.views.reduce((n, v) => n + v.newerRunIds.length, 0),
    newerRunsStopped: sum((v) => v.newerRunsStopped),
    stoppedOrParked: count((v) => v.stoppedOrParked),
    denied: count((v) => v.kind === 'denied'),
    deniedParked: count((v) => v.kind === 'denied' && v.end === 'parked'),
    deniedParkedUnderViewKey: count((v) => v.kind === 'denied' && v.parkedUnderViewKey),
    deniedRefused: count((v) => v.kind === 'denied' && v.refusedByGlue),
    deniedRefusedParkedUnderViewKey: count(
      (v) => v.kind === 'denied' && v.refusedByGlue && v.parkedUnderViewKey,
    ),
    parkedAs,
    refusedViews: count((v) => v.refusedView),
    parkedMoreThanOnce: count((v) => v.parkings > 1),
    parkedReasons,
  };
};

/** Glue calls of one part of the run: List calls by page (a database) and by view, and Stop calls. */
export interface PartCalls {
  pageLists: number;
  /** List-by-page calls that were the SDK's first attempt: the pages read. */
  pageReads: number;
  viewLists: number;
  stops: number;
}

/**
 * Glue calls by the part of the run they serve: a call naming a scope view is the scope part's, one
 * naming an exact request's view the exact part's; a List without a table (a page of a database) is the
 * scope part's, since only scopes list a database.
 */
export const glueCallsByPart = (
  calls: readonly {
    readonly operation: string;
    readonly input: Readonly<Record<string, unknown>>;
    readonly attempt?: number;
  }[],
  scopeTables: ReadonlySet<string>,
): { exact: PartCalls; scope: PartCalls } => {
  const exact: PartCalls = { pageLists: 0, pageReads: 0, viewLists: 0, stops: 0 };
  const scope: PartCalls = { pageLists: 0, pageReads: 0, viewLists: 0, stops: 0 };
  for (const call of calls) {
    const table = typeof call.input.TableName === 'string' ? call.input.TableName : undefined;
    const part = table === undefined || scopeTables.has(table) ? scope : exact;
    if (call.operation === 'StopMaterializedViewRefreshTaskRun') part.stops += 1;
    else if (call.operation === 'ListMaterializedViewRefreshTaskRuns') {
      if (table === undefined) {
        part.pageLists += 1;
        if ((call.attempt ?? 1) === 1) part.pageReads += 1;
      } else part.viewLists += 1;
    }
  }
  return { exact, scope };
};
