/**
 * EventBridge adapter: publishes final outcomes as events, the stack's audit trail and the hook for
 * notifications. Ten per PutEvents call; entries that fail are reported, never retried into the
 * request's outcome (a failure to publish is logged and counted by the caller).
 */
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { StopOutcome } from '../stop/outcome.ts';
import type { OutcomePublisher } from '../stop/ports.ts';

export const OUTCOME_EVENT_SOURCE = 'glue-mv-stop';
export const OUTCOME_EVENT_DETAIL_TYPE = 'Materialized View Refresh Stop Outcome';

/** Long details are cut, on a code point boundary, so ten events always fit one PutEvents call (256 KB). */
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

export const createOutcomeEventPublisher = (
  eventBridge: EventBridgeClient,
  eventBusName: string,
): OutcomePublisher => ({
  async publish(outcomes) {
    let failed = 0;
    const problems: string[] = [];
    for (let i = 0; i < outcomes.length; i += 10) {
      const chunk = outcomes.slice(i, i + 10);
      try {
        const response = await eventBridge.send(
          new PutEventsCommand({
            Entries: chunk.map((outcome) => ({
              EventBusName: eventBusName,
              Source: OUTCOME_EVENT_SOURCE,
              DetailType: OUTCOME_EVENT_DETAIL_TYPE,
              Detail: JSON.stringify(outcomeEventDetail(outcome)),
            })),
          }),
        );
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
    }
    if (failed > 0)
      throw new OutcomePublishError(
        failed,
        `${failed} outcome event(s) not published: ${problems.join('; ')}`,
      );
  },
});
