// Mutation testing of the core (src/stop, src/policy, src/request: no AWS SDK there) with the unit tests
// and the integration tests that exercise it. Run it with `npm run mutate`, which also writes the result
// into docs/reliability.md; `npx stryker run` alone only writes reports/mutation/.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'test/mutation/vitest.config.ts' },
  mutate: ['src/stop/**/*.ts', 'src/policy/**/*.ts', 'src/request/**/*.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  // TypeScript 7 has no JavaScript API, so Stryker's tsconfig rewriting step (which imports `typescript`)
  // cannot run. It is skipped when the named file does not exist; the sandbox needs no rewriting anyway
  // (tsconfig.json has no `extends` or `references`).
  tsconfigFile: 'stryker-skips-tsconfig-rewrite.json',
  checkers: [],
  reporters: ['json', 'html', 'clear-text', 'progress'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  incrementalFile: 'reports/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  // Not needed by the tests above, and written by other tools while a run copies the project.
  ignorePatterns: [
    '.serverless',
    '.build',
    'dist',
    'coverage',
    'reports',
    'bench',
    'test/chaos',
    'test/fuzz',
    'test/template',
  ],
  // Stryker's timeout is 1.5 × the covering tests' time + this + the dry run's overhead. On a loaded
  // machine the default 5 s let slow-but-passing runs count as timeouts (detected): 10 s keeps them honest.
  timeoutMS: 10_000,
  thresholds: { high: 95, low: 90, break: null },
};
