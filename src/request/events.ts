/**
 * How stop requests travel on EventBridge. Producers publish with these values; the stack's rule matches them.
 * @example
 * await eventBridge.send(new PutEventsCommand({ Entries: [{
 *   Source: STOP_EVENT_SOURCE, DetailType: STOP_EVENT_DETAIL_TYPE,
 *   Detail: JSON.stringify({ DatabaseName: 'sales', TableName: 'daily_totals_mv' }),
 * }] }));
 */
export const STOP_EVENT_SOURCE = 'glue-mv-stop';
export const STOP_EVENT_DETAIL_TYPE = 'Stop Materialized View Refresh';
