/**
 * Glue adapter: the one place that calls StopMaterializedViewRefreshTaskRun and reduces the SDK's
 * exceptions to plain `GlueFailure` data for the core to classify.
 */
import { type GlueClient, StopMaterializedViewRefreshTaskRunCommand } from '@aws-sdk/client-glue';
import type { StopTarget } from '../request/contract.ts';
import { GlueCallError, type GlueFailure } from '../stop/errors.ts';
import type { RefreshStopper } from '../stop/ports.ts';

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

export const createGlueStopper = (glue: GlueClient): RefreshStopper => ({
  async stopRefresh(target: StopTarget): Promise<void> {
    try {
      await glue.send(
        new StopMaterializedViewRefreshTaskRunCommand({
          CatalogId: target.CatalogId,
          DatabaseName: target.DatabaseName,
          TableName: target.TableName,
        }),
      );
    } catch (error) {
      throw new GlueCallError(toGlueFailure(error), { cause: error });
    }
  },
});
