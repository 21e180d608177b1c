/**
 * Builds the producer client package, `packages/client` (`@glue-mv-stop/client`), from `src/client/`:
 *
 * - `dist/index.js` (ES module) and `dist/index.cjs` (CommonJS): esbuild bundles of `src/client/index.ts`
 *   with the request contract and zod inside; the AWS SDK clients stay external (peer dependencies).
 * - `dist/types/**`: declarations emitted by `tsc` (`packages/client/tsconfig.build.json`), as `.d.ts` for
 *   the `import` condition and `.d.cts` for `require`. TypeScript keeps the source's `.ts` import
 *   extensions in declaration files, so relative specifiers are rewritten here (`.js`, `.cjs`). Only the
 *   declarations `client/index.d.ts` reaches are shipped, and they may import nothing outside the package.
 * - `dist/THIRD-PARTY-NOTICES.txt`: the licences of the packages bundled in.
 *
 * Usage: `npm run build:client`, then `npm pack` in `packages/client`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { projectRoot } from './build.ts';

export const clientPackageDir = path.join(projectRoot, 'packages', 'client');
const ENTRY = path.join(projectRoot, 'src', 'client', 'index.ts');
const DIST = path.join(clientPackageDir, 'dist');
/** What the bundles may load at run time: the peer dependencies, nothing else. */
export const PEER_DEPENDENCIES = ['@aws-sdk/client-sqs', '@aws-sdk/client-eventbridge'] as const;

const run = promisify(execFile);

const readJson = async (file: string): Promise<Record<string, unknown>> => {
  const value: unknown = JSON.parse(await readFile(file, 'utf8'));
  if (typeof value !== 'object' || value === null) throw new Error(`${file} is not a JSON object`);
  return value as Record<string, unknown>;
};

/** The package is released with the stack: one version for both. */
const checkVersion = async (): Promise<string> => {
  const root = await readJson(path.join(projectRoot, 'package.json'));
  const client = await readJson(path.join(clientPackageDir, 'package.json'));
  if (client.version !== root.version) {
    throw new Error(
      `packages/client/package.json has version ${String(client.version)}, the project ${String(root.version)}: make them equal`,
    );
  }
  return String(client.version);
};

/** Module specifiers of import and export statements, `import('…')` types and `require('…')` calls. */
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\2/g;
/** A string literal (kept) or a comment (dropped): doc comments quote imports that are not imports. */
const STRING_OR_COMMENT =
  /("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)|\/\*[\s\S]*?\*\/|\/\/[^\n]*/g;

/**
 * The module specifiers a declaration or bundle file loads. Comments are skipped; a declaration file has
 * no regular expression literals, and esbuild writes no comments of the source, so this reading suffices.
 */
export const moduleSpecifiers = (text: string): string[] =>
  [...text.replace(STRING_OR_COMMENT, (_whole, literal?: string) => literal ?? '').matchAll(SPECIFIER)].map(
    (match) => match[3] ?? '',
  );

const rewriteTsExtensions = (text: string, extension: '.js' | '.cjs'): string =>
  text.replace(SPECIFIER, (whole, lead: string, quote: string, specifier: string) =>
    specifier.startsWith('.') && specifier.endsWith('.ts')
      ? `${lead}${quote}${specifier.slice(0, -'.ts'.length)}${extension}${quote}`
      : whole,
  );

const bundle = async (format: 'esm' | 'cjs', outfile: string): Promise<esbuild.Metafile> => {
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    format,
    platform: 'node',
    // The oldest Node line the AWS SDK v3 still supports.
    target: 'node20',
    external: [...PEER_DEPENDENCIES],
    // CommonJS loads the SDK with require(): a service that requires the SDK itself then shares one copy
    // with the client, instead of the client importing the SDK's ES module build beside it.
    ...(format === 'cjs' ? { supported: { 'dynamic-import': false } } : {}),
    // A library: readable output, so a stack trace in a service points at something a person can read.
    minify: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  const output = result.metafile.outputs[path.relative(process.cwd(), outfile)];
  const external = (output?.imports ?? []).filter((i) => i.external).map((i) => i.path);
  const unexpected = external.filter(
    (name) => !(PEER_DEPENDENCIES as readonly string[]).includes(name) && !name.startsWith('node:'),
  );
  if (unexpected.length > 0) throw new Error(`${outfile} loads ${unexpected.join(', ')} at run time`);
  return result.metafile;
};

/** Licence texts of the npm packages bundled in (zod), which their licences ask to ship along. */
const thirdPartyNotices = async (metafile: esbuild.Metafile): Promise<string> => {
  const packages = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1] !== undefined) packages.add(match[1]);
  }
  const notices: string[] = [];
  for (const name of [...packages].sort()) {
    const dir = path.join(projectRoot, 'node_modules', name);
    const manifest = await readJson(path.join(dir, 'package.json'));
    const licenseFile = (await readdir(dir)).find((file) => /^licen[cs]e(\.|$)/i.test(file));
    if (licenseFile === undefined) throw new Error(`${name} is bundled but ships no licence file`);
    const text = await readFile(path.join(dir, licenseFile), 'utf8');
    notices.push(`${name}@${String(manifest.version)} (${String(manifest.license)})\n\n${text.trim()}\n`);
  }
  return `The bundles in this folder include the following packages.\n\n${notices.join('\n---\n\n')}`;
};

/** The declaration files `entry` reaches through relative imports, `entry` included. */
const declarationClosure = async (root: string, entry: string): Promise<string[]> => {
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const text = await readFile(path.join(root, file), 'utf8');
    for (const specifier of moduleSpecifiers(text)) {
      if (!specifier.startsWith('.')) {
        throw new Error(
          `${file} imports ${specifier}: the public types must not need zod or an AWS SDK package`,
        );
      }
      const target = path.join(path.dirname(file), specifier).replace(/\.(ts|js)$/, '.d.ts');
      if (!existsSync(path.join(root, target))) throw new Error(`${file} imports ${specifier}, not emitted`);
      pending.push(target);
    }
  }
  return [...seen].sort();
};

const emitDeclarations = async (): Promise<string[]> => {
  const emitted = await mkdtemp(path.join(tmpdir(), 'glue-mv-stop-client-types-'));
  try {
    const tsc = path.join(projectRoot, 'node_modules', '.bin', 'tsc');
    const tsconfig = path.join(clientPackageDir, 'tsconfig.build.json');
    await run(tsc, ['-p', tsconfig, '--outDir', emitted], { cwd: projectRoot }).catch((error: unknown) => {
      const output = typeof error === 'object' && error !== null && 'stdout' in error ? error.stdout : '';
      throw new Error(`declaration emit failed:\n${String(output)}`, { cause: error });
    });
    const files = await declarationClosure(emitted, path.join('client', 'index.d.ts'));
    const written: string[] = [];
    for (const file of files) {
      const text = await readFile(path.join(emitted, file), 'utf8');
      const esm = path.join(DIST, 'types', file);
      const cjs = esm.replace(/\.d\.ts$/, '.d.cts');
      await mkdir(path.dirname(esm), { recursive: true });
      await writeFile(esm, rewriteTsExtensions(text, '.js'));
      await writeFile(cjs, rewriteTsExtensions(text, '.cjs'));
      written.push(esm, cjs);
    }
    return written;
  } finally {
    await rm(emitted, { recursive: true, force: true });
  }
};

/** No file of the package may import a `.ts`, `.mts` or `.cts` file: Node and `tsc` refuse both. */
const checkNoTypeScriptImports = (file: string, text: string): void => {
  const bad = moduleSpecifiers(text).filter((s) => s.startsWith('.') && /\.[mc]?ts$/.test(s));
  if (bad.length > 0) throw new Error(`${file} imports ${bad.join(', ')}`);
};

export interface ClientBuild {
  readonly version: string;
  /** Absolute paths of every file written under `packages/client/dist`. */
  readonly files: readonly string[];
  readonly esmBytes: number;
  readonly cjsBytes: number;
}

export const buildClient = async ({ log = true }: { log?: boolean } = {}): Promise<ClientBuild> => {
  const started = performance.now();
  const version = await checkVersion();
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  const esm = path.join(DIST, 'index.js');
  const cjs = path.join(DIST, 'index.cjs');
  const [metafile] = await Promise.all([bundle('esm', esm), bundle('cjs', cjs)]);
  const declarations = await emitDeclarations();
  const notices = path.join(DIST, 'THIRD-PARTY-NOTICES.txt');
  await writeFile(notices, await thirdPartyNotices(metafile));

  const files = [esm, cjs, ...declarations, notices];
  for (const file of files) checkNoTypeScriptImports(file, await readFile(file, 'utf8'));
  const esmBytes = (await readFile(esm)).byteLength;
  const cjsBytes = (await readFile(cjs)).byteLength;
  if (log) {
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
    console.log(
      `@glue-mv-stop/client ${version}: index.js ${kb(esmBytes)}, index.cjs ${kb(cjsBytes)}, ` +
        `${declarations.length} declaration files, in ${Math.round(performance.now() - started)} ms`,
    );
  }
  return { version, files, esmBytes, cjsBytes };
};

if (import.meta.main) {
  try {
    await buildClient();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}
