import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { schedulePayloadTemplate } from '../../src/policy/schedule-payload.ts';
import { parseStackConfig } from '../../src/policy/stack-config.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url);
const script = fileURLToPath(new URL('local/run.ts', root));
const readJson = async (file: string) => JSON.parse(await readFile(new URL(file, root), 'utf8'));

describe('npm start (the local run)', () => {
  it('sends the sample events through the handlers and prints one line per request', {
    timeout: 90_000,
  }, async () => {
    const { stdout } = await run(process.execPath, [script], { timeout: 80_000 });

    const lines = stdout.split('\n');
    const outcomeOf = (target: string) =>
      lines
        .filter(
          (line) => line.includes(` ${target} `) && /^\s+(↳ )?(sqs|eventbridge|alarm|schedule)\s/.test(line),
        )
        .map((line) => line.replace('↳', '').trim().split(/\s+/)[1]);
    // The duplicate in the SQS batch may run before or after the original: one stops, the other replays.
    expect(
      outcomeOf('sales.daily_revenue_mv').filter((o) => o === 'stop-requested').length,
    ).toBeGreaterThanOrEqual(2);
    expect(outcomeOf('marketing.campaign_stats_mv')).toEqual(['stop-requested']);
    expect(outcomeOf('sales.inventory_mv')).toEqual(['not-running']);
    expect(outcomeOf('finance.ledger_balances_mv')).toEqual(['stop-requested', 'stop-requested']);
    expect(outcomeOf('finance.fx_rates_mv')).toEqual(['already-stopping', 'already-stopping']);
    // A scope: handed to the stop queue, expanded there, and its one stop task.
    expect(outcomeOf('marketing.{campaign_*}')).toEqual(['expanded', 'expanded', 'expanded']);
    expect(outcomeOf('marketing.campaign_clicks_mv')).toEqual(['stop-requested']);
    expect(outcomeOf('marketing.audience_mv')).toEqual(['dry-run']);
    expect(outcomeOf('hr.salaries_mv')).toEqual(['not-allowed']);
    expect(outcomeOf('sales.{*}')).toEqual(['expanded', 'expanded', 'expanded']);
    expect(outcomeOf('sales.orders_mv')).toEqual(['stop-requested']);
    expect(outcomeOf('finance.{*}')).toEqual(['expanded', 'expanded', 'expanded']);
    // The window's refresh that started after it fired is left out of the stop task by the expansion.
    expect(outcomeOf('finance.risk_mv')).toEqual([]);
    expect(stdout).toMatch(/finance\.\{\*\}\s.*1 started after the request was issued, left alone/);
    expect(outcomeOf('finance.positions_mv')).toEqual(['stop-requested']);
    expect(stdout).toContain('replayed from the idempotency record, no Glue call');
    expect(stdout).toContain('Glue received 11 stop calls.');
    expect(stdout).toContain('Dead-letter queue holds 3 parked request(s)');
    expect(stdout).toMatch(/finance\.risk_mv\s+RUNNING/);
  });

  it("ships a scheduler sample that is what config/local.json's window schedule sends", async () => {
    const config = parseStackConfig(await readJson('config/local.json'));
    const sample = await readJson('events/scheduler-delivery.json');
    const [window] = config.maintenanceWindows;
    if (!window) throw new Error('config/local.json declares a window');

    const template = JSON.parse(schedulePayloadTemplate(window));

    expect({
      ...sample,
      scheduledTime: template.scheduledTime,
      executionId: template.executionId,
      scheduleArn: template.scheduleArn,
      attemptNumber: template.attemptNumber,
    }).toEqual(template);
  });

  it("ships an alarm sample for config/local.json's cost guard", async () => {
    const config = parseStackConfig(await readJson('config/local.json'));
    const sample = await readJson('events/alarm-state-change.json');

    expect(config.costGuards.map((g) => g.alarmName)).toContain(sample.detail.alarmName);
  });
});
