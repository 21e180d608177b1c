import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { alarmStateChange, scheduleDelivery } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { schedulePayloadTemplate } from '../../src/policy/schedule-payload.ts';
import { parseStackConfig } from '../../src/policy/stack-config.ts';
import type { StopOutcome } from '../../src/stop/outcome.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const STOP = 'StopMaterializedViewRefreshTaskRun';
const config = parseStackConfig({
  allow: [{ database: 'sales' }, { database: 'marketing', tables: ['campaign_*'] }],
  costGuards: [
    { alarmName: 'sales-glue-dpu-spend', scope: { database: 'sales' } },
    {
      alarmName: 'marketing-refresh-cost',
      scope: { database: 'marketing', tables: ['campaign_*'] },
      dryRun: true,
    },
  ],
  maintenanceWindows: [
    {
      name: 'weekend-maintenance',
      schedule: 'cron(0 2 ? * SAT *)',
      timezone: 'Europe/Berlin',
      scope: { database: 'sales' },
    },
  ],
});
const [window] = config.maintenanceWindows;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    policy: { allow: config.allow, dryRun: config.dryRun, costGuards: config.costGuards },
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

const seedSales = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    h.local.glue.seedRun({ databaseName: 'sales', tableName: `view_${i}_mv` }),
  );

describe('cost guards', () => {
  it('stops the configured scope when the alarm goes into ALARM', async () => {
    const runs = seedSales(3);
    const event = alarmStateChange('sales-glue-dpu-spend', { from: 'OK', to: 'ALARM' });

    const outcome = (await h.alarmHandler(event, lambdaContext())) as StopOutcome;
    const glueCallsOfTheAlarmFunction = h.local.glue.callCount();
    await h.drainStopQueue();

    // The alarm function hands the scope to the stop queue, without a Glue call; the queue function stops.
    expect(outcome).toMatchObject({
      outcome: 'expanded',
      trigger: 'alarm',
      queued: 1,
      idempotencyKey: `event:${event.id}`,
      requestedBy: 'cloudwatch-alarm:sales-glue-dpu-spend',
    });
    expect(outcome.requestReason).toContain('went from OK to ALARM: Threshold Crossed');
    expect(glueCallsOfTheAlarmFunction).toBe(0);
    expect(runs.map((id) => h.local.glue.getRun(id)?.status)).toEqual(['STOPPED', 'STOPPED', 'STOPPED']);
    expect(
      h.outcomes
        .filter((o) => o.target !== undefined)
        .map((o) => [o.outcome, o.requestedBy, o.parentIdempotencyKey !== undefined]),
    ).toEqual(Array(3).fill(['stop-requested', 'cloudwatch-alarm:sales-glue-dpu-spend', true]));
  });

  it.each([
    ['ALARM', 'ALARM', 'ALARM → ALARM re-evaluation'],
    ['ALARM', 'OK', 'state is now OK'],
    ['OK', 'INSUFFICIENT_DATA', 'state is now INSUFFICIENT_DATA'],
  ])('does nothing on %s → %s, and says so', async (from, to, why) => {
    seedSales(2);

    const result = await h.alarmHandler(
      alarmStateChange('sales-glue-dpu-spend', { from, to }),
      lambdaContext(),
    );

    expect(result).toMatchObject({ outcome: 'alarm-ignored', alarmName: 'sales-glue-dpu-spend' });
    expect('why' in result ? result.why : '').toContain(why);
    expect(h.local.glue.callCount()).toBe(0);
  });

  it('acts once on a redelivered alarm event', async () => {
    seedSales(2);
    const event = alarmStateChange('sales-glue-dpu-spend', { from: 'OK', to: 'ALARM' });

    await h.alarmHandler(event, lambdaContext());
    const again = (await h.alarmHandler(event, lambdaContext())) as StopOutcome;
    await h.drainStopQueue();

    expect(again).toMatchObject({ outcome: 'expanded', replayed: true });
    expect(h.local.glue.callCount(STOP)).toBe(2);
  });

  it('ignores an alarm that no cost guard names', async () => {
    seedSales(1);

    const result = await h.alarmHandler(
      alarmStateChange('someone-elses-alarm', { from: 'OK', to: 'ALARM' }),
      lambdaContext(),
    );

    expect(result).toMatchObject({
      outcome: 'alarm-ignored',
      why: 'no cost guard is configured for this alarm',
    });
    expect(h.local.glue.callCount()).toBe(0);
  });

  it("applies a guard's dry-run to everything it expands", async () => {
    h.local.glue.seedRun({ databaseName: 'marketing', tableName: 'campaign_daily' });

    await h.alarmHandler(
      alarmStateChange('marketing-refresh-cost', { from: 'OK', to: 'ALARM' }),
      lambdaContext(),
    );
    await h.drainStopQueue();

    // The hand-off, the expansion, the view and the task that rehearsed it: all dry runs.
    expect(h.outcomes.map((o) => [o.outcome, o.dryRun])).toEqual([
      ['expanded', true],
      ['expanded', true],
      ['dry-run', true],
      ['expanded', true],
    ]);
    expect(h.local.glue.callCount(STOP)).toBe(0);
  });

  it('does not stop a refresh that started after the alarm fired', async () => {
    const firedAt = new Date(Date.now() - 60_000);
    const late = h.local.glue.seedRun({
      databaseName: 'sales',
      tableName: 'late_mv',
      startTime: new Date(firedAt.getTime() + 30_000),
    });
    const early = h.local.glue.seedRun({
      databaseName: 'sales',
      tableName: 'early_mv',
      startTime: new Date(firedAt.getTime() - 30_000),
    });

    await h.alarmHandler(
      alarmStateChange('sales-glue-dpu-spend', { from: 'OK', to: 'ALARM', at: firedAt }),
      lambdaContext(),
    );
    await h.drainStopQueue();

    expect(h.local.glue.getRun(early)?.status).toBe('STOPPED');
    expect(h.local.glue.getRun(late)?.status).toBe('RUNNING');
    // The alarm's time is the scope's IssuedAt: the expansion leaves the later run out of every task.
    const expansion = h.outcomes.find((o) => o.outcome === 'expanded' && o.trigger === 'sqs');
    expect(expansion?.detail).toContain('1 started after the request was issued, left alone');
    expect(h.outcomes.filter((o) => o.target !== undefined).map((o) => o.target?.TableName)).toEqual([
      'early_mv',
    ]);
    expect(h.local.glue.calls.filter((c) => c.operation === STOP).map((c) => c.input.TableName)).toEqual([
      'early_mv',
    ]);
  });

  it('parks an event that is not an alarm state change', async () => {
    const result = await h.alarmHandler(
      { id: 'x', source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', detail: {} },
      lambdaContext(),
    );

    expect(result).toMatchObject({ outcome: 'rejected', reason: 'invalid-request' });
    expect(await h.takeDeadLetters()).toHaveLength(1);
  });
});

describe('maintenance windows', () => {
  if (!window) throw new Error('the test configuration has a window');
  const template = schedulePayloadTemplate(window);

  it('stops the window scope on a scheduled delivery', async () => {
    const runs = seedSales(4);

    const outcome = await h.scheduleHandler(
      scheduleDelivery(template, {
        scheduledTime: new Date(Date.now() + 5_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      }),
      lambdaContext(),
    );
    await h.drainStopQueue();

    expect(outcome).toMatchObject({
      outcome: 'expanded',
      trigger: 'schedule',
      queued: 1,
      requestedBy: 'schedule:weekend-maintenance',
    });
    expect(runs.map((id) => h.local.glue.getRun(id)?.status)).toEqual(Array(4).fill('STOPPED'));
  });

  it('treats a retried delivery of the same occurrence as a duplicate, even with a new execution id', async () => {
    seedSales(2);
    const scheduledTime = new Date(Date.now() + 5_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

    const first = await h.scheduleHandler(
      scheduleDelivery(template, { scheduledTime, executionId: 'a1b2c3d4e5f60001' }),
      lambdaContext(),
    );
    const retried = await h.scheduleHandler(
      scheduleDelivery(template, { scheduledTime, executionId: 'a1b2c3d4e5f60002', attemptNumber: 2 }),
      lambdaContext(),
    );
    await h.drainStopQueue();

    expect(first.idempotencyKey).toBe(`key:schedule:weekend-maintenance@${scheduledTime}`);
    expect(retried).toMatchObject({
      outcome: 'expanded',
      replayed: true,
      idempotencyKey: first.idempotencyKey,
    });
    expect(h.local.glue.callCount(STOP)).toBe(2);
  });

  it('parks a payload that does not match the schedule contract', async () => {
    const outcome = await h.scheduleHandler(
      { window: 'weekend-maintenance', scope: { database: 'sales' } },
      lambdaContext(),
    );

    expect(outcome).toMatchObject({ outcome: 'rejected', reason: 'invalid-request' });
    expect(outcome.detail).toContain('scheduledTime');
  });
});

describe('redriving dead letters of cost guards and windows through the stop queue', () => {
  it('acts on a redriven alarm state change once, keyed by the alarm event', async () => {
    const runs = seedSales(2);
    const event = alarmStateChange('sales-glue-dpu-spend', { from: 'OK', to: 'ALARM' });

    await h.sendToStopQueue(event);
    await h.sendToStopQueue({ requestContext: { condition: 'RetriesExhausted' }, requestPayload: event });
    await h.drainStopQueue();

    // The queue function expands a redriven alarm itself; its stop tasks report under their own keys.
    const expansions = h.outcomes.filter(
      (o) => o.outcome === 'expanded' && !o.idempotencyKey?.startsWith('task-'),
    );
    expect(expansions.map((o) => [o.idempotencyKey, o.replayed]).sort()).toEqual([
      [`event:${event.id}`, false],
      [`event:${event.id}`, true],
    ]);
    expect(runs.map((id) => h.local.glue.getRun(id)?.status)).toEqual(['STOPPED', 'STOPPED']);
    expect(h.local.glue.callCount(STOP)).toBe(2);
  });

  it('does nothing for a redriven alarm change that is not into ALARM', async () => {
    seedSales(1);

    await h.sendToStopQueue(alarmStateChange('sales-glue-dpu-spend', { from: 'ALARM', to: 'OK' }));
    const report = await h.drainStopQueue();

    expect(report.batchItemFailures).toBe(0);
    expect(h.outcomes).toEqual([]);
    expect(h.local.glue.callCount()).toBe(0);
  });

  it('acts on a redriven window payload with the key of its scheduled occurrence', async () => {
    if (!window) throw new Error('the test configuration has a window');
    seedSales(1);
    const scheduledTime = new Date(Date.now() + 5_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

    await h.sendToStopQueue(scheduleDelivery(schedulePayloadTemplate(window), { scheduledTime }));
    await h.drainStopQueue();

    expect(h.outcomes.find((o) => o.outcome === 'expanded')?.idempotencyKey).toBe(
      `key:schedule:weekend-maintenance@${scheduledTime}`,
    );
    expect(h.local.glue.callCount(STOP)).toBe(1);
  });
});
