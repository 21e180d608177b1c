/**
 * `npm run mutate`: mutation testing of the core with Stryker (stryker.config.mjs), then the result written
 * into docs/reliability.md between `<!-- mutate:start -->` and `<!-- mutate:end -->`: score per folder and
 * overall, the counts, duration and date, and every mutant no test detected, each either explained as
 * equivalent (test/mutation/equivalent-mutants.json) or marked open.
 *
 *   npm run mutate                      run Stryker, then write the section
 *   npm run mutate -- --report-only     write the section again from the last run's report
 *   npm run mutate -- --incremental     any other argument goes to `stryker run`
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const at = (relative: string) => path.join(ROOT, relative);
const REPORT = 'reports/mutation/mutation.json';
/** What the wrapper knows and the report does not: when the run started and how long it took. */
const RUN_INFO = 'reports/mutation/run.json';
const DOC = 'docs/reliability.md';
const EQUIVALENTS = 'test/mutation/equivalent-mutants.json';
const TEST_CONFIG = 'test/mutation/vitest.config.ts';
const START = '<!-- mutate:start -->';
const END = '<!-- mutate:end -->';

/** The parts of mutation-testing-report-schema (version 3) this script reads. */
interface Position {
  readonly line: number;
  readonly column: number;
}
interface ReportMutant {
  readonly id: string;
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly location: { readonly start: Position; readonly end: Position };
  readonly status: string;
}
interface Report {
  readonly files: Record<string, { readonly source: string; readonly mutants: readonly ReportMutant[] }>;
}
interface RunInfo {
  readonly startedAt: string;
  readonly durationMs: number;
  readonly strykerArgs: readonly string[];
}

/**
 * A surviving mutant explained: equivalent (it changes no behaviour), or, with `open: true`, a real
 * behaviour change left untested on purpose, with why (it stays open in the score and the doc).
 */
interface EquivalentMutant {
  readonly file: string;
  readonly line: number;
  readonly mutator: string;
  readonly replacement: string;
  /** The mutated source text: finds the entry again when edits above it move its line. */
  readonly original?: string;
  readonly reason: string;
  readonly open?: boolean;
}

const UNDETECTED = new Set(['Survived', 'NoCoverage']);

interface Tally {
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  errors: number;
  ignored: number;
  equivalent: number;
}

const emptyTally = (): Tally => ({
  killed: 0,
  timeout: 0,
  survived: 0,
  noCoverage: 0,
  errors: 0,
  ignored: 0,
  equivalent: 0,
});

const count = (tally: Tally, status: string) => {
  if (status === 'Killed') tally.killed += 1;
  else if (status === 'Timeout') tally.timeout += 1;
  else if (status === 'Survived') tally.survived += 1;
  else if (status === 'NoCoverage') tally.noCoverage += 1;
  else if (status === 'CompileError' || status === 'RuntimeError') tally.errors += 1;
  else tally.ignored += 1;
};

/** Stryker's mutation score: detected over valid mutants (errors and ignored ones are not valid). */
const score = (t: Tally, withoutEquivalents = false) => {
  const detected = t.killed + t.timeout;
  const valid = detected + t.survived + t.noCoverage - (withoutEquivalents ? t.equivalent : 0);
  return valid === 0 ? 'n/a' : `${((100 * detected) / valid).toFixed(2)} %`;
};

/** The source text a mutant replaces, on one line. */
const originalText = (source: string, mutant: ReportMutant): string => {
  const lines = source.split('\n');
  const { start, end } = mutant.location;
  const picked =
    start.line === end.line
      ? (lines[start.line - 1] ?? '').slice(start.column - 1, end.column - 1)
      : [
          (lines[start.line - 1] ?? '').slice(start.column - 1),
          ...lines.slice(start.line, end.line - 1),
          (lines[end.line - 1] ?? '').slice(0, end.column - 1),
        ].join('\n');
  return picked.replace(/\s+/g, ' ').trim();
};

const shorten = (text: string, max = 70) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const code = (text: string) => `\`${shorten(text).replaceAll('`', "'")}\``;

const folderOf = (file: string) => file.split('/').slice(0, 2).join('/');

/** Runs a Node script of the project on this Node, in the project root; fails unless it exits with 0. */
const run = async (script: string, args: readonly string[]) => {
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
  if (exitCode !== 0) throw new Error(`${path.basename(script)} ${args.join(' ')} exited with ${exitCode}`);
};

const runStryker = async (args: readonly string[]): Promise<RunInfo> => {
  const startedAt = new Date();
  await run(at('node_modules/@stryker-mutator/core/bin/stryker.js'), ['run', 'stryker.config.mjs', ...args]);
  const info: RunInfo = {
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    strykerArgs: args,
  };
  await writeFile(at(RUN_INFO), `${JSON.stringify(info, null, 2)}\n`);
  return info;
};

const formatDuration = (ms: number) => {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
};

/** The integration test files Stryker runs, as listed in the mutation test config. */
const integrationTests = async () => {
  const config = await readFile(at(TEST_CONFIG), 'utf8');
  return [...config.matchAll(/'test\/integration\/([\w-]+)\.test\.ts'/g)].map((m) => m[1] ?? '');
};

const renderSection = (
  report: Report,
  equivalents: readonly EquivalentMutant[],
  info: RunInfo,
  integration: readonly string[],
): { section: string; stale: EquivalentMutant[]; open: number } => {
  // Every undetected mutant, with the source text it replaces.
  const undetectedMutants = Object.entries(report.files).flatMap(([rawFile, { source, mutants }]) => {
    const file = path.isAbsolute(rawFile) ? path.relative(ROOT, rawFile) : rawFile;
    return mutants
      .filter((mutant) => UNDETECTED.has(mutant.status))
      .map((mutant) => ({ file, mutant, original: originalText(source, mutant) }));
  });
  type Undetected = (typeof undetectedMutants)[number];
  const sameMutation = (e: EquivalentMutant, u: Undetected) =>
    e.file === u.file && e.mutator === u.mutant.mutatorName && e.replacement === (u.mutant.replacement ?? '');
  // An entry explains the mutants of its key (file, line, mutator, replacement); failing that (edits above
  // moved the line), a mutant left with the same mutation of the same text, when as many entries as
  // mutants are left with it.
  const explained = new Map<ReportMutant, EquivalentMutant>();
  const used = new Set<EquivalentMutant>();
  for (const u of undetectedMutants) {
    // One entry may stand for several mutants: the same mutation at several places of one line.
    const entry = equivalents.find((e) => sameMutation(e, u) && e.line === u.mutant.location.start.line);
    if (entry) {
      explained.set(u.mutant, entry);
      used.add(entry);
    }
  }
  const left = undetectedMutants.filter((candidate) => !explained.has(candidate.mutant));
  for (const u of left) {
    if (explained.has(u.mutant)) continue;
    const moved = (e: EquivalentMutant) => !used.has(e) && sameMutation(e, u) && e.original === u.original;
    const entries = equivalents.filter(moved).sort((a, b) => a.line - b.line);
    const rivals = left
      .filter(
        (other) =>
          !explained.has(other.mutant) &&
          other.original === u.original &&
          entries.some((e) => sameMutation(e, other)),
      )
      .sort((a, b) => a.mutant.location.start.line - b.mutant.location.start.line);
    // As many entries as mutants with this mutation of this text: the line order pairs them up.
    if (entries.length === 0 || entries.length !== rivals.length) continue;
    rivals.forEach((rival, index) => {
      const entry = entries[index];
      if (entry === undefined) return;
      explained.set(rival.mutant, entry);
      used.add(entry);
    });
  }

  const byFolder = new Map<string, Tally>();
  const total = emptyTally();
  const undetected: string[] = [];
  let open = 0;
  let mutants = 0;
  for (const [rawFile, { source, mutants: fileMutants }] of Object.entries(report.files).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const file = path.isAbsolute(rawFile) ? path.relative(ROOT, rawFile) : rawFile;
    const folder = folderOf(file);
    const tally = byFolder.get(folder) ?? emptyTally();
    byFolder.set(folder, tally);
    const sorted = [...fileMutants].sort(
      (a, b) =>
        a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column,
    );
    for (const mutant of sorted) {
      mutants += 1;
      count(tally, mutant.status);
      count(total, mutant.status);
      if (!UNDETECTED.has(mutant.status)) continue;
      const original = originalText(source, mutant);
      const entry = explained.get(mutant);
      const what =
        `\`${file}:${mutant.location.start.line}\` ${mutant.mutatorName}` +
        `${mutant.status === 'NoCoverage' ? ' (no coverage)' : ''}: ` +
        `${code(original)} → ${code(mutant.replacement ?? '')}`;
      if (entry && !entry.open) {
        tally.equivalent += 1;
        total.equivalent += 1;
        undetected.push(`- ${what}. Equivalent: ${entry.reason}`);
      } else {
        open += 1;
        undetected.push(`- ${what}. **Open**${entry ? `: ${entry.reason}` : '.'}`);
      }
    }
  }

  const row = (name: string, t: Tally) =>
    `| ${name} | ${score(t)} | ${t.killed} | ${t.timeout} | ${t.survived} | ${t.noCoverage} | ${t.errors} | ` +
    `${t.equivalent} | ${score(t, true)} |`;
  const section = [
    START,
    `Measured by \`npm run mutate\` (scripts/mutate.ts) on ${info.startedAt.slice(0, 10)}: Stryker 10.1.1 with ` +
      `its vitest runner, \`perTest\` coverage, concurrency 2, on the 2-core development machine, in ` +
      `${formatDuration(info.durationMs)}${info.strykerArgs.length > 0 ? ` (\`${info.strykerArgs.join(' ')}\`)` : ''}.`,
    '',
    `Mutated: the core, \`src/stop\`, \`src/policy\` and \`src/request\` (${mutants} mutants). Tests run against ` +
      `each mutant: every unit test, and the integration tests ${integration.map((n) => `\`${n}\``).join(', ')} ` +
      `(${TEST_CONFIG} says why the others are left out).`,
    '',
    '| folder | score | killed | timeout | survived | no coverage | errors | equivalent | score without equivalents |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...[...byFolder.entries()].map(([folder, t]) => row(`\`${folder}\``, t)),
    row('**all**', total),
    '',
    'Score: killed and timed-out mutants over all valid ones (errors are not valid). "Equivalent": survivors ' +
      `explained in \`${EQUIVALENTS}\` as changing no behaviour; the last column leaves them out.`,
    '',
    undetected.length === 0
      ? 'Every mutant was detected.'
      : `Mutants no test detected (${undetected.length}; ${open} open):`,
    ...(undetected.length === 0 ? [] : ['', ...undetected]),
    END,
  ].join('\n');
  return { section, stale: equivalents.filter((e) => !used.has(e)), open };
};

const main = async () => {
  const args = process.argv.slice(2);
  const reportOnly = args.includes('--report-only');
  const info = reportOnly
    ? (JSON.parse(await readFile(at(RUN_INFO), 'utf8')) as RunInfo)
    : await runStryker(args);
  const report = JSON.parse(await readFile(at(REPORT), 'utf8')) as Report;
  const equivalents = (JSON.parse(await readFile(at(EQUIVALENTS), 'utf8')) as { mutants: EquivalentMutant[] })
    .mutants;
  const { section, stale, open } = renderSection(report, equivalents, info, await integrationTests());

  const doc = await readFile(at(DOC), 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC} has no ${START} … ${END} section`);
  await writeFile(at(DOC), doc.slice(0, start) + section + doc.slice(end + END.length));
  console.log(`\n${DOC} updated: ${open} open survivor(s).`);
  for (const entry of stale) {
    console.warn(`  stale entry in ${EQUIVALENTS}, no surviving mutant matches: ${JSON.stringify(entry)}`);
  }
};

await main();
