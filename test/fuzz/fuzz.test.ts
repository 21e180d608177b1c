/**
 * The fuzz suite's smaller run inside `npm test`: 500 seeded inputs per handler through the built bundles
 * (engine.ts has the checks). `npm run fuzz` runs 10,000 per handler and writes docs/reliability.md.
 * FUZZ_SEED and FUZZ_RUNS override the seed and the count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLERS } from './arbitraries.ts';
import { describeFinding, fuzzHandler, type Harness, startHarness } from './engine.ts';

const SEED = Number(process.env.FUZZ_SEED ?? '20261129');
const RUNS = Math.max(500, Number(process.env.FUZZ_RUNS ?? '500'));

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
}, 120_000);
afterAll(async () => {
  await harness?.close();
});

describe(`fuzz: ${RUNS} seeded inputs per handler (seed ${SEED})`, () => {
  for (const handler of HANDLERS) {
    it(`${handler} never crashes, never calls Glue for invalid input, parks every refusal once`, async () => {
      const run = await fuzzHandler(harness, handler, {
        seed: SEED,
        runs: RUNS,
        shrinkFindings: 3,
        shrinkBudget: 40,
      });
      const report = run.findings.map((f) => describeFinding(f, SEED)).join('\n\n');
      expect(run.stats.inputs).toBe(RUNS);
      expect(run.stats.glueCallsForInvalid, report).toBe(0);
      expect(run.findings.length, report).toBe(0);
    }, 180_000);
  }
});
