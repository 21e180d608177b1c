/**
 * The stop request contract as plain TypeScript types, free of any runtime dependency; producers get them
 * from the client package (`import type { StopRequest } from '@glue-mv-stop/client'`). The zod schema in
 * `contract.ts` is checked against these at compile time, so the two cannot drift apart.
 */

interface StopRequestBase {
  /** ID of the Data Catalog that holds the views; 1–255 characters. Defaults to the function's own account ID. */
  CatalogId?: string | undefined;
  /** Database that holds the views; 1–255 characters, no control characters but tab. */
  DatabaseName: string;
  /** Requests with the same key are acted on once. Defaults to the EventBridge event id, else the SQS message id. */
  IdempotencyKey?: string | undefined;
  /** Why the stop is asked for (kept in logs, outcomes and outcome events); up to 1024 characters. */
  Reason?: string | undefined;
  /** Who or what asked for the stop; up to 255 characters. */
  RequestedBy?: string | undefined;
  /** Run guard: stop only a run that started at or before this ISO-8601 time. */
  IssuedAt?: string | undefined;
  /** Run every step but send no stop; the outcome says what would have been stopped. */
  DryRun?: boolean | undefined;
  /** Set on the requests a scope request is expanded into: the parent's idempotency key. */
  ParentIdempotencyKey?: string | undefined;
}

/** Stop the running refresh task run of one materialized view. */
export interface TableStopRequest extends StopRequestBase {
  /** The materialized view; 1–255 characters, no control characters but tab. */
  TableName: string;
  TableNames?: undefined;
  /** Run guard: stop only if this is still the table's current run. */
  RunId?: string | undefined;
}

/** Stop every running refresh in a database whose table matches one of `TableNames`. */
export interface ScopeStopRequest extends StopRequestBase {
  TableName?: undefined;
  /** Table names or globs (`*` any characters, `?` one); `["*"]` for every table. 1–100 entries. */
  TableNames: string[];
  RunId?: undefined;
}

/** Asks glue-mv-stop to stop one view's refresh, or the refreshes of a scope. */
export type StopRequest = TableStopRequest | ScopeStopRequest;

/** The `detail-type` and `source` of stop request events on EventBridge. */
export { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from './events.ts';
