/**
 * `npm run fuzz`: the fuzz suite over the four built handlers (engine.ts), 10,000 seeded inputs per handler
 * by default. Prints every distinct failure with its shrunk counterexample and exits non-zero if there is
 * one; after a full run (all four handlers) it rewrites the fuzz section of docs/reliability.md.
 *
 *   npm run fuzz                                   # random seed, printed
 *   npm run fuzz -- --seed 42 --runs 2000          # reproducible
 *   npm run fuzz -- --seed 42 --handler stopFromQueue
 *   npm run fuzz -- --seed 42 --handler stopFromEvent --replay 1234:5:0   # one input, by its path
 *
 * Options: --seed N, --runs N (per handler), --handler NAME (repeatable), --replay PATH (with one
 * --handler), --shrink-budget N (executions per shrink), --handlers-dir DIR (build another checkout's
 * handlers, e.g. to see what the suite finds in an older version), --no-docs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../../scripts/build.ts';
import { HANDLERS, type HandlerName } from './arbitraries.ts';
import {
  describeFinding,
  describeInput,
  fuzzHandler,
  type HandlerRun,
  HEAP_LIMIT_BYTES,
  replay,
  startHarness,
} from './engine.ts';
import { describeModel } from './model.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    runs: { type: 'string', default: '10000' },
    handler: { type: 'string', multiple: true },
    replay: { type: 'string' },
    'shrink-budget': { type: 'string', default: '150' },
    'no-docs': { type: 'boolean', default: false },
    'handlers-dir': { type: 'string' },
  },
});

const integer = (text: string, name: string): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`--${name} must be a whole number, got "${text}"`);
  return value;
};

const seed =
  values.seed !== undefined ? integer(values.seed, 'seed') : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
const runs = integer(values.runs, 'runs');
const shrinkBudget = integer(values['shrink-budget'], 'shrink-budget');
const handlers: HandlerName[] = (values.handler ?? [...HANDLERS]).map((name) => {
  const known = HANDLERS.find((h) => h === name);
  if (!known) throw new Error(`--handler must be one of ${HANDLERS.join(', ')}, got "${name}"`);
  return known;
});

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const duration = (ms: number): string => {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
};

const harness = await startHarness(
  values['handlers-dir'] !== undefined ? { handlersDir: path.resolve(values['handlers-dir']) } : {},
);
let exitCode = 0;
try {
  if (values.replay !== undefined) {
    const [handler] = handlers;
    if (handlers.length !== 1 || !handler) throw new Error('--replay needs exactly one --handler');
    const seen = await replay(harness, handler, seed, values.replay);
    if (!seen) throw new Error(`nothing to replay at path ${values.replay}`);
    console.log(describeInput(seen.input, 4_000));
    const { settled } = seen.observation;
    console.log(
      settled.ok
        ? `answer: ${describeModel(settled.value, 2_000)}`
        : `threw: ${settled.error instanceof Error ? (settled.error.stack ?? settled.error.message) : String(settled.error)}`,
    );
    console.log(`outcome events: ${describeModel(seen.observation.outcomes, 2_000)}`);
    console.log(`parked: ${describeModel(seen.observation.parked, 2_000)}`);
    console.log(`Glue calls: ${describeModel(seen.observation.glueCalls, 1_000)}`);
    for (const f of seen.failures) console.log(`FAIL ${f.check}: ${f.detail}`);
    if (seen.failures.length === 0) console.log('no failure');
    exitCode = seen.failures.length > 0 ? 1 : 0;
  } else {
    console.log(`fuzz: seed ${seed}, ${runs} inputs per handler (${handlers.join(', ')})`);
    const started = Date.now();
    const results: HandlerRun[] = [];
    for (const handler of handlers) {
      const result = await fuzzHandler(harness, handler, {
        seed,
        runs,
        shrinkBudget,
        onProgress: (done, stats) => {
          if (done % 1_000 === 0 || done === runs)
            console.log(
              `  ${handler.padEnd(16)} ${String(done).padStart(6)}/${runs}  ${duration(Date.now() - started).padStart(12)}  ` +
                `failed inputs ${stats.failedInputs}, heap ${mib(process.memoryUsage().heapUsed)}`,
            );
        },
      });
      results.push(result);
      for (const finding of result.findings) {
        const extra = values['handlers-dir'] !== undefined ? ` --handlers-dir ${values['handlers-dir']}` : '';
        console.log(`\n${describeFinding(finding, seed, extra)}`);
      }
    }
    const totalMs = Date.now() - started;
    const findings = results.flatMap((r) => r.findings);
    console.log(
      `\nfuzz: ${findings.length === 0 ? 'no failure' : `${findings.length} distinct failure(s)`}; seed ${seed}; ` +
        `${runs} inputs per handler; ${duration(totalMs)}; peak heap ${mib(harness.heap.peak)}`,
    );
    if (!values['no-docs'] && handlers.length === HANDLERS.length) {
      await writeReliabilityDoc(results, totalMs);
      console.log('docs/reliability.md: fuzz section written');
    }
    exitCode = findings.length > 0 ? 1 : 0;
  }
} finally {
  await harness.close();
}
process.exitCode = exitCode;

/** Rewrites the part of docs/reliability.md between the fuzz markers. */
async function writeReliabilityDoc(results: readonly HandlerRun[], totalMs: number): Promise<void> {
  const file = path.join(projectRoot, 'docs/reliability.md');
  const doc = await readFile(file, 'utf8');
  const start = '<!-- fuzz:start -->';
  const end = '<!-- fuzz:end -->';
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/reliability.md has no ${start} … ${end} section`);
  const findings = results.flatMap((r) => r.findings);
  const glueForInvalid = results.reduce((sum, r) => sum + r.stats.glueCallsForInvalid, 0);
  const lines = [
    start,
    '',
    '### Fuzz suite',
    '',
    '`npm run fuzz` ([`test/fuzz/`](../test/fuzz/run.ts)) sends seeded, generated inputs through the four built',
    'bundles, loaded in-process against the local AWS stand-ins: stop requests, stop events, alarm state',
    "changes, maintenance windows and, on the stop queue, the queue function's own scope tasks; valid,",
    'near-valid, malformed, huge, deep, or wrapped in Lambda invocation records. It checks every one: no crash,',
    'no Glue call for an input the contract refuses, every refusal parked exactly once, naming the field at',
    'fault, and restorable; Stop calls only for views that a valid request or task names inside the',
    'allow-list, no view stopped twice under one root key across the run, every view of a stop task reported',
    'or handed on, every message sent back to the stop queue valid and belonging to a record of its batch; no',
    `prototype pollution, heap under ${mib(HEAP_LIMIT_BYTES)}. \`npm test\` runs 500 inputs per handler of the same suite.`,
    '',
    '| run | |',
    '| --- | --- |',
    `| date | ${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')} |`,
    `| seed | ${seed} (\`npm run fuzz -- --seed ${seed} --runs ${runs}\`) |`,
    `| inputs per handler | ${runs} |`,
    `| duration | ${duration(totalMs)} |`,
    `| peak heap | ${mib(harness.heap.peak)}${harness.gc ? ` (${mib(harness.heap.peakAfterGc)} after full GCs)` : ''} |`,
    `| Glue calls for invalid input | ${glueForInvalid} |`,
    `| distinct failures | ${findings.length} |`,
    '',
    '| handler | inputs | SQS records | Glue faults | EventBridge faults | parked | restorable | Glue calls | Glue calls for invalid input | failed inputs |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      ({ handler, stats: s }) =>
        `| ${handler} | ${s.inputs} | ${handler === 'stopFromQueue' ? s.records : '–'} | ${s.glueFaults} | ` +
        `${s.eventBridgeFaults} | ${s.parked} | ${s.restorable} | ${s.glueCalls} | ${s.glueCallsForInvalid} | ${s.failedInputs} |`,
    ),
    '',
    'What the contract says about the inputs (per SQS record for the queue handler; `task`: a scope task):',
    '',
    '| handler | verdict | count |',
    '| --- | --- | ---: |',
    ...results.flatMap(({ handler, stats }) =>
      [...stats.verdicts.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([v, n]) => `| ${handler} | ${v} | ${n} |`),
    ),
    '',
    'Outcomes by kind and reason (outcome events and answers; per record for the queue handler):',
    '',
    '| handler | outcome (reason) | count |',
    '| --- | --- | ---: |',
    ...results.flatMap(({ handler, stats }) =>
      [...stats.outcomes.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([outcome, n]) => `| ${handler} | ${outcome} | ${n} |`),
    ),
    '',
    ...(findings.length === 0
      ? ['No failure.']
      : [
          'Failures (first input of each; shrunk inputs and replay commands are in the run output):',
          '',
          '| handler | check | inputs |',
          '| --- | --- | ---: |',
          ...findings.map((f) => `| ${f.handler} | ${f.check.replaceAll('|', '\\|')} | ${f.count} |`),
        ]),
    '',
    end,
  ];
  await writeFile(file, `${doc.slice(0, from)}${lines.join('\n')}${doc.slice(to + end.length)}`);
}
