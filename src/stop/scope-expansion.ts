/**
 * How a scope becomes stops, a page of runs at a time, with few Glue calls per stop.
 *
 * 1. A function that may not stop (alarm, schedule, event) hands the scope to the stop queue: one
 *    message, no Glue call (`handOffScope`).
 * 2. The queue function expands it (`expandScope`): it lists the scope's runs page by page (up to 1,000
 *    runs per call) and, for each page, sends stop tasks naming the page's running views, at most
 *    `viewsPerTask` each. Nothing is held beyond one page, and when the invocation runs short of time
 *    the listing goes on in a `list` task from the next page's token.
 * 3. Each stop task, on any instance of the queue function, reads its page again (one List call) and
 *    stops its views straight from that read (`runScopeTask`): the run guard (`IssuedAt`, and the run id
 *    the expansion saw) is checked against a read no older than `GUARD_READ_MAX_AGE_MS` when the Stop
 *    goes out, exactly as for an exact request.
 *
 * A stop costs one Stop call plus its share of two List calls per page: 1 + 2/`viewsPerTask` at most.
 *
 * Nothing is stopped twice for one request. A task is the idempotent unit: its record (keyed by its
 * content) answers a redelivery of a finished task and holds off a copy delivered while it runs. Its views
 * have no idempotency records of their own (a write before each Stop and one after were most of a fan-out
 * stop's cost: docs/fan-out.md); instead a task reads, in one call, what was recorded of its views
 * (`ViewLedger`), answers those from their records, and records the views it settled, in one call, before
 * it returns. A view settled but not yet recorded (the invocation died in between), or settled by two
 * tasks at once (a scope listed again after a crash, its pages changed), is settled again from a fresh
 * read: its run is stopped only if it is still the run the expansion saw (`RunId`) and still running. A run
 * already stopped reads as STOPPING (`not-running`), or, read too soon, Glue refuses the second Stop
 * (`already-stopping`): Glue accepts at most one Stop per run.
 *
 * Nothing is lost: a task is sent before the work it stands for is dropped, and a view a task cannot
 * settle (a failure, a page that no longer shows it) goes to the stop queue as an exact request under the
 * view's key, guarded by its own read and idempotent like every exact request.
 */
import { createHash } from 'node:crypto';
import { checkAllowed } from '../policy/allow-list.ts';
import { contractText } from '../policy/contract-text.ts';
import { matchesGlob } from '../policy/glob.ts';
import {
  NO_CONTROL_CHARACTERS,
  PARENT_KEY_MAX_LENGTH,
  type ScopeStopRequest,
  type ScopeTarget,
  type StopTarget,
  type TableStopRequest,
} from '../request/contract.ts';
import { ROOT_KEY_MAX_LENGTH, type ScopeTask, scopeTaskBody } from '../request/scope-task.ts';
import { type Deadline, deadlineExceeded, NO_DEADLINE, withinDeadline } from './deadline.ts';
import { ReadTooOldError, toStopError } from './errors.ts';
import { deriveIdempotencyKey } from './idempotency-key.ts';
import type { RecordedOutcomeName, RecordedStop } from './outcome.ts';
import type {
  ActiveRun,
  OnceResult,
  QueuedMessage,
  RunPage,
  ScopeStopCommand,
  TableStopCommand,
  TaskStopCommand,
  ViewRecord,
} from './ports.ts';
import { pageKey, type RecentRead } from './recent-pages.ts';
import type { CommandDependencies } from './run-command.ts';
import { derivedIdempotencyKey, failureOf, GUARD_READ_MAX_AGE_MS, stopFromRead } from './run-command.ts';
import { currentRun } from './run-guard.ts';

/** How a function expands scopes (static, from its configuration). */
export interface FanOutSettings {
  /** `in-place`: the queue function, which may stop. `hand-off`: every other function. */
  readonly expansion: 'hand-off' | 'in-place';
  /** Views one stop task names: as many as the instance's Glue budget stops well inside the guard's read age. */
  readonly viewsPerTask: number;
  /** Time kept back before the deadline to send what is left as a follow-up task. */
  readonly reserveMs: number;
  /**
   * Runs per page of a scope's listing (Glue's MaxResults). A stop task reads its whole page again for its
   * views: a page a few tasks long keeps that read small (the largest page, 1,000 runs, costs the client
   * about 18 ms of CPU to read). Expansion and tasks use the same size: a token continues only a listing of
   * its own size (a page that no longer shows a view sends it on as an exact request).
   */
  readonly pageSize: number;
}

/** Expansion in place, 100 views per task, 10 s kept back. */
export const DEFAULT_FAN_OUT: FanOutSettings = {
  expansion: 'in-place',
  viewsPerTask: 100,
  reserveMs: 10_000,
  pageSize: 1_000,
};

/** One view settled by a stop task, for the trigger to report as its own outcome. */
export interface ViewDone {
  readonly target: StopTarget;
  readonly idempotencyKey: string;
  readonly result: OnceResult;
}

/** What one request's expansion needs from the request under way. */
export interface ExpansionContext {
  readonly reportView: (view: ViewDone) => void;
  readonly deadline: Deadline;
  readonly clock: () => number;
}

export const NO_EXPANSION_CONTEXT: ExpansionContext = {
  reportView: () => {},
  deadline: NO_DEADLINE,
  clock: Date.now,
};

const sha256 = (parts: readonly string[]): string =>
  createHash('sha256').update(parts.join('\n')).digest('hex');

/** The key of a scope handed to the stop queue: one per handing request, never the request's own key. */
export const handOffKey = (key: string): string => `hand-off-${sha256([key])}`;

/** A task's key is its content: the same task sent twice (a redelivered expansion) runs once. */
export const scopeTaskKey = (task: ScopeTask): string =>
  `task-${sha256([
    task.Kind,
    task.RootKey,
    task.PageToken ?? '',
    task.DryRun === true ? 'dry-run' : '',
    // Absent on a task's first sending: keys of tasks sent before resends existed stay the same.
    ...(task.Resend !== undefined ? [`resend ${task.Resend}`] : []),
    ...(task.Views ?? []).map((v) => `${v.TableName}\u0000${v.RunId}`),
  ])}`;

/** A view's key under a scope: what an exact request sent for the view (`viewRequest`) is keyed by too. */
export const viewKey = (rootKey: string, target: StopTarget, dryRun: boolean): string =>
  `${dryRun ? 'dry-run:' : ''}${deriveIdempotencyKey(derivedIdempotencyKey(rootKey, target), { kind: 'sqs', messageId: '' })}`;

/** One literal table name: the listing asks Glue for that table only. */
const singleTable = (names: readonly string[]): string | undefined =>
  names.length === 1 && !/[*?]/.test(names[0] ?? '*') ? names[0] : undefined;

const listQuery = (scope: ScopeTarget, pageSize: number) => {
  const single = singleTable(scope.TableNames);
  return {
    CatalogId: scope.CatalogId,
    DatabaseName: scope.DatabaseName,
    ...(single !== undefined ? { TableName: single } : {}),
    pageSize,
  };
};

const readPage = async (
  deps: CommandDependencies,
  scope: ScopeTarget,
  pageToken: string | undefined,
): Promise<RunPage> => {
  try {
    return await deps.runs.page({
      ...listQuery(scope, (deps.fanOut ?? DEFAULT_FAN_OUT).pageSize),
      ...(pageToken !== undefined ? { pageToken } : {}),
    });
  } catch (error) {
    throw failureOf(error);
  }
};

/** What a scope, or one of its tasks, carries to every request and task it hands on. */
interface Expansion {
  readonly scope: ScopeTarget;
  readonly issuedAt: string;
  readonly rootKey: string;
  readonly accountId: string;
  readonly dryRun: boolean;
  readonly parentKey?: string;
  readonly reason?: string;
  readonly requestedBy?: string;
}

const taskOf = (
  expansion: Expansion,
  kind: ScopeTask['Kind'],
  pageToken: string | undefined,
  views?: ScopeTask['Views'],
): QueuedMessage =>
  scopeTaskBody({
    Kind: kind,
    CatalogId: expansion.scope.CatalogId,
    DatabaseName: expansion.scope.DatabaseName,
    TableNames: [...expansion.scope.TableNames],
    IssuedAt: expansion.issuedAt,
    RootKey: expansion.rootKey,
    ...(pageToken !== undefined ? { PageToken: pageToken } : {}),
    ...(views !== undefined ? { Views: views } : {}),
    ...(expansion.dryRun ? { DryRun: true } : {}),
    ...(expansion.parentKey !== undefined ? { ParentIdempotencyKey: expansion.parentKey } : {}),
    ...(expansion.reason !== undefined ? { Reason: expansion.reason } : {}),
    ...(expansion.requestedBy !== undefined ? { RequestedBy: expansion.requestedBy } : {}),
  });

/** An exact request for one view of a scope, under the view's key (its outcomes in a task carry it too). */
const viewRequest = (expansion: Expansion, view: { TableName: string; RunId: string }): TableStopRequest => ({
  CatalogId: expansion.scope.CatalogId,
  DatabaseName: expansion.scope.DatabaseName,
  TableName: view.TableName,
  RunId: view.RunId,
  IssuedAt: expansion.issuedAt,
  IdempotencyKey: derivedIdempotencyKey(expansion.rootKey, {
    CatalogId: expansion.scope.CatalogId,
    DatabaseName: expansion.scope.DatabaseName,
    TableName: view.TableName,
  }),
  ParentIdempotencyKey: contractText(expansion.rootKey, PARENT_KEY_MAX_LENGTH),
  ...(expansion.reason !== undefined ? { Reason: expansion.reason } : {}),
  ...(expansion.requestedBy !== undefined ? { RequestedBy: expansion.requestedBy } : {}),
  ...(expansion.dryRun ? { DryRun: true } : {}),
});

const isAllowed = (deps: CommandDependencies, expansion: Expansion, table: string): boolean =>
  checkAllowed(deps.allow, expansion.accountId, {
    CatalogId: expansion.scope.CatalogId,
    DatabaseName: expansion.scope.DatabaseName,
    TableName: table,
  }).kind === 'allowed';

const startedAfter = (run: ActiveRun, issuedAt: string): boolean =>
  run.startedAt !== undefined && Date.parse(run.startedAt) > Date.parse(issuedAt);

/** The views of a page the scope means to stop: matching, allowed, their current run started in time. */
const chooseViews = (page: RunPage, expansion: Expansion, deps: CommandDependencies) => {
  const byTable = new Map<string, ActiveRun[]>();
  for (const run of page.active) {
    if (run.target.DatabaseName !== expansion.scope.DatabaseName) continue;
    if (!expansion.scope.TableNames.some((pattern) => matchesGlob(pattern, run.target.TableName))) continue;
    const runs = byTable.get(run.target.TableName);
    if (runs) runs.push(run);
    else byTable.set(run.target.TableName, [run]);
  }
  const views: { TableName: string; RunId: string }[] = [];
  let outside = 0;
  let newer = 0;
  for (const [table, runs] of byTable) {
    const run = currentRun(runs);
    if (!run) continue;
    if (!isAllowed(deps, expansion, table)) outside += 1;
    else if (startedAfter(run, expansion.issuedAt)) newer += 1;
    else views.push({ TableName: table, RunId: run.runId });
  }
  views.sort((a, b) => (a.TableName < b.TableName ? -1 : a.TableName > b.TableName ? 1 : 0));
  return { views, outside, newer };
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The scope's key as its tasks carry it: the command's own key when a task may hold it, else a hash of it
 * (an event id may hold characters a message must not). Either way the same scope gives the same root.
 */
export const rootKeyOf = (key: string): string =>
  [...key].length <= ROOT_KEY_MAX_LENGTH && NO_CONTROL_CHARACTERS.test(key) && key.isWellFormed()
    ? key
    : `root-${sha256([key])}`;

const expansionOf = (command: ScopeStopCommand): Expansion => ({
  scope: command.target,
  issuedAt: command.issuedAt,
  rootKey: rootKeyOf(command.idempotencyKey),
  accountId: command.accountId,
  dryRun: command.dryRun,
  parentKey: contractText(command.idempotencyKey, PARENT_KEY_MAX_LENGTH),
  ...(command.reason !== undefined ? { reason: command.reason } : {}),
  ...(command.requestedBy !== undefined ? { requestedBy: command.requestedBy } : {}),
});

const expansionOfTask = (command: TaskStopCommand): Expansion => {
  const { task } = command;
  return {
    scope: command.target,
    issuedAt: task.IssuedAt,
    rootKey: task.RootKey,
    accountId: command.accountId,
    dryRun: task.DryRun === true,
    ...(task.ParentIdempotencyKey !== undefined ? { parentKey: task.ParentIdempotencyKey } : {}),
    ...(task.Reason !== undefined ? { reason: task.Reason } : {}),
    ...(task.RequestedBy !== undefined ? { requestedBy: task.RequestedBy } : {}),
  };
};

/** Hands a scope to the stop queue, where the queue function expands it. No Glue call. */
export const handOffScope = async (
  command: ScopeStopCommand,
  deps: CommandDependencies,
): Promise<RecordedStop> => {
  const now = deps.now ?? (() => new Date());
  const request: ScopeStopRequest = {
    CatalogId: command.target.CatalogId,
    DatabaseName: command.target.DatabaseName,
    TableNames: [...command.target.TableNames],
    IssuedAt: command.issuedAt,
    IdempotencyKey: handOffKey(command.idempotencyKey),
    ParentIdempotencyKey: contractText(command.idempotencyKey, PARENT_KEY_MAX_LENGTH),
    ...(command.reason !== undefined ? { Reason: command.reason } : {}),
    ...(command.requestedBy !== undefined ? { RequestedBy: command.requestedBy } : {}),
    ...(command.dryRun ? { DryRun: true } : {}),
  };
  await deps.queue.enqueue([request]);
  return {
    result: 'expanded',
    decidedAt: now().toISOString(),
    queued: 1,
    detail: `handed to the stop queue, to be expanded page by page${command.dryRun ? ' (dry run)' : ''}`,
  };
};

const timeLeft = (context: ExpansionContext): number => context.deadline.at - context.clock();

/** Lists a scope page by page from `startToken`, sending stop tasks as it goes. */
const listScope = async (
  expansion: Expansion,
  startToken: string | undefined,
  deps: CommandDependencies,
  context: ExpansionContext,
): Promise<RecordedStop> => {
  const now = deps.now ?? (() => new Date());
  const size = Math.max(1, Math.floor((deps.fanOut ?? DEFAULT_FAN_OUT).viewsPerTask));
  let token = startToken;
  let pages = 0;
  let listed = 0;
  let views = 0;
  let tasks = 0;
  let outside = 0;
  let newer = 0;
  let continued = false;
  for (;;) {
    if (pages > 0 && timeLeft(context) < (deps.fanOut ?? DEFAULT_FAN_OUT).reserveMs) {
      await deps.queue.enqueue([taskOf(expansion, 'list', token)]);
      tasks += 1;
      continued = true;
      break;
    }
    let page: RunPage;
    try {
      page = await readPage(deps, expansion.scope, token);
    } catch (error) {
      // A page that fails after others were read: the listing goes on in a list task from that page, so
      // the pages already read are not read again and the scope's progress outlives one failed call.
      if (pages === 0 || toStopError(error).failure.kind !== 'retry') throw error;
      await deps.queue.enqueue([taskOf(expansion, 'list', token)]);
      tasks += 1;
      continued = true;
      break;
    }
    pages += 1;
    listed += page.listed;
    const chosen = chooseViews(page, expansion, deps);
    outside += chosen.outside;
    newer += chosen.newer;
    views += chosen.views.length;
    const batch: QueuedMessage[] = [];
    for (let i = 0; i < chosen.views.length; i += size) {
      batch.push(taskOf(expansion, 'stop', token, chosen.views.slice(i, i + size)));
    }
    if (batch.length > 0) await deps.queue.enqueue(batch);
    tasks += batch.length;
    if (page.nextToken === undefined) break;
    token = page.nextToken;
  }
  return {
    result: 'expanded',
    decidedAt: now().toISOString(),
    queued: tasks,
    detail:
      `${plural(views, 'running refresh', 'running refreshes')} in ${plural(tasks - (continued ? 1 : 0), 'stop task')} ` +
      `from ${plural(pages, 'page')} (${plural(listed, 'run')} listed)` +
      (continued ? '; the listing goes on in a follow-up task' : '') +
      (outside > 0 ? `; ${outside} outside the allow-list left alone` : '') +
      (newer > 0 ? `; ${newer} started after the request was issued, left alone` : '') +
      (expansion.dryRun ? ' (dry run)' : ''),
  };
};

/** Expands a scope in the function that may stop: see the module comment. */
export const expandScope = (
  command: ScopeStopCommand,
  deps: CommandDependencies,
  context: ExpansionContext = NO_EXPANSION_CONTEXT,
): Promise<RecordedStop> => listScope(expansionOf(command), undefined, deps, context);

/** Glue refused a task's page token as invalid input: the token, not the scope, is at fault. */
const tokenRefused = (error: unknown, pageToken: string | undefined): boolean =>
  pageToken !== undefined && toStopError(error).failure.reason === 'glue-invalid-input';

/** How often a stop task may be handed on unstarted before it waits for a redelivery instead. */
const MAX_RESENDS = 20;

/**
 * How old a read of its page a stop task may start from: the task after it, of about the same length,
 * still sends its last Stop within the guard's read age (and reads again if not).
 */
const pageReuseMaxAgeMs = (): number => GUARD_READ_MAX_AGE_MS * 0.4;

/** Views of one stop task being settled at once. */
const VIEWS_IN_FLIGHT = 8;

/** How many times one stop task reads its page: once, and again each time the read grew too old. */
const MAX_PAGE_READS = 4;

/** Runs one task of an expansion: goes on listing, or stops its views from a fresh read of its page. */
export const runScopeTask = async (
  command: TaskStopCommand,
  deps: CommandDependencies,
  context: ExpansionContext = NO_EXPANSION_CONTEXT,
): Promise<RecordedStop> => {
  const expansion = expansionOfTask(command);
  const { task } = command;
  if (task.Kind === 'list' || task.Views === undefined) {
    try {
      return await listScope(expansion, task.PageToken, deps, context);
    } catch (error) {
      // Glue no longer takes the token (it may expire): list the scope again from its first page. The
      // tasks already sent are answered from their records, their views from theirs.
      if (!tokenRefused(error, task.PageToken)) throw error;
      return listScope(expansion, undefined, deps, context);
    }
  }
  const now = deps.now ?? (() => new Date());
  type View = { TableName: string; RunId: string };
  const targetOf = (view: View): StopTarget => ({
    CatalogId: expansion.scope.CatalogId,
    DatabaseName: expansion.scope.DatabaseName,
    TableName: view.TableName,
  });
  const keyOf = (view: View) => viewKey(expansion.rootKey, targetOf(view), expansion.dryRun);
  const allowed = task.Views.filter((view) => isAllowed(deps, expansion, view.TableName));
  const key = pageKey({
    ...listQuery(expansion.scope, (deps.fanOut ?? DEFAULT_FAN_OUT).pageSize),
    ...(task.PageToken !== undefined ? { pageToken: task.PageToken } : {}),
  });
  const readTaskPage = async (): Promise<RecentRead> => {
    const read = { page: await readPage(deps, expansion.scope, task.PageToken), readAt: context.clock() };
    deps.recentPages?.put(key, read);
    return read;
  };
  // Views this task settled in an earlier run, or another task of the scope did, are answered from their
  // records, without a Stop. The records and the page are read side by side; the page's last read on this
  // instance serves while it is young (the task before this one was often of the same page).
  const [records, firstRead] = await Promise.allSettled([
    deps.ledger
      ? withinDeadline(deps.ledger.read(allowed.map(keyOf)), context.deadline)
      : Promise.resolve(new Map<string, RecordedStop>()),
    allowed.length === 0
      ? Promise.resolve(undefined)
      : (deps.recentPages?.get(key, context.clock(), pageReuseMaxAgeMs()) ?? readTaskPage()),
  ]);
  if (records.status === 'rejected') throw records.reason;
  const recorded = records.value;
  const unsettled = allowed.filter((view) => !recorded.has(keyOf(view)));
  let page: RunPage = { active: [], tables: new Set(), listed: 0 };
  let readAt = context.clock();
  let reads = 0;
  if (firstRead.status === 'fulfilled' && firstRead.value !== undefined) {
    ({ page, readAt } = firstRead.value);
    reads = 1;
  } else if (firstRead.status === 'rejected' && unsettled.length > 0) {
    const error: unknown = firstRead.reason;
    if (!tokenRefused(error, task.PageToken)) throw error;
    // The page cannot be read by its token any more: each view is read by name, as an exact request.
    // The views already recorded are answered from their records, as in a read.
    const exact = unsettled.map((view) => viewRequest(expansion, view));
    if (exact.length > 0) await deps.queue.enqueue(exact);
    let answered = 0;
    for (const view of allowed) {
      const before = recorded.get(keyOf(view));
      if (!before) continue;
      context.reportView({
        target: targetOf(view),
        idempotencyKey: keyOf(view),
        result: { ...before, replayed: true },
      });
      answered += 1;
    }
    return {
      result: 'expanded',
      decidedAt: now().toISOString(),
      queued: exact.length,
      detail:
        `the page token was refused (${toStopError(error).message}); ${plural(exact.length, 'view')} sent as exact requests` +
        (answered > 0 ? `; ${answered} answered from their records` : ''),
    };
  }
  let unreadable = false;
  // One read again at a time, shared by every view that found the read too old.
  let rereading: Promise<void> | undefined;
  const readAgain = (seenAt: number): Promise<void> => {
    if (readAt !== seenAt) return Promise.resolve(); // another view has read it again meanwhile
    rereading ??= (async () => {
      try {
        ({ page, readAt } = await readTaskPage());
        reads += 1;
      } catch {
        // The page cannot be read again now: the views left go on as exact requests, each read by name,
        // rather than the whole task being retried.
        unreadable = true;
      } finally {
        rereading = undefined;
      }
    })();
    return rereading;
  };
  const leftovers: [number, View][] = [];
  const exact: [number, TableStopRequest][] = [];
  const counts = new Map<RecordedOutcomeName, number>();
  const settledNow: ViewRecord[] = [];
  let outside = 0;
  let fromRecords = 0;

  const settleView = async (view: View, index: number): Promise<void> => {
    if (timeLeft(context) < (deps.fanOut ?? DEFAULT_FAN_OUT).reserveMs) {
      leftovers.push([index, view]);
      return;
    }
    if (!isAllowed(deps, expansion, view.TableName)) {
      outside += 1;
      return;
    }
    const target = targetOf(view);
    const key = keyOf(view);
    const before = recorded.get(key);
    if (before) {
      context.reportView({ target, idempotencyKey: key, result: { ...before, replayed: true } });
      counts.set(before.result, (counts.get(before.result) ?? 0) + 1);
      fromRecords += 1;
      return;
    }
    const viewCommand: TableStopCommand = {
      kind: 'table',
      idempotencyKey: key,
      target,
      guard: { runId: view.RunId, issuedAt: expansion.issuedAt },
      dryRun: expansion.dryRun,
    };
    for (;;) {
      if (unreadable || !page.tables.has(view.TableName)) {
        // The page no longer shows the view (Glue's pages moved): an exact request reads it by name.
        exact.push([index, viewRequest(expansion, view)]);
        return;
      }
      const runs = page.active.filter((run) => run.target.TableName === view.TableName);
      const at = readAt;
      try {
        const settled = await withinDeadline(stopFromRead(viewCommand, runs, at, deps), context.deadline);
        settledNow.push({ key, result: settled });
        const result: OnceResult = { ...settled, replayed: false };
        context.reportView({ target, idempotencyKey: key, result });
        counts.set(result.result, (counts.get(result.result) ?? 0) + 1);
        return;
      } catch (error) {
        if (error instanceof ReadTooOldError && reads < MAX_PAGE_READS && !unreadable) {
          await readAgain(at);
          continue;
        }
        // Throttled past the budget, refused, Glue unavailable: the exact request under the view's key
        // settles it with its own read and retries, and parks a refusal with its reason.
        if (toStopError(error).failure.reason !== 'deadline-exceeded') {
          exact.push([index, viewRequest(expansion, view)]);
        } else leftovers.push([index, view]);
        return;
      }
    }
  };

  // A few views at a time: each Stop waits for Glue and the idempotency store, and the rate limiter, not
  // this loop, paces the calls to the instance's share.
  const views = task.Views;
  let next = 0;
  const worker = async () => {
    while (next < views.length) {
      const index = next++;
      const view = views[index];
      if (view) await settleView(view, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(VIEWS_IN_FLIGHT, views.length) }, worker));
  // In the task's own order, so that a follow-up's content (and key) does not depend on timing.
  const byIndex = <T>(entries: [number, T][]): T[] => entries.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  const left = byIndex(leftovers);
  const sentExact = byIndex(exact);
  // Recorded before anything is handed on: a run of this task again answers these views from the records.
  if (deps.ledger && settledNow.length > 0) {
    await withinDeadline(deps.ledger.write(settledNow), context.deadline);
  }

  if (left.length === task.Views.length) {
    // Nothing was started: the task goes on as it is, counted as a resend so that its copy has a key of its
    // own (the same key would be answered as done), without waiting for the visibility timeout. The limit
    // keeps a task no invocation can start from circling: it is then retried, and parked on its last
    // delivery like any request.
    const resend = (task.Resend ?? 0) + 1;
    if (resend > MAX_RESENDS) {
      throw deadlineExceeded(
        'not started: too little time left before the invocation deadline for a stop task',
      );
    }
    await deps.queue.enqueue([scopeTaskBody({ ...task, Resend: resend })]);
    return {
      result: 'expanded',
      decidedAt: now().toISOString(),
      queued: 1,
      detail: `not started: too little time left in this invocation; handed on as it is (resend ${resend})`,
    };
  }
  const handed: QueuedMessage[] = [
    ...(left.length > 0 ? [taskOf(expansion, 'stop', task.PageToken, left)] : []),
    ...sentExact,
  ];
  if (handed.length > 0) await deps.queue.enqueue(handed);
  const settled = [...counts].map(([result, n]) => `${n} ${result}`).join(', ') || 'none settled';
  return {
    result: 'expanded',
    decidedAt: now().toISOString(),
    queued: handed.length,
    detail:
      `${plural(task.Views.length, 'view')} from ${plural(reads, 'read')} of the page: ${settled}` +
      (fromRecords > 0 ? ` (${fromRecords} answered from their records)` : '') +
      (left.length > 0 ? `; ${left.length} left to a follow-up task` : '') +
      (sentExact.length > 0 ? `; ${sentExact.length} sent as exact requests` : '') +
      (outside > 0 ? `; ${outside} outside the allow-list left alone` : '') +
      (expansion.dryRun ? ' (dry run)' : ''),
  };
};
