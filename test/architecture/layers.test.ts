/**
 * The layers of src/ run one way. Read from the imports of every file, so a new import that breaks the
 * layering fails here, naming the file and the import. The order and the rules are those of src/README.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../scripts/build.ts';

/** Lowest first: a folder may import from its own layer and the ones before it, never from a later one. */
const LAYERS = ['request', 'policy', 'stop', 'adapters', 'runtime', 'triggers', 'client', 'cli'] as const;
/** The producer client is published on its own: the request contract is all of the stack it may use. */
const CLIENT_MAY_IMPORT = new Set(['request', 'client']);
/** The core: plain functions over plain data, no AWS SDK and no Lambda libraries. */
const CORE = new Set(['request', 'policy', 'stop']);
/** What adapters may use of the core: its vocabulary (ports, errors, outcomes, deadlines), not its logic. */
const CORE_VOCABULARY = new Set([
  'stop/ports.ts',
  'stop/errors.ts',
  'stop/outcome.ts',
  'stop/deadline.ts',
  'request/contract.ts',
  'request/json-text.ts',
]);

const SRC = path.join(projectRoot, 'src');

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });

interface Import {
  readonly from: string;
  readonly specifier: string;
  /** `src/`-relative path of a relative import, e.g. `stop/ports.ts`. */
  readonly target?: string;
}

const importsOf = (file: string): Import[] => {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((match) => match[1] ?? '');
  const from = path.relative(SRC, file);
  return specifiers.map((specifier) =>
    specifier.startsWith('.')
      ? { from, specifier, target: path.relative(SRC, path.resolve(path.dirname(file), specifier)) }
      : { from, specifier },
  );
};

const layerOf = (srcRelative: string): string => srcRelative.split(path.sep)[0] ?? '';
const rank = (layer: string): number => LAYERS.indexOf(layer as (typeof LAYERS)[number]);

const allImports = sourceFiles(SRC).flatMap(importsOf);

describe('the layers of src/', () => {
  it('has a rank for every folder', () => {
    const folders = new Set(sourceFiles(SRC).map((file) => layerOf(path.relative(SRC, file))));

    expect([...folders].filter((folder) => rank(folder) < 0)).toEqual([]);
  });

  it('never imports from a later layer', () => {
    const upward = allImports.filter(
      (i) => i.target !== undefined && rank(layerOf(i.target)) > rank(layerOf(i.from)),
    );

    expect(upward.map((i) => `${i.from} imports ${i.specifier}`)).toEqual([]);
  });

  it('keeps the core free of the AWS SDK and the Lambda libraries', () => {
    const sdk = allImports.filter(
      (i) => CORE.has(layerOf(i.from)) && /^@(aws-sdk|smithy|aws-lambda-powertools)\//.test(i.specifier),
    );

    expect(sdk.map((i) => `${i.from} imports ${i.specifier}`)).toEqual([]);
  });

  it('lets adapters use the core’s vocabulary only, never its logic: the core calls ports', () => {
    const logic = allImports.filter(
      (i) =>
        layerOf(i.from) === 'adapters' &&
        i.target !== undefined &&
        CORE.has(layerOf(i.target)) &&
        !CORE_VOCABULARY.has(i.target),
    );

    expect(logic.map((i) => `${i.from} imports ${i.specifier}`)).toEqual([]);
  });

  it('lets the producer client use the request contract only', () => {
    const beyond = allImports.filter(
      (i) =>
        layerOf(i.from) === 'client' && i.target !== undefined && !CLIENT_MAY_IMPORT.has(layerOf(i.target)),
    );

    expect(beyond.map((i) => `${i.from} imports ${i.specifier}`)).toEqual([]);
  });

  it('reads every import it judges (the scan is not blind)', () => {
    const crossLayer = allImports.filter(
      (i) => i.target !== undefined && layerOf(i.target) !== layerOf(i.from),
    );

    expect(crossLayer.length).toBeGreaterThan(30);
    expect(allImports.some((i) => i.from === path.join('stop', 'handle-stop-request.ts'))).toBe(true);
  });
});
