import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stopEvent } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { LOCAL_ACCOUNT_ID } from '../../local/local-aws.ts';
import { StopRetryError } from '../../src/stop/errors.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const STOP = 'StopMaterializedViewRefreshTaskRun';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    glue: { deny: (request) => request.databaseName === 'restricted' },
    policy: {
      allow: [
        { database: '*', tables: ['*'] },
        { catalogId: '111122223333', database: 'sales', tables: ['*'] },
      ],
      dryRun: false,
      costGuards: [],
    },
  });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  h.local.glue.reset();
  h.outcomes.length = 0;
  await h.takeDeadLetters();
});

describe('EventBridge handler outcomes', () => {
  it("stops in the function's own account, never the publisher's", async () => {
    const runId = h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const event = stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' }, { account: '210987654321' });

    const outcome = await h.eventHandler(event, lambdaContext());

    expect(outcome).toMatchObject({
      outcome: 'stop-requested',
      trigger: 'eventbridge',
      eventId: event.id,
      idempotencyKey: `event:${event.id}`,
      target: { CatalogId: LOCAL_ACCOUNT_ID },
    });
    expect(h.local.glue.calls.map((c) => c.input.CatalogId)).toEqual([LOCAL_ACCOUNT_ID]);
    expect(h.local.glue.getRun(runId)?.status).toBe('STOPPED');
  });

  it('stops in another catalog only when an allow rule names it', async () => {
    h.local.glue.seedRun({ catalogId: '111122223333', databaseName: 'sales', tableName: 'daily_mv' });

    const outcome = await h.eventHandler(
      stopEvent({ CatalogId: '111122223333', DatabaseName: 'sales', TableName: 'daily_mv' }),
      lambdaContext(),
    );

    expect(outcome).toMatchObject({ outcome: 'stop-requested', target: { CatalogId: '111122223333' } });
  });

  it("refuses another account's catalog that no allow rule names, without calling Glue", async () => {
    const outcome = await h.eventHandler(
      stopEvent({ CatalogId: '444455556666', DatabaseName: 'sales', TableName: 'daily_mv' }),
      lambdaContext(),
    );

    expect(outcome).toMatchObject({ outcome: 'not-allowed', reason: 'catalog-not-allowed' });
    expect(h.local.glue.callCount()).toBe(0);
  });

  it.each([
    [{ stopping: true }, 'already-stopping'],
    [{ status: 'STOPPED' as const }, 'not-running'],
  ])('returns terminal outcomes as values (%o → %s)', async (run, expected) => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv', ...run });

    const outcome = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' }),
      lambdaContext(),
    );

    expect(outcome.outcome).toBe(expected);
  });

  it('parks an invalid event whole, with the reason, and does not fail the invocation', async () => {
    const event = stopEvent({ DatabaseName: 'sales', TableName: 'x'.repeat(256) });

    const outcome = await h.eventHandler(event, lambdaContext());

    expect(outcome).toMatchObject({ outcome: 'rejected', reason: 'invalid-request' });
    expect(h.local.glue.callCount()).toBe(0);
    const [parked] = await h.takeDeadLetters();
    expect(JSON.parse(parked?.Body ?? '{}')).toEqual(event);
    expect(parked?.MessageAttributes?.['glue-mv-stop.detail']?.StringValue).toBe(
      'detail.TableName: must be at most 255 characters (max-length)',
    );
    expect(parked?.MessageAttributes?.['glue-mv-stop.event-id']?.StringValue).toBe(event.id);
  });

  it('refuses an event with another detail-type', async () => {
    const outcome = await h.eventHandler(
      stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' }, { 'detail-type': 'Start Refresh' }),
      lambdaContext(),
    );

    expect(outcome).toMatchObject({
      outcome: 'rejected',
      detail: 'detail-type: must be "Stop Materialized View Refresh" (value)',
    });
    expect(h.local.glue.callCount()).toBe(0);
  });

  it('parks AccessDenied at once instead of failing the invocation', async () => {
    h.local.glue.seedRun({ databaseName: 'restricted', tableName: 'salaries_mv' });

    const outcome = await h.eventHandler(
      stopEvent({ DatabaseName: 'restricted', TableName: 'salaries_mv' }),
      lambdaContext(),
    );

    expect(outcome).toMatchObject({ outcome: 'rejected', reason: 'glue-access-denied' });
    expect(await h.takeDeadLetters()).toHaveLength(1);
  });

  it('fails the invocation on a transient failure so Lambda retries it, and the retry succeeds', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    h.local.glue.injectFault({ operation: STOP, kind: 'operation-timeout' });
    const event = stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' });

    await expect(h.eventHandler(event, lambdaContext())).rejects.toBeInstanceOf(StopRetryError);
    const retried = await h.eventHandler(event, lambdaContext());

    expect(retried.outcome).toBe('stop-requested');
    expect(h.outcomes.map((o) => o.outcome)).toEqual(['retry', 'stop-requested']);
    expect(await h.takeDeadLetters()).toHaveLength(0);
  });

  it('answers a redelivered event from the idempotency record without calling Glue', async () => {
    h.local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const event = stopEvent({ DatabaseName: 'sales', TableName: 'daily_mv' });

    const first = await h.eventHandler(event, lambdaContext());
    const second = await h.eventHandler(event, lambdaContext());

    expect([first.replayed, second.replayed]).toEqual([false, true]);
    expect(second.outcome).toBe(first.outcome);
    expect(h.local.glue.callCount(STOP)).toBe(1);
  });
});
