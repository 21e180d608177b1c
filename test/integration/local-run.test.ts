import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/local-run.ts', import.meta.url));

describe('npm start (the local run)', () => {
  it('sends the sample events through the handlers and prints one line per request', async () => {
    const { stdout } = await run(process.execPath, [script], { timeout: 60_000 });

    const lines = stdout.split('\n');
    const outcomeOf = (table: string) =>
      lines
        .filter((line) => line.includes(table) && /^\s+(sqs|eventbridge)\s/.test(line))
        .map((line) => line.trim().split(/\s+/)[1]);
    // The duplicate in the SQS batch may run before or after the original: one stops, the other replays.
    expect(
      outcomeOf('sales.daily_revenue_mv').filter((o) => o === 'stop-requested').length,
    ).toBeGreaterThanOrEqual(2);
    expect(outcomeOf('marketing.campaign_stats_mv')).toEqual(['stop-requested']);
    expect(outcomeOf('sales.inventory_mv')).toEqual(['not-running']);
    expect(outcomeOf('finance.ledger_balances_mv')).toEqual(['stop-requested', 'stop-requested']);
    expect(outcomeOf('finance.fx_rates_mv')).toEqual(['already-stopping']);
    expect(lines.filter((line) => line.includes('rejected')).length).toBe(2);
    expect(stdout).toContain('replayed from the idempotency record, no Glue call');
    expect(stdout).toContain('Glue received 5 stop calls.');
    expect(stdout).toContain('Dead-letter queue holds 2 parked request(s)');
  });
});
