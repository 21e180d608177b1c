/**
 * The tests Stryker runs against each mutant of the core (`npm run mutate`): every unit test, plus the two
 * integration tests that drive the core through a real trigger and finish in well under a second
 * (stop-event, outcome-events). On two shared cores every test file a mutant reruns costs its imports
 * again, so the other integration tests are left out: the stop-queue tests (17 tests, one waits out a
 * throttled retry), those that drain the stop queue (scope, cost-guard-and-window, fan-out: each waits out
 * idle polls and visibility timeouts), bundle and local-run (they build or spawn, so no mutant reaches
 * them), idempotency (its dying-child test alone takes 15 s), and the template and emulator tests.
 */
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import base from '../../vitest.config.ts';

export const MUTATION_TEST_FILES = [
  'test/unit/**/*.test.ts',
  'test/integration/stop-event.test.ts',
  'test/integration/outcome-events.test.ts',
];

/**
 * Unit tests first, and within each group the quickest files first (by the last run's durations): most
 * mutants die in milliseconds there, and Stryker stops at the first failing test.
 */
class QuickTestsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const group = (spec: TestSpecification) => (spec.moduleId.includes('/test/unit/') ? 0 : 1);
    const duration = (spec: TestSpecification) =>
      this.ctx.cache.getTestSpecificationResult(spec)?.duration ?? 0;
    return [...files].sort(
      (a, b) => group(a) - group(b) || duration(a) - duration(b) || a.moduleId.localeCompare(b.moduleId),
    );
  }
}

// Spread, not mergeConfig: mergeConfig would append these files to the base `include` instead of replacing it.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: MUTATION_TEST_FILES,
    // The template tests' global setup packages the stack: none of the tests here needs it.
    globalSetup: [],
    // A mutant that leaves a promise unsettled fails its test after 5 s (no test here needs 2 s), instead
    // of waiting out Stryker's own timeout, which also costs a restart of the test runner.
    testTimeout: 5_000,
    reporters: ['default'],
    sequence: { sequencer: QuickTestsFirst },
  },
});
