/**
 * The published CLI as a consumer gets it: the package is built (bundled, in a folder of its own),
 * packed with `npm pack`, installed from the tarball into an empty project, and its installed bin run, with
 * no TypeScript and no dependency besides itself.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, startLocalAws } from '../../local/local-aws.ts';
import { buildCliPackage, cliPackageDir } from '../../packages/cli/build.ts';
import { spawnAndWait } from './spawn.ts';

const exec = promisify(execFile);

let local: LocalAws;
let dir: string;
let bin: string;
let packedFiles: string[];

beforeAll(async () => {
  local = await startLocalAws();
  dir = await mkdtemp(path.join(tmpdir(), 'glue-mv-stop-cli-package-'));
  const packageDir = path.join(dir, 'package');
  await mkdir(packageDir);
  for (const file of ['package.json', 'README.md']) {
    await copyFile(path.join(cliPackageDir, file), path.join(packageDir, file));
  }
  await buildCliPackage(packageDir);
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', dir], { cwd: packageDir });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  if (!packed) throw new Error('npm pack printed nothing');
  packedFiles = packed.files.map((f) => f.path).sort();
  const consumer = path.join(dir, 'consumer');
  await mkdir(consumer);
  await writeFile(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  await exec('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(dir, packed.filename)], {
    cwd: consumer,
  });
  bin = path.join(consumer, 'node_modules', '.bin', 'glue-mv-stop');
}, 120_000);

afterAll(async () => {
  await local.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the packed @glue-mv-stop/cli, installed', () => {
  it('holds the bundle, its notices, the README and package.json: no source, no dependencies', async () => {
    expect(packedFiles).toEqual([
      'README.md',
      'dist/THIRD-PARTY-NOTICES.txt',
      'dist/glue-mv-stop.cjs',
      'package.json',
    ]);
    const installed = await readdir(path.join(dir, 'consumer', 'node_modules'));
    expect(installed.filter((name) => !name.startsWith('.'))).toEqual(['@glue-mv-stop']);
  });

  it('runs its bin: help and version', async () => {
    const help = await spawnAndWait(bin, ['--help'], dir);
    const version = await spawnAndWait(bin, ['--version'], dir);

    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: glue-mv-stop /);
    expect(version.out).toBe('0.1.0\n');
  });

  it('runs a command against AWS (the Glue emulator) and exits 2 on a usage mistake', async () => {
    local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });

    const runs = await spawnAndWait(
      bin,
      ['runs', '--catalog-id', local.glue.accountId, '--database', 'sales'],
      dir,
    );
    const mistake = await spawnAndWait(bin, ['runs', '--databse', 'sales'], dir);

    expect(runs.code).toBe(0);
    expect(runs.out).toContain('sales.daily_mv');
    expect(mistake.code).toBe(2);
    expect(mistake.err).toMatch(/^error: unknown option '--databse'/);
  });
});
