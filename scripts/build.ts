/**
 * Bundles each Lambda handler with esbuild into `dist/<fn>/index.cjs` (CommonJS, Node 24, minified, AWS
 * SDK clients included). Also writes `dist/<fn>/meta.json` (esbuild's metafile) so that size reports can
 * tell which dependency weighs what.
 *
 * Usage: `node scripts/build.ts` (Node 24 strips the types). `BUILD_HANDLERS_DIR=<dir>` builds
 * `<dir>/<file>` for each function's `handlers/<file>` (stop-queue.ts, stop-event.ts, stop-alarm.ts,
 * stop-schedule.ts) instead of the ones under `handlers/`. `BUILD_MINIFY=0` leaves the bundles unminified,
 * with a `// <module path>` line before each module (for reading CPU profiles: bench/profile-summary.ts).
 *
 * Other scripts (benchmarks) import `build` and `lambdaFunctions` from here.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

/** One Lambda function: its Serverless name, its handler source, and where its bundle goes. */
export interface LambdaFunction {
  /** Function key in serverless.yml. */
  readonly name: string;
  /** Handler source, relative to the project root. */
  readonly entry: string;
  /** Bundle folder, relative to the project root; the bundle is `<outdir>/index.cjs`. */
  readonly outdir: string;
}

export const lambdaFunctions: readonly LambdaFunction[] = [
  { name: 'stopFromQueue', entry: 'handlers/stop-queue.ts', outdir: 'dist/stop-from-queue' },
  { name: 'stopFromEvent', entry: 'handlers/stop-event.ts', outdir: 'dist/stop-from-event' },
  { name: 'stopFromAlarm', entry: 'handlers/stop-alarm.ts', outdir: 'dist/stop-from-alarm' },
  { name: 'stopFromSchedule', entry: 'handlers/stop-schedule.ts', outdir: 'dist/stop-from-schedule' },
];

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The Lambda-only credential provider that replaces the SDK's default chain in bundles. */
const LAMBDA_CREDENTIALS = path.resolve(projectRoot, 'src/runtime/lambda-credentials.ts');

export interface BuildOptions {
  /** Project root; defaults to this script's parent folder. */
  readonly root?: string;
  /** Functions to build; defaults to all of `lambdaFunctions`. */
  readonly functions?: readonly LambdaFunction[];
  /** Folder holding the handler files (same names as under `handlers/`) to build instead of each `entry`. */
  readonly handlersDir?: string;
  /** Print one line per bundle (default true). */
  readonly log?: boolean;
}

export interface BuildResult {
  readonly function: LambdaFunction;
  /** Absolute path of the bundle. */
  readonly outfile: string;
  /** Absolute path of the metafile written next to the bundle. */
  readonly metafile: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly metafileData: esbuild.Metafile;
}

/** esbuild options for one function; exported so that benchmarks can vary them. */
export const esbuildOptions = (entryPoint: string, outfile: string): esbuild.BuildOptions => ({
  entryPoints: [entryPoint],
  outfile,
  bundle: true,
  // CommonJS, not ESM: an ES module that imports node:http makes Node build the module's ESM facade,
  // which reads every export and so loads undici at start-up (measured: cold import about 2 × slower).
  format: 'cjs',
  platform: 'node',
  target: 'node24',
  minify: process.env.BUILD_MINIFY !== '0',
  // ES module builds of the AWS SDK and Powertools are about half the size of their CommonJS builds.
  mainFields: ['module', 'main'],
  // Lambda passes credentials in environment variables: the default provider chain is not needed.
  alias: { '@aws-sdk/credential-provider-node': LAMBDA_CREDENTIALS },
  legalComments: 'none',
  sourcemap: false,
  metafile: true,
  write: false,
  logLevel: 'warning',
});

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

export async function build(options: BuildOptions = {}): Promise<BuildResult[]> {
  const root = options.root ?? projectRoot;
  const log = options.log ?? true;
  const results: BuildResult[] = [];
  for (const fn of options.functions ?? lambdaFunctions) {
    const entry = options.handlersDir
      ? path.resolve(options.handlersDir, path.basename(fn.entry))
      : path.resolve(root, fn.entry);
    const outdir = path.resolve(root, fn.outdir);
    const outfile = path.join(outdir, 'index.cjs');
    const metafile = path.join(outdir, 'meta.json');

    const output = await esbuild.build(esbuildOptions(entry, outfile));
    const bundle = output.outputFiles?.find((file) => file.path === outfile);
    if (!bundle || !output.metafile) throw new Error(`esbuild produced no bundle for ${fn.name}`);

    // A clean folder per function: the package step zips exactly what is in it.
    await rm(outdir, { recursive: true, force: true });
    await mkdir(outdir, { recursive: true });
    await writeFile(outfile, bundle.contents);
    await writeFile(metafile, `${JSON.stringify(output.metafile)}\n`);

    const result: BuildResult = {
      function: fn,
      outfile,
      metafile,
      bytes: bundle.contents.byteLength,
      gzipBytes: gzipSync(bundle.contents).byteLength,
      metafileData: output.metafile,
    };
    results.push(result);
    if (log) {
      const where = path.relative(root, outfile);
      console.log(
        `${fn.name.padEnd(16)} ${where.padEnd(35)} ${kib(result.bytes).padStart(11)} (gzip ${kib(result.gzipBytes)})`,
      );
    }
  }
  return results;
}

if (import.meta.main) {
  const handlersDir = process.env.BUILD_HANDLERS_DIR;
  try {
    await build(handlersDir ? { handlersDir } : {});
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
