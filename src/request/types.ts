/**
 * The stop request contract as plain TypeScript types, free of any runtime dependency, for producers:
 * `import type { StopRequest } from 'glue-mv-stop/types'`. The zod schema in `contract.ts` is checked
 * against these at compile time, so the two cannot drift apart.
 */

/** Asks glue-mv-stop to stop the running refresh task run of one Glue materialized view. */
export interface StopRequest {
  /** ID of the Data Catalog that holds the view; 1–255 characters. Defaults to the function's own account ID. */
  CatalogId?: string | undefined;
  /** Database that holds the view; 1–255 characters, no control characters but tab. */
  DatabaseName: string;
  /** The materialized view; 1–255 characters, no control characters but tab. */
  TableName: string;
  /** Requests with the same key are acted on once. Defaults to the EventBridge event id, else the SQS message id. */
  IdempotencyKey?: string | undefined;
  /** Why the stop is asked for (kept in logs and outcomes); up to 1024 characters. */
  Reason?: string | undefined;
  /** Who or what asked for the stop; up to 255 characters. */
  RequestedBy?: string | undefined;
}

/** The `detail-type` and `source` of stop request events on EventBridge. */
export { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from './events.ts';
