import { defineConfig } from 'vitest/config';
import type { Reporter } from 'vitest/node';

/** Ends the run with one plain line, `tests: N passed, N failed, N skipped`, for logs and CI. */
const plainSummary: Reporter = {
  onTestRunEnd(testModules) {
    const count = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    for (const testModule of testModules) {
      for (const test of testModule.children.allTests()) count[test.result().state] += 1;
    }
    console.log(
      `tests: ${count.passed} passed, ${count.failed} failed, ${count.skipped + count.pending} skipped`,
    );
  },
};

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A folder for the run's packaged stacks, shared by the test files of test/template.
    globalSetup: ['test/template/global-setup.ts'],
    reporters: ['default', plainSummary],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Dummy credentials and region: nothing in the tests may reach real AWS.
    env: {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'glue-mv-stop-test',
    },
  },
});
