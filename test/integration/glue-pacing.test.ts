import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqsEvent, sqsRecord } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/**
 * The runtime's client-side pacing, seen where it matters: at Glue. One instance (one runtime, as a
 * Lambda instance has) handles a batch whose records all want Glue at once; the emulator records when
 * each call arrived. Whether each operation has its own budget or both share one, no operation may
 * receive calls faster than the configured rate.
 */
const REQUESTS_PER_SECOND = 2;
const INTERVAL_MS = 1000 / REQUESTS_PER_SECOND;
const CALLS_PER_OPERATION = 3;
/** Timers may fire a millisecond early against Date.now. */
const CLOCK_SLACK_MS = 5;
const STOP = 'StopMaterializedViewRefreshTaskRun';
const LIST = 'ListMaterializedViewRefreshTaskRuns';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ glueMaxRequestsPerSecond: REQUESTS_PER_SECOND });
});
afterAll(async () => {
  await h?.close();
});

const arrivals = (operation: string) =>
  h.local.glue.calls
    .filter((call) => call.operation === operation)
    .map((call) => call.at)
    .sort((a, b) => a - b);

describe('Glue pacing of one function instance (glueMaxRequestsPerSecond)', () => {
  it('spaces both Stop and List calls at the configured rate when a batch wants them all at once', async () => {
    // Exact requests without a guard make one Stop call each; dry runs make one List call each.
    const records = Array.from({ length: CALLS_PER_OPERATION }, (_, i) => {
      h.local.glue.seedRun({ databaseName: 'sales', tableName: `stop_${i}_mv` });
      h.local.glue.seedRun({ databaseName: 'sales', tableName: `list_${i}_mv` });
      return [
        sqsRecord({ DatabaseName: 'sales', TableName: `stop_${i}_mv` }),
        sqsRecord({ DatabaseName: 'sales', TableName: `list_${i}_mv`, DryRun: true }),
      ];
    }).flat();

    const handlingStarted = Date.now();
    const response = await h.queueHandler(sqsEvent(...records), lambdaContext());

    expect(response.batchItemFailures).toEqual([]);
    for (const operation of [STOP, LIST]) {
      const times = arrivals(operation);
      expect(times, operation).toHaveLength(CALLS_PER_OPERATION);
      // Paced, the k-th call (from 0) cannot go before k intervals after handling started; a loaded
      // machine only ever delays calls. Unpaced, all of them arrive within the first few milliseconds.
      const offsets = times.map((time) => time - handlingStarted);
      const early = offsets.flatMap((offset, k) =>
        offset < k * INTERVAL_MS - CLOCK_SLACK_MS ? [`call ${k} at +${offset} ms`] : [],
      );
      expect(early, `${operation} calls ahead of the rate (arrivals +${offsets.join(', +')} ms)`).toEqual([]);
    }
  });
});
