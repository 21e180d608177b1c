/**
 * Glue adapter: the one place that calls the materialized-view refresh APIs (Stop, List) and reduces the
 * SDK's exceptions to plain `GlueFailure` data for the core to classify. Every call waits for a slot of
 * the Glue budget first (one limiter for both operations, or one each: see `GlueRefreshRunsOptions`).
 */
import {
  type GlueClient,
  ListMaterializedViewRefreshTaskRunsCommand,
  StopMaterializedViewRefreshTaskRunCommand,
} from '@aws-sdk/client-glue';
import type { StopTarget } from '../request/contract.ts';
import { type Deadline, deadlineExceeded, hasPassed, NO_DEADLINE } from '../stop/deadline.ts';
import { GlueCallError, type GlueFailure, ReadTooOldError } from '../stop/errors.ts';
import type { ActiveRun, RefreshStopper, RunLister, RunPage, RunPageReader } from '../stop/ports.ts';
import { type RateLimiter, unlimited } from './rate-limiter.ts';

const httpStatusOf = (error: object): number | undefined => {
  if (!('$metadata' in error) || typeof error.$metadata !== 'object' || error.$metadata === null)
    return undefined;
  const status = 'httpStatusCode' in error.$metadata ? error.$metadata.httpStatusCode : undefined;
  return typeof status === 'number' ? status : undefined;
};

/**
 * Service errors carry their code in `name` (the SDK maps `__type` to the exception class); network
 * errors carry a Node error `code` such as ECONNRESET and no HTTP status.
 */
export const toGlueFailure = (error: unknown): GlueFailure => {
  if (!(error instanceof Error)) return { code: 'UnknownError', message: String(error) };
  const httpStatusCode = httpStatusOf(error);
  const nodeCode = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  const code = httpStatusCode === undefined && nodeCode !== undefined ? nodeCode : error.name;
  return { code, message: error.message, ...(httpStatusCode !== undefined ? { httpStatusCode } : {}) };
};

/** The API's page size limit: fewer calls per scope expansion. */
const LIST_PAGE_SIZE = 1000;

export interface GlueRefreshRunsOptions {
  /**
   * The Glue budget of this instance. Pass the same limiter for both to share one budget across
   * operations (the default mode), or one each for a budget per operation.
   */
  readonly limiters?: { readonly stop: RateLimiter; readonly list: RateLimiter };
  /** The deadline of the invocation under way: a call never waits for a rate-limiter slot beyond it. */
  readonly deadline?: () => Deadline | undefined;
  /**
   * The client for Stop calls; default `glue`. It should retry throttled calls only: a Stop that timed out
   * may have been carried out, and sent again it would stop whatever run the view has by then (the caller
   * reads the view again instead).
   */
  readonly stopClient?: GlueClient;
}

export const createGlueRefreshRuns = (
  glue: GlueClient,
  options: GlueRefreshRunsOptions = {},
): RefreshStopper & RunLister & RunPageReader => {
  const limiters = options.limiters ?? { stop: unlimited, list: unlimited };
  const stopClient = options.stopClient ?? glue;
  const deadline = options.deadline ?? (() => undefined);
  /** Waits for a slot: by the invocation's deadline, or by `sendBy` when that comes first. */
  const acquire = async (limiter: RateLimiter, current: Deadline | undefined, sendBy?: number) => {
    if (sendBy === undefined || sendBy >= (current?.at ?? Number.POSITIVE_INFINITY)) {
      await limiter.acquire(current);
      return;
    }
    try {
      await limiter.acquire({ at: sendBy, signal: current?.signal ?? NO_DEADLINE.signal });
    } catch (error) {
      if (current && hasPassed(current)) throw error;
      throw new ReadTooOldError("no Glue call slot before the run guard's read grows too old", {
        cause: error,
      });
    }
  };
  const call = async <T>(limiter: RateLimiter, send: () => Promise<T>, sendBy?: number): Promise<T> => {
    const current = deadline();
    await acquire(limiter, current, sendBy);
    try {
      return await send();
    } catch (error) {
      // The invocation's deadline aborted the call: not Glue's answer, so not a GlueCallError.
      if (current?.signal.aborted) {
        throw deadlineExceeded('the invocation deadline passed during a Glue call', {
          cause: error,
        });
      }
      throw new GlueCallError(toGlueFailure(error), { cause: error });
    }
  };
  const page: RunPageReader['page'] = async (query): Promise<RunPage> => {
    const answer = await call(limiters.list, () =>
      glue.send(
        new ListMaterializedViewRefreshTaskRunsCommand({
          CatalogId: query.CatalogId,
          DatabaseName: query.DatabaseName,
          ...(query.TableName !== undefined ? { TableName: query.TableName } : {}),
          MaxResults: query.pageSize ?? LIST_PAGE_SIZE,
          ...(query.pageToken !== undefined ? { NextToken: query.pageToken } : {}),
        }),
      ),
    );
    const runs = answer.MaterializedViewRefreshTaskRuns ?? [];
    const active: ActiveRun[] = [];
    const tables = new Set<string>();
    for (const run of runs) {
      const { MaterializedViewRefreshTaskRunId: runId, DatabaseName, TableName, Status, StartTime } = run;
      if (TableName) tables.add(TableName);
      if (!runId || !DatabaseName || !TableName || (Status !== 'STARTING' && Status !== 'RUNNING')) continue;
      active.push({
        runId,
        target: { CatalogId: run.CatalogId ?? query.CatalogId, DatabaseName, TableName },
        status: Status,
        ...(StartTime instanceof Date && !Number.isNaN(StartTime.getTime())
          ? { startedAt: StartTime.toISOString() }
          : {}),
      });
    }
    const nextToken = answer.NextToken || undefined;
    return { active, tables, listed: runs.length, ...(nextToken !== undefined ? { nextToken } : {}) };
  };
  return {
    async stopRefresh(target: StopTarget, stopOptions = {}): Promise<void> {
      await call(
        limiters.stop,
        () =>
          stopClient.send(
            new StopMaterializedViewRefreshTaskRunCommand({
              CatalogId: target.CatalogId,
              DatabaseName: target.DatabaseName,
              TableName: target.TableName,
            }),
          ),
        stopOptions.sendBy,
      );
    },

    page,

    async activeRuns(query): Promise<readonly ActiveRun[]> {
      const active: ActiveRun[] = [];
      let pageToken: string | undefined;
      do {
        const read = await page({ ...query, ...(pageToken !== undefined ? { pageToken } : {}) });
        active.push(...read.active);
        pageToken = read.nextToken;
      } while (pageToken !== undefined);
      return active;
    },
  };
};
