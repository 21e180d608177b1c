/**
 * `npm run chaos`: the reliability suite over the built queue bundle. 1,000 exact stop requests and 20
 * scope requests (by default) go through the stop queue into `stopFromQueue` bundles running in child
 * processes (the Lambda execution environments) over the emulators, while Glue misbehaves (throttling,
 * 5xx, OperationTimeout, connection resets, late answers, no answers, poison), invocations are SIGKILLed,
 * and handled messages are delivered again after new runs of their views started. The queue function
 * expands each scope into stop tasks on its own queue, which the simulated event source delivers like any
 * message. The oracle (`oracle.ts`) then checks from the emulators' records and the dead-letter queue that
 * nothing was lost, nothing stopped twice, no run that started after a request was issued was stopped, and
 * every request and scope view was stopped or parked with a reason; and that no invocation reached the
 * function timeout. `suite.ts` runs it.
 *
 * Prints the figures, replaces the chaos section of docs/reliability.md, and exits 1 if a target is missed.
 *
 * Options: `--seed N` (default 20261129), `--requests N` (exact requests, default 1000), `--scopes N`
 * (scope requests of 10 to 50 views each, default 20; 0 for none), `--glue-rate N` (each instance's Glue
 * budget in calls per second, default 5; 0 for none), `--time-limit-minutes N` (default 13: the queue must
 * drain before then, the run ends regardless), `--no-write` (leave the docs alone).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../scripts/build.ts';
import { renderMarkdown, replaceSection, targets } from './report.ts';
import { runChaos } from './suite.ts';

const DEFAULT_SEED = 20261129;
const DEFAULT_REQUESTS = 1000;
/** About 600 scope views: with the exact requests, the run stays within about 8 minutes on 2 cores. */
const DEFAULT_SCOPES = 20;
/**
 * Each instance's Glue budget. The deployed functions always run with one (GLUE_MAX_REQUESTS_PER_SECOND,
 * the stage's budget over the instances that can call Glue): the ci stage's share (20/s over 4 instances)
 * gives stop tasks of 20 views. The default stage's share (10/s over 6) would make the run far longer.
 */
const DEFAULT_GLUE_RATE = 5;
const WORK_DIR = path.join(projectRoot, '.build', 'chaos');
const DOC = path.join(projectRoot, 'docs', 'reliability.md');

const wholeNumber = (raw: string | undefined, fallback: number, name: string, min = 1): number => {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
    throw new Error(`--${name} must be a whole number of at least ${min}, got "${raw}"`);
  }
  return value;
};

const main = async (): Promise<number> => {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      requests: { type: 'string' },
      scopes: { type: 'string' },
      'glue-rate': { type: 'string' },
      'time-limit-minutes': { type: 'string' },
      'no-write': { type: 'boolean', default: false },
    },
  });
  const seed = wholeNumber(values.seed, DEFAULT_SEED, 'seed');
  const requests = wholeNumber(values.requests, DEFAULT_REQUESTS, 'requests');
  const scopes = wholeNumber(values.scopes, DEFAULT_SCOPES, 'scopes', 0);
  const glueRate = wholeNumber(values['glue-rate'], DEFAULT_GLUE_RATE, 'glue-rate', 0);
  const limitMs = wholeNumber(values['time-limit-minutes'], 13, 'time-limit-minutes') * 60_000;

  // The run ends by itself: the drain stops at its deadline; this is the last resort.
  const hardStop = setTimeout(() => {
    console.error(`chaos: hard time limit reached (${limitMs / 60_000} min + 1 min); exiting`);
    process.exit(3);
  }, limitMs + 60_000);
  hardStop.unref();

  try {
    const run = await runChaos({
      seed,
      requests,
      scopes,
      ...(glueRate > 0 ? { glueRate } : {}),
      timeLimitMs: limitMs,
      workDir: WORK_DIR,
      log: (line) => console.log(line),
    });
    const markdown = renderMarkdown(run.figures);
    console.log(`\n${markdown}\n`);
    for (const line of run.problemLines.slice(0, 40)) console.log(line);
    const problemPath = path.join(WORK_DIR, 'problems.json');
    await writeFile(problemPath, `${JSON.stringify(run.problems, null, 2)}\n`);
    const eventsPath = path.join(WORK_DIR, 'outcome-events.json');
    await writeFile(eventsPath, `${JSON.stringify(run.outcomeEvents)}\n`);
    await writeFile(path.join(WORK_DIR, 'figures.json'), `${JSON.stringify(run.figures, null, 2)}\n`);
    console.log(
      `chaos: the environments' logs are in ${path.relative(projectRoot, run.logPath)}, the outcome events ` +
        `in ${path.relative(projectRoot, eventsPath)}; the requests and scope views that missed a target in ` +
        path.relative(projectRoot, problemPath),
    );

    if (!values['no-write']) {
      // Read right before writing: other scripts write other sections of the same file.
      const doc = await readFile(DOC, 'utf8');
      await writeFile(DOC, replaceSection(doc, markdown));
      console.log(`chaos: wrote the chaos section of ${path.relative(projectRoot, DOC)}`);
    }
    const missed = targets(run.figures).filter((t) => !t.met);
    for (const t of missed) console.log(`chaos: target missed: ${t.target} (${t.result})`);
    return missed.length === 0 ? 0 : 1;
  } finally {
    clearTimeout(hardStop);
  }
};

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('chaos: failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 2;
  },
);
