/**
 * Builds the bundles and packages the stack with osls into a temporary folder, then reads back the
 * CloudFormation template and the function zips. Works offline and without AWS credentials.
 * `packagedStacks()` does it once per test run for all the test files of test/template.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { listZipEntries, type ZipEntry } from './zip.ts';

const run = promisify(execFile);

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Resource {
  readonly Type: string;
  readonly Properties: JsonObject;
  readonly DependsOn?: Json;
  readonly Condition?: string;
}

export interface Template {
  readonly Resources: Record<string, Resource>;
  readonly Outputs: Record<string, { readonly Value: Json }>;
  readonly Conditions?: JsonObject;
}

export interface PackagedStack {
  readonly dir: string;
  readonly template: Template;
  /** Zip entries per function name, e.g. `stopFromQueue`. */
  readonly zips: Record<string, ZipEntry[]>;
}

/** The functions of serverless.yml (each has its own zip). */
export const FUNCTION_NAMES = [
  'stopFromQueue',
  'stopFromEvent',
  'stopFromAlarm',
  'stopFromSchedule',
] as const;

/** The environment without AWS credentials: packaging must not need them. */
const offlineEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) {
    delete env[name];
  }
  return env;
};

const runNode = async (args: string[]): Promise<void> => {
  try {
    await run(process.execPath, args, {
      cwd: projectRoot,
      env: offlineEnv(),
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`node ${args.join(' ')} failed:\n${stdout}\n${stderr}`);
  }
};

/** `node scripts/build.ts`: writes dist/<fn>/index.cjs. */
export const buildBundles = (): Promise<void> => runNode([path.join('scripts', 'build.ts')]);

/** Reads back what `osls package` wrote into `dir`: the template and each function's zip entries. */
export const readPackagedStack = async (dir: string): Promise<PackagedStack> => {
  const template = JSON.parse(
    await readFile(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
  const zips: Record<string, ZipEntry[]> = {};
  for (const name of FUNCTION_NAMES) {
    zips[name] = listZipEntries(await readFile(path.join(dir, `${name}.zip`)));
  }
  return { dir, template, zips };
};

/** `osls package` for a stage into `dir`, by default a fresh temporary folder (bundles must be built first). */
export const packageStack = async (
  stage: string,
  { region = 'us-east-1', dir }: { region?: string; dir?: string } = {},
): Promise<PackagedStack> => {
  const target = dir ?? (await mkdtemp(path.join(tmpdir(), `glue-mv-stop-${stage}-`)));
  const osls = path.join(projectRoot, 'node_modules', 'osls', 'bin', 'serverless.js');
  await runNode([osls, 'package', '--stage', stage, '--region', region, '--package', target]);
  return readPackagedStack(target);
};

export interface PackagedStacks {
  /** `params.ci` and config/ci.json: every feature (foreign catalog, cost guards, windows). */
  readonly ci: PackagedStack;
  /** The default params and config/default.json (there is no config/dev.json): no cost guard, no window. */
  readonly dev: PackagedStack;
}

const STAGES = ['ci', 'dev'] as const;
const WAIT_MS = 170_000;

let shared: Promise<PackagedStacks> | undefined;

/**
 * The bundles built and both stages packaged once per test run, for every test file of test/template.
 * Vitest runs each file in its own worker, so the run's folder (test/template/global-setup.ts) holds the
 * result: the first file to ask creates `lock` and packages, the others wait for `done` (or `failed`).
 * The osls runs go one after the other: two in one project folder trip over each other's state files.
 * Without the global setup (a single file run some other way) it packages into a folder of its own.
 */
export const packagedStacks = (): Promise<PackagedStacks> => {
  shared ??= packageOnce();
  return shared;
};

const packageOnce = async (): Promise<PackagedStacks> => {
  const provided: string | undefined = inject('templatePackageDir');
  const root = provided ?? (await mkdtemp(path.join(tmpdir(), 'glue-mv-stop-template-')));
  const done = path.join(root, 'done');
  const failed = path.join(root, 'failed');
  const owner = await mkdir(path.join(root, 'lock')).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') return false;
      throw error;
    },
  );
  if (owner) {
    try {
      await buildBundles();
      for (const stage of STAGES) await packageStack(stage, { dir: path.join(root, stage) });
      await writeFile(done, '');
    } catch (error) {
      await writeFile(failed, error instanceof Error ? error.message : String(error));
      throw error;
    }
  } else {
    const until = Date.now() + WAIT_MS;
    while (!existsSync(done)) {
      if (existsSync(failed)) throw new Error(`packaging failed:\n${await readFile(failed, 'utf8')}`);
      if (Date.now() > until) throw new Error(`packaging did not finish within ${WAIT_MS / 1000} s`);
      await setTimeout(250);
    }
  }
  const [ci, dev] = await Promise.all(STAGES.map((stage) => readPackagedStack(path.join(root, stage))));
  if (!ci || !dev) throw new Error('not packaged');
  return { ci, dev };
};

export const resourceOf = (template: Template, logicalId: string, type: string): Resource => {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`template has no resource ${logicalId}`);
  if (resource.Type !== type) throw new Error(`${logicalId} is a ${resource.Type}, not a ${type}`);
  return resource;
};

export const resourcesOfType = (template: Template, type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);

export const asArray = (value: Json | undefined): Json[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action?: Json;
  readonly NotAction?: Json;
  readonly Resource?: Json;
  readonly NotResource?: Json;
  readonly Principal?: Json;
  readonly Condition?: Json;
}

const statementsOfDocument = (document: Json | undefined): Statement[] =>
  isObject(document) ? (asArray(document.Statement).filter(isObject) as unknown as Statement[]) : [];

/** Statements of every inline policy of an `AWS::IAM::Role`, or of an `AWS::IAM::(Managed)Policy`. */
export const identityStatements = (resource: Resource): Statement[] => {
  if (resource.Type === 'AWS::IAM::Role') {
    return asArray(resource.Properties.Policies)
      .filter(isObject)
      .flatMap((policy) => statementsOfDocument(policy.PolicyDocument));
  }
  return statementsOfDocument(resource.Properties.PolicyDocument);
};

/** Actions of a statement, as strings (lower-cased service prefix kept as written). */
export const actionsOf = (statement: Statement): string[] =>
  asArray(statement.Action).filter((action): action is string => typeof action === 'string');

/** The string inside a `{ "Fn::Sub": "..." }` resource, else undefined. */
export const subString = (value: Json): string | undefined =>
  isObject(value) && typeof value['Fn::Sub'] === 'string' ? value['Fn::Sub'] : undefined;

/** `{ "Fn::GetAtt": [id, attribute] }`. */
export const getAtt = (logicalId: string, attribute: string): JsonObject => ({
  'Fn::GetAtt': [logicalId, attribute],
});

export const ref = (logicalId: string): JsonObject => ({ Ref: logicalId });
