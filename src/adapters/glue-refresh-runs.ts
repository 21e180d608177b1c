/**
 * Glue adapter: the one place that calls the materialized-view refresh APIs (Stop, List) and reduces the
 * SDK's exceptions to plain `GlueFailure` data for the core to classify. Every call waits for its
 * operation's rate limiter first.
 */
import {
  type GlueClient,
  ListMaterializedViewRefreshTaskRunsCommand,
  StopMaterializedViewRefreshTaskRunCommand,
} from '@aws-sdk/client-glue';
import type { StopTarget } from '../request/contract.ts';
import { type Deadline, deadlineExceeded } from '../stop/deadline.ts';
import { GlueCallError, type GlueFailure } from '../stop/errors.ts';
import type { ActiveRun, RefreshStopper, RunLister } from '../stop/ports.ts';
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
  /** Per operation: `stop` and `list` each get their own bucket (Glue throttles per operation). */
  readonly limiters?: { readonly stop: RateLimiter; readonly list: RateLimiter };
  /** The deadline of the invocation under way: a call never waits for a rate-limiter slot beyond it. */
  readonly deadline?: () => Deadline | undefined;
}

export const createGlueRefreshRuns = (
  glue: GlueClient,
  options: GlueRefreshRunsOptions = {},
): RefreshStopper & RunLister => {
  const limiters = options.limiters ?? { stop: unlimited, list: unlimited };
  const deadline = options.deadline ?? (() => undefined);
  const call = async <T>(limiter: RateLimiter, send: () => Promise<T>): Promise<T> => {
    const current = deadline();
    await limiter.acquire(current);
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
  return {
    async stopRefresh(target: StopTarget): Promise<void> {
      await call(limiters.stop, () =>
        glue.send(
          new StopMaterializedViewRefreshTaskRunCommand({
            CatalogId: target.CatalogId,
            DatabaseName: target.DatabaseName,
            TableName: target.TableName,
          }),
        ),
      );
    },

    async activeRuns(query): Promise<readonly ActiveRun[]> {
      const active: ActiveRun[] = [];
      let NextToken: string | undefined;
      do {
        const page = await call(limiters.list, () =>
          glue.send(
            new ListMaterializedViewRefreshTaskRunsCommand({
              CatalogId: query.CatalogId,
              DatabaseName: query.DatabaseName,
              ...(query.TableName !== undefined ? { TableName: query.TableName } : {}),
              MaxResults: LIST_PAGE_SIZE,
              ...(NextToken !== undefined ? { NextToken } : {}),
            }),
          ),
        );
        for (const run of page.MaterializedViewRefreshTaskRuns ?? []) {
          const { MaterializedViewRefreshTaskRunId: runId, DatabaseName, TableName, Status, StartTime } = run;
          if (!runId || !DatabaseName || !TableName || (Status !== 'STARTING' && Status !== 'RUNNING'))
            continue;
          active.push({
            runId,
            target: { CatalogId: run.CatalogId ?? query.CatalogId, DatabaseName, TableName },
            status: Status,
            ...(StartTime instanceof Date && !Number.isNaN(StartTime.getTime())
              ? { startedAt: StartTime.toISOString() }
              : {}),
          });
        }
        NextToken = page.NextToken || undefined;
      } while (NextToken !== undefined);
      return active;
    },
  };
};
