/**
 * EventBridge adapter: publishes final outcomes as events, the stack's audit trail and the hook for
 * notifications. Up to ten per PutEvents call, fewer when they are large; entries that fail are reported,
 * never retried into the request's outcome (a failure to publish is logged and counted by the caller).
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import type { StopOutcome } from '../stop/outcome.ts';
import type { OutcomePublisher } from '../stop/ports.ts';

export const OUTCOME_EVENT_SOURCE = 'glue-mv-stop';
export const OUTCOME_EVENT_DETAIL_TYPE = 'Materialized View Refresh Stop Outcome';

/** Long details are cut, on a code point boundary: an outcome event stays far below PutEvents' limit. */
const DETAIL_MAX_CODE_POINTS = 4096;

/** The event's `detail`: the outcome with a schema version; documented in docs/outcome-events.md. */
export const outcomeEventDetail = (outcome: StopOutcome) => ({
  version: '1',
  ...outcome,
  ...(outcome.detail !== undefined && outcome.detail.length > DETAIL_MAX_CODE_POINTS
    ? { detail: Array.from(outcome.detail).slice(0, DETAIL_MAX_CODE_POINTS).join('') }
    : {}),
});

export class OutcomePublishError extends Error {
  override readonly name = 'OutcomePublishError';
  readonly failed: number;
  constructor(failed: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.failed = failed;
  }
}

/** PutEvents: at most 10 entries and less than 256 KB of entries per call. */
const MAX_ENTRIES_PER_CALL = 10;
const MAX_CALL_BYTES = 256 * 1024;

/**
 * An entry's size as EventBridge counts it: the UTF-8 bytes of Source, DetailType and Detail (no Time and
 * no Resources are sent). https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
const entryBytes = (entry: PutEventsRequestEntry): number =>
  Buffer.byteLength(entry.Source ?? '') +
  Buffer.byteLength(entry.DetailType ?? '') +
  Buffer.byteLength(entry.Detail ?? '');

/** Entries in calls of at most ten and under the size limit, in order; an entry alone always fits. */
export const putEventsCalls = (entries: readonly PutEventsRequestEntry[]): PutEventsRequestEntry[][] => {
  const calls: PutEventsRequestEntry[][] = [];
  let current: PutEventsRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = entryBytes(entry);
    if (current.length > 0 && (current.length === MAX_ENTRIES_PER_CALL || bytes + size >= MAX_CALL_BYTES)) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) calls.push(current);
  return calls;
};

export const createOutcomeEventPublisher = (
  eventBridge: EventBridgeClient,
  eventBusName: string,
): OutcomePublisher => ({
  async publish(outcomes) {
    let failed = 0;
    const problems: string[] = [];
    const entries = outcomes.map((outcome) => ({
      EventBusName: eventBusName,
      Source: OUTCOME_EVENT_SOURCE,
      DetailType: OUTCOME_EVENT_DETAIL_TYPE,
      Detail: JSON.stringify(outcomeEventDetail(outcome)),
    }));
    // Outcomes of scopes that name many long views are large: calls are cut by size as well as by count.
    // The calls go out side by side: they are the last work of an invocation, and its instance takes no
    // new batch until they are answered.
    await Promise.all(
      putEventsCalls(entries).map(async (chunk) => {
        try {
          const response = await eventBridge.send(new PutEventsCommand({ Entries: chunk }));
          const entryFailures = response.FailedEntryCount ?? 0;
          if (entryFailures > 0) {
            failed += entryFailures;
            problems.push(
              ...(response.Entries ?? []).flatMap((e) =>
                e.ErrorCode ? [`${e.ErrorCode}: ${e.ErrorMessage ?? ''}`] : [],
              ),
            );
          }
        } catch (error) {
          failed += chunk.length;
          problems.push(String(error));
        }
      }),
    );
    if (failed > 0)
      throw new OutcomePublishError(
        failed,
        `${failed} outcome event(s) not published: ${problems.join('; ')}`,
      );
  },
});
