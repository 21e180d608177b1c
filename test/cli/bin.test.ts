/**
 * The real bin, spawned: `npx glue-mv-stop` resolves in the checkout (the root package's bin), the
 * launcher runs the TypeScript source (and falls back to the project's Node 24 where the running node
 * cannot strip types), exit codes and one-line errors reach the shell, and a command reaches AWS.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../../local/local-aws.ts';
import { projectRoot } from '../../scripts/build.ts';
import { spawnAndWait } from './spawn.ts';

const LAUNCHER = path.join(projectRoot, 'bin', 'glue-mv-stop.js');

/** npm's own warnings (the root package asks for Node 24 when npx runs on another node) are not ours. */
const withoutNpmWarnings = (text: string) =>
  text
    .split('\n')
    .filter((line) => !line.startsWith('npm warn'))
    .join('\n');

let local: LocalAws;
beforeAll(async () => {
  local = await startLocalAws();
});
afterAll(async () => {
  await local.close();
});

describe('the glue-mv-stop bin in the checkout', () => {
  it('resolves with npx and prints help (exit 0)', { timeout: 60_000 }, async () => {
    const { code, out } = await spawnAndWait('npx', ['--no-install', 'glue-mv-stop', '--help']);

    expect(code).toBe(0);
    expect(out).toMatch(/^Usage: glue-mv-stop \[options\] \[command\]/);
    for (const command of ['plan', 'send', 'runs', 'dlq', 'config']) expect(out).toContain(`  ${command} `);
  });

  it('exits 2 on an unknown flag, with the error on stderr and nothing on stdout', async () => {
    const { code, out, err } = await spawnAndWait(process.execPath, [LAUNCHER, 'runs', '--bogus']);

    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err.split('\n')[0]).toBe("error: unknown option '--bogus'");
  });

  it('exits 2 naming a missing file in one line, with no stack trace', async () => {
    const { code, err } = await spawnAndWait(process.execPath, [
      LAUNCHER,
      'send',
      '--file',
      'no/such.ndjson',
    ]);

    expect(code).toBe(2);
    expect(err).toBe('error: cannot read no/such.ndjson: no such file\n');
  });

  it('exits 1 for an invalid request, naming the field and the rule', async () => {
    const { code, err } = await spawnAndWait(process.execPath, [
      LAUNCHER,
      'send',
      '--database',
      'sales',
      '--table',
      'x'.repeat(300),
      '--check-only',
    ]);

    expect(code).toBe(1);
    expect(err).toBe('invalid: (flags): TableName (--table): must be at most 255 characters (max-length)\n');
  });

  it('lists running refreshes from the Glue emulator', async () => {
    const runId = local.glue.seedRun({ databaseName: 'sales', tableName: 'orders_mv' });

    const { code, out } = await spawnAndWait(process.execPath, [
      LAUNCHER,
      'runs',
      '--catalog-id',
      local.glue.accountId,
      '--database',
      'sales',
      '--json',
    ]);

    expect(code).toBe(0);
    expect(JSON.parse(out).runs).toEqual([expect.objectContaining({ view: 'sales.orders_mv', runId })]);
  });

  it('runs the source with the project’s Node 24 where the running node cannot strip types', async () => {
    const { code, out, err } = await spawnAndWait(process.execPath, [
      '--no-experimental-strip-types',
      LAUNCHER,
      '--version',
    ]);

    expect(withoutNpmWarnings(err)).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
