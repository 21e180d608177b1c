/**
 * Builds the publishable CLI package (`@glue-mv-stop/cli`, bin `glue-mv-stop`) from `src/cli/`: one
 * CommonJS file, `dist/glue-mv-stop.cjs`, with everything inside (commander, the AWS SDK clients, zod, the
 * stack's contract and policy code), so an install needs neither TypeScript nor any dependency; and
 * `dist/THIRD-PARTY-NOTICES.txt`, the licences of what is bundled.
 *
 * Usage: `npm run build:cli`, then `npm pack` in `packages/cli`. `buildCliPackage(dir)` builds into
 * another copy of the package folder (the consumer test does, in a temporary folder).
 */
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const cliPackageDir = path.dirname(fileURLToPath(import.meta.url));
const projectRoot = path.resolve(cliPackageDir, '..', '..');
const ENTRY = path.join(projectRoot, 'src', 'cli', 'main.ts');
export const CLI_BUNDLE = path.join('dist', 'glue-mv-stop.cjs');

const readJson = async (file: string): Promise<Record<string, unknown>> => {
  const value: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (typeof value !== 'object' || value === null) throw new Error(`${file} is not a JSON object`);
  return value as Record<string, unknown>;
};

/** The CLI is released with the stack: one version for both (`--version` prints the project's). */
const checkVersion = async (packageDir: string): Promise<void> => {
  const root = await readJson(path.join(projectRoot, 'package.json'));
  const cli = await readJson(path.join(packageDir, 'package.json'));
  if (cli.version !== root.version) {
    throw new Error(
      `${packageDir}/package.json has version ${String(cli.version)}, the project ${String(root.version)}`,
    );
  }
};

/** The folder of the npm package a bundled file belongs to (`node_modules/@scope/name`). */
const packageOf = (input: string): string | undefined => {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match?.[1];
};

const LICENCE_FILE = /^(licen[cs]e|copying|notice)(\.(md|txt))?$/i;

/** The licence texts of every package the bundle holds code of; packages with the same text share it. */
const thirdPartyNotices = async (metafile: esbuild.Metafile): Promise<string> => {
  const folders = [
    ...new Set(Object.keys(metafile.inputs).flatMap((input) => packageOf(input) ?? [])),
  ].sort();
  const byText = new Map<string, string[]>();
  for (const folder of folders) {
    const dir = path.resolve(projectRoot, folder);
    const manifest = await readJson(path.join(dir, 'package.json'));
    const files = (await readdir(dir)).filter((f) => LICENCE_FILE.test(f)).sort();
    const texts = await Promise.all(
      files.map(async (f) => (await readFile(path.join(dir, f), 'utf8')).trim()),
    );
    const text =
      texts.length > 0
        ? texts.join('\n\n')
        : `(no licence file; package.json says ${String(manifest.license)})`;
    byText.set(text, [...(byText.get(text) ?? []), `${String(manifest.name)}@${String(manifest.version)}`]);
  }
  const sections = [...byText].map(([text, names]) => `${names.join('\n')}\n\n${text}`);
  return `dist/glue-mv-stop.cjs contains code of these packages, under these licences:\n\n${sections.join(`\n\n${'-'.repeat(78)}\n\n`)}\n`;
};

export interface CliBuildResult {
  readonly bundle: string;
  readonly bytes: number;
}

export const buildCliPackage = async (packageDir: string = cliPackageDir): Promise<CliBuildResult> => {
  await checkVersion(packageDir);
  const dist = path.join(packageDir, 'dist');
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  const bundle = path.join(packageDir, CLI_BUNDLE);
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    outfile: bundle,
    bundle: true,
    // CommonJS starts faster than an ES module that imports node:http (see docs/deployment.md).
    format: 'cjs',
    platform: 'node',
    target: 'node22',
    minify: true,
    // Error class names are what the CLI and the SDK tell errors apart by.
    keepNames: true,
    mainFields: ['module', 'main'],
    banner: { js: '#!/usr/bin/env node' },
    legalComments: 'none',
    sourcemap: false,
    metafile: true,
    logLevel: 'warning',
  });
  await chmod(bundle, 0o755);
  await writeFile(path.join(dist, 'THIRD-PARTY-NOTICES.txt'), await thirdPartyNotices(result.metafile));
  const bytes = (await readFile(bundle)).length;
  return { bundle, bytes };
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { bundle, bytes } = await buildCliPackage();
  process.stdout.write(`${path.relative(projectRoot, bundle)}  ${(bytes / 1024).toFixed(0)} KiB\n`);
}
