/**
 * `npm start`'s command line (local/run.ts), run as a child process on this Node (24): help, usage errors
 * as one line with exit status 2, and file paths read from the directory npm was run in.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SCRIPT = path.join(ROOT, 'local', 'run.ts');
const EVENTS = path.join(ROOT, 'events');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs local/run.ts; INIT_CWD only when given (the test run's own npm may have set one). */
const runScript = (
  args: readonly string[],
  { cwd = ROOT, initCwd }: { cwd?: string; initCwd?: string } = {},
): Promise<Run> => {
  const env = { ...process.env };
  delete env.INIT_CWD;
  if (initCwd) env.INIT_CWD = initCwd;
  return new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error && typeof error.code === 'number' ? error.code : error ? -1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
};

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

describe('npm start: help', () => {
  it.each([['--help'], ['-h']])('%s prints the usage and exits 0 without running anything', async (flag) => {
    const { code, stdout, stderr } = await runScript([flag, 'events/does-not-exist.json']);

    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: npm start -- \[options\] \[event\.json \.\.\.\]/);
    expect(stdout).toContain('--logs');
    expect(stdout).not.toContain('local run');
    expect(stderr).toBe('');
  });
});

describe('npm start: usage errors are one line, exit status 2, and nothing runs', () => {
  const dir = mkdtemp(path.join(tmpdir(), 'glue-mv-stop-run-cli-'));

  it.each([
    [['--log'], 'npm start: unknown option "--log" (npm start -- --help lists the options)'],
    [
      ['--verbose', 'events/stop-request.json'],
      'npm start: unknown option "--verbose" (npm start -- --help lists the options)',
    ],
    [['-x'], 'npm start: unknown option "-x" (npm start -- --help lists the options)'],
    [['events/nope.json'], 'npm start: events/nope.json: no such file'],
    [['events'], 'npm start: events: is a directory, not an event file'],
    [['events/stop-request.json', 'missing.json'], 'npm start: missing.json: no such file'],
  ])('%j: %s', async (args, message) => {
    const { code, stdout, stderr } = await runScript(args);

    expect(code).toBe(2);
    expect(lines(stderr)).toEqual([message]);
    expect(stdout).toBe('');
  });

  it('names a file that is not JSON, and what the parser says, on one line', async () => {
    const file = path.join(await dir, 'broken.json');
    await writeFile(file, '{ "DatabaseName": "sales", ');

    const { code, stdout, stderr } = await runScript(['broken.json'], { cwd: await dir });

    expect(code).toBe(2);
    expect(lines(stderr)).toEqual([expect.stringMatching(/^npm start: broken\.json: not valid JSON: \S.*$/)]);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stdout).toBe('');
  });
});

describe('npm start: where relative paths are read from', () => {
  it('reads them from the working directory when run directly', { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await runScript(['stop-request.json'], { cwd: EVENTS });

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('stop-request.json: bare stop request, sent as a one-record SQS batch');
    expect(stdout).toMatch(/sqs\s+stop-requested\s+sales\.daily_revenue_mv/);
  });

  it('reads them from INIT_CWD when npm runs it in the package root (cd events && npm start -- stop-request.json)', {
    timeout: 60_000,
  }, async () => {
    const { code, stdout, stderr } = await runScript(['stop-request.json'], { cwd: ROOT, initCwd: EVENTS });

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain('stop-request.json: bare stop request, sent as a one-record SQS batch');
  });

  it('names the file as it was given when INIT_CWD has no such file', async () => {
    const { code, stderr } = await runScript(['events/stop-request.json'], { cwd: ROOT, initCwd: EVENTS });

    expect(code).toBe(2);
    expect(lines(stderr)).toEqual(['npm start: events/stop-request.json: no such file']);
  });
});
