/**
 * Deployment size and cold import, from bundles built into a scratch copy of the project (the project's
 * own `dist/` is left alone): the functions' zips as `osls package` builds them, and the start-up time of a
 * fresh `node` process that loads each bundle against one that loads an empty file.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { type BuildResult, build, esbuildOptions, projectRoot } from '../scripts/build.ts';
import { median } from './format.ts';

/** What `osls package` reads: the service file, what its variable sources import, the handlers. */
const PACKAGE_INPUTS = ['serverless.yml', 'package.json', 'deploy', 'config', 'src', 'handlers'];

export interface Workspace {
  readonly root: string;
  readonly bundles: readonly BuildResult[];
  /** The bundle of a function by its serverless.yml key (e.g. `stopFromQueue`). */
  bundle(name: string): string;
  remove(): Promise<void>;
}

/** Copies what packaging needs into a scratch folder and builds every function's bundle there. */
export const buildWorkspace = async (): Promise<Workspace> => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'glue-mv-stop-bench-'));
  for (const input of PACKAGE_INPUTS) {
    await cp(path.join(projectRoot, input), path.join(root, input), { recursive: true });
  }
  await symlink(path.join(projectRoot, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  const bundles = await build({ root, log: false });
  return {
    root,
    bundles,
    bundle(name) {
      const found = bundles.find((b) => b.function.name === name);
      if (!found) throw new Error(`no bundle for ${name}`);
      return found.outfile;
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
};

export interface ZipSize {
  readonly name: string;
  readonly zipBytes: number;
  readonly bundleBytes: number;
}

/** Each function's zip from a real `osls package` run over the workspace. */
export const measureZips = async (workspace: Workspace): Promise<ZipSize[]> => {
  const out = path.join(workspace.root, '.bench-package');
  await mkdir(out, { recursive: true });
  const osls = path.join(projectRoot, 'node_modules/.bin/osls');
  const run = spawnSync(osls, ['package', '--stage', 'ci', '--region', 'us-east-1', '--package', out], {
    cwd: workspace.root,
    encoding: 'utf8',
    env: {
      ...process.env,
      // osls runs its `#!/usr/bin/env node` under the Node that runs this script (variable sources are TS).
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
    },
  });
  if (run.status !== 0) throw new Error(`osls package failed:\n${run.stdout}\n${run.stderr}`);
  const zips = (await readdir(out)).filter((file) => file.endsWith('.zip'));
  return Promise.all(
    workspace.bundles.map(async (result) => {
      const zip = zips.find((file) => file.toLowerCase() === `${result.function.name.toLowerCase()}.zip`);
      if (!zip) throw new Error(`no zip for ${result.function.name} in ${zips.join(', ')}`);
      return {
        name: result.function.name,
        zipBytes: (await stat(path.join(out, zip))).size,
        bundleBytes: result.bytes,
      };
    }),
  );
};

/** The mean of the `n` smallest values. */
const leastMean = (values: readonly number[], n = 5): number => {
  const least = [...values].sort((a, b) => a - b).slice(0, n);
  return least.length === 0 ? Number.NaN : least.reduce((a, b) => a + b, 0) / least.length;
};

export interface ColdImportFigure {
  /** Median wall time of the process, start to exit. */
  readonly wallMs: number;
  /**
   * CPU time (user + system, every thread): the mean of the five least of the runs, those least disturbed
   * by other work. On a busy machine its ratio to a bare node repeats within about ±5 %, where medians of
   * wall and CPU time swing by 10–15 %.
   */
  readonly cpuMs: number;
}

export interface ColdImport {
  readonly bare: ColdImportFigure;
  readonly floor: ColdImportFigure & { readonly bytes: number };
  readonly bundles: readonly (ColdImportFigure & {
    readonly name: string;
    readonly wallRatio: number;
    readonly cpuRatio: number;
  })[];
}

/**
 * Cold start of a fresh process that loads each bundle, against one that loads an empty file, runs
 * interleaved. Each process reports its own CPU time as it exits (a preload that every run gets alike).
 */
export const measureColdImport = async (workspace: Workspace, runs: number): Promise<ColdImport> => {
  const dir = path.join(workspace.root, '.bench-cold');
  await mkdir(dir, { recursive: true });
  const empty = path.join(dir, 'empty.cjs');
  await writeFile(empty, '');
  const reporter = path.join(dir, 'report-cpu.cjs');
  await writeFile(
    reporter,
    "process.on('exit', () => { const u = process.cpuUsage(); " +
      "require('node:fs').writeSync(2, 'bench-cpu ' + (u.user + u.system) / 1000 + '\\n'); });\n",
  );
  // The floor: a bundle holding only what every function must have, the Glue client and one command,
  // built with the same options as the functions.
  const floor = path.join(dir, 'glue-client-only.cjs');
  const floorBuild = await esbuild.build({
    ...esbuildOptions(path.join(projectRoot, 'bench/glue-client-only.ts'), floor),
    write: true,
    metafile: false,
  });
  if (floorBuild.errors.length > 0) throw new Error('could not build the Glue-client-only bundle');
  // What a function's environment holds: configuration is read and clients are built at import.
  const env = {
    PATH: process.env.PATH ?? '',
    IDEMPOTENCY_TABLE_NAME: 'bench',
    DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench',
    STOP_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-stop',
    STOP_POLICY: JSON.stringify({
      allow: [{ database: 'bench', tables: ['*'] }],
      dryRun: false,
      costGuards: [],
    }),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  };
  const time = (file: string): { wall: number; cpu: number } => {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, ['--require', reporter, file], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const wall = Number(process.hrtime.bigint() - start) / 1e6;
    const cpu = Number(/bench-cpu ([\d.]+)/.exec(run.stderr)?.[1]);
    if (run.status !== 0 || !Number.isFinite(cpu))
      throw new Error(`node ${file} exited ${run.status}: ${run.stderr}`);
    return { wall, cpu };
  };
  const files = [empty, floor, ...workspace.bundles.map((b) => b.outfile)];
  const samples = files.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (const file of files) time(file); // warm the file system cache
  for (let i = 0; i < runs; i++) {
    for (const [index, file] of files.entries()) {
      const { wall, cpu } = time(file);
      samples[index]?.wall.push(wall);
      samples[index]?.cpu.push(cpu);
    }
  }
  const figure = (index: number): ColdImportFigure => ({
    wallMs: median(samples[index]?.wall ?? []),
    cpuMs: leastMean(samples[index]?.cpu ?? []),
  });
  const bare = figure(0);
  return {
    bare,
    floor: { ...figure(1), bytes: (await stat(floor)).size },
    bundles: workspace.bundles.map((result, index) => {
      const own = figure(index + 2);
      return {
        name: result.function.name,
        ...own,
        wallRatio: own.wallMs / bare.wallMs,
        cpuRatio: own.cpuMs / bare.cpuMs,
      };
    }),
  };
};
