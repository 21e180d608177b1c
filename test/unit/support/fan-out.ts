/**
 * Fakes of the ports a scope's expansion talks through: a Glue that pages its runs like the real one
 * (newest first, finished runs included, an opaque token per page), a stop queue that keeps what it is
 * sent, an in-memory idempotency store, and an expansion context with a settable clock and a deadline.
 */
import type { AllowRule } from '../../../src/policy/stack-config.ts';
import type { StopTarget } from '../../../src/request/contract.ts';
import { StopError } from '../../../src/stop/errors.ts';
import type { RecordedStop } from '../../../src/stop/outcome.ts';
import type {
  ActiveRun,
  OnceResult,
  QueuedMessage,
  RunOnce,
  RunPage,
  RunPageReader,
  ViewLedger,
} from '../../../src/stop/ports.ts';
import type { CommandDependencies } from '../../../src/stop/run-command.ts';
import type { ExpansionContext, FanOutSettings, ViewDone } from '../../../src/stop/scope-expansion.ts';
import { FUNCTION_ACCOUNT_ID } from './records.ts';

/** A run as Glue lists it: any status, of any view. */
export interface ListedRun {
  readonly TableName: string;
  readonly runId: string;
  readonly status: 'STARTING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'STOPPED';
  readonly DatabaseName?: string;
  readonly CatalogId?: string;
  readonly startedAt?: string;
}

/** A run id for test number `n`: a UUID, as Glue gives them. */
export const runIdOf = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A run of `TableName` in `sales`, RUNNING since before the requests of these tests were issued. */
export const listedRun = (TableName: string, n: number, overrides: Partial<ListedRun> = {}): ListedRun => ({
  TableName,
  runId: runIdOf(n),
  status: 'RUNNING',
  startedAt: '2026-11-29T01:30:00.000Z',
  ...overrides,
});

type PageQuery = Parameters<RunPageReader['page']>[0];

/** What happened, in order: `list <token>`, `enqueue <count>`, `stop <table>`. */
export type Step = string;

export interface FakeFanOutOptions {
  /** Glue's runs, newest first; the array may be changed between calls (a run replaced, a run finished). */
  readonly runs?: ListedRun[];
  /** Runs per page. Default 1,000, as the adapter asks. */
  readonly pageSize?: number;
  readonly allow?: readonly AllowRule[];
  readonly fanOut?: Partial<FanOutSettings>;
  /** Called as a Stop arrives, before it takes effect; may throw what the stopper should throw. */
  readonly onStop?: (target: StopTarget, sendBy: number | undefined) => void;
  /** Called as a page is read, before it is answered; may throw what the reader should throw. */
  readonly onPage?: (query: PageQuery) => void;
  readonly enqueueFails?: unknown;
  /** Thrown by the view ledger's read or write. */
  readonly ledgerFails?: { readonly read?: unknown; readonly write?: unknown };
  /** Without a view ledger (functions other than the queue function). */
  readonly noLedger?: boolean;
  readonly now?: () => Date;
}

const DEFAULT_NOW = new Date('2026-11-29T02:00:07.000Z');

/** The command ports of the queue function, faked. */
export const fakeFanOut = (options: FakeFanOutOptions = {}) => {
  const runs = options.runs ?? [];
  const pageSize = options.pageSize ?? 1000;
  const steps: Step[] = [];
  const pages: PageQuery[] = [];
  const stops: { target: StopTarget; sendBy: number | undefined }[] = [];
  const enqueued: QueuedMessage[] = [];
  /** The view ledger's records, by view key, and its calls: `read <keys>`, `write <keys>`. */
  const ledgerRecords = new Map<string, RecordedStop>();
  const ledgerCalls: string[] = [];
  const ledger: ViewLedger = {
    async read(keys) {
      ledgerCalls.push(`read ${keys.length}`);
      if (options.ledgerFails?.read !== undefined) throw options.ledgerFails.read;
      return new Map(
        keys.flatMap((key) => {
          const found = ledgerRecords.get(key);
          return found ? [[key, found] as const] : [];
        }),
      );
    },
    async write(records) {
      ledgerCalls.push(`write ${records.length}`);
      if (options.ledgerFails?.write !== undefined) throw options.ledgerFails.write;
      for (const record of records) ledgerRecords.set(record.key, record.result);
    },
  };
  const page = async (query: PageQuery): Promise<RunPage> => {
    // Recorded without the page size (the settings' `pageSize`, checked once in its own test).
    const { pageSize: _pageSize, ...asked } = query;
    pages.push(asked);
    steps.push(`list ${query.pageToken ?? '(first)'}`);
    options.onPage?.(query);
    const matching = runs.filter(
      (run) =>
        (run.CatalogId ?? FUNCTION_ACCOUNT_ID) === query.CatalogId &&
        (run.DatabaseName ?? 'sales') === query.DatabaseName &&
        (query.TableName === undefined || run.TableName === query.TableName),
    );
    const start = query.pageToken === undefined ? 0 : Number(query.pageToken.replace('page-', '')) * pageSize;
    const onPage = matching.slice(start, start + pageSize);
    const next = start + pageSize < matching.length ? `page-${start / pageSize + 1}` : undefined;
    const active = onPage.flatMap((run): ActiveRun[] =>
      run.status === 'STARTING' || run.status === 'RUNNING'
        ? [
            {
              runId: run.runId,
              status: run.status,
              target: {
                CatalogId: run.CatalogId ?? FUNCTION_ACCOUNT_ID,
                DatabaseName: run.DatabaseName ?? 'sales',
                TableName: run.TableName,
              },
              ...(run.startedAt !== undefined ? { startedAt: run.startedAt } : {}),
            },
          ]
        : [],
    );
    return {
      active,
      tables: new Set(onPage.map((run) => run.TableName)),
      listed: onPage.length,
      ...(next !== undefined ? { nextToken: next } : {}),
    };
  };
  const deps: CommandDependencies = {
    stopper: {
      async stopRefresh(target, stopOptions = {}) {
        steps.push(`stop ${target.TableName}`);
        stops.push({ target, sendBy: stopOptions.sendBy });
        options.onStop?.(target, stopOptions.sendBy);
      },
    },
    runs: {
      page,
      async activeRuns(query) {
        const active: ActiveRun[] = [];
        let pageToken: string | undefined;
        do {
          const read = await page({ ...query, ...(pageToken !== undefined ? { pageToken } : {}) });
          active.push(...read.active);
          pageToken = read.nextToken;
        } while (pageToken !== undefined);
        return active;
      },
    },
    queue: {
      async enqueue(messages) {
        steps.push(`enqueue ${messages.length}`);
        if (options.enqueueFails !== undefined) throw options.enqueueFails;
        enqueued.push(...messages);
      },
    },
    allow: options.allow ?? [{ database: '*', tables: ['*'] }],
    fanOut: {
      expansion: 'in-place',
      viewsPerTask: 100,
      reserveMs: 10_000,
      pageSize: 1_000,
      ...options.fanOut,
    },
    now: options.now ?? (() => DEFAULT_NOW),
    ...(options.noLedger ? {} : { ledger }),
  };
  return { deps, runs, steps, pages, stops, enqueued, ledgerRecords, ledgerCalls };
};

/** An idempotency store in memory, with the states the real one has: done, in progress elsewhere; `calls` lists the keys asked for. */
export const memoryOnce = () => {
  const records = new Map<string, { readonly done: OnceResult } | 'in-progress'>();
  const calls: string[] = [];
  const once: RunOnce = async (command, work) => {
    calls.push(command.idempotencyKey);
    const record = records.get(command.idempotencyKey);
    if (record === 'in-progress') {
      throw StopError.retry(
        'duplicate-in-progress',
        'the same request is being handled by another invocation',
      );
    }
    if (record) return { ...record.done, replayed: true };
    records.set(command.idempotencyKey, 'in-progress');
    try {
      const result = await work(command);
      records.set(command.idempotencyKey, { done: { ...result, replayed: false } });
      return { ...result, replayed: false };
    } catch (error) {
      records.delete(command.idempotencyKey);
      throw error;
    }
  };
  return { once, records, calls };
};

/** An expansion context on a clock the test moves, with `msLeft` before the deadline. */
export const fakeContext = (options: { msLeft?: number; startAt?: number } = {}) => {
  const clock = { now: options.startAt ?? Date.parse('2026-11-29T02:00:07.000Z') };
  const views: ViewDone[] = [];
  const context: ExpansionContext = {
    reportView: (view) => views.push(view),
    deadline: { at: clock.now + (options.msLeft ?? 60_000), signal: new AbortController().signal },
    clock: () => clock.now,
  };
  return { context, clock, views };
};
