/**
 * Builds the bundles and packages the stack with osls into a temporary folder, then reads back the
 * CloudFormation template and the function zips. Works offline and without AWS credentials.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
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

/** `osls package` for a stage into a fresh temporary folder (bundles must be built first). */
export const packageStack = async (stage: string, region = 'us-east-1'): Promise<PackagedStack> => {
  const dir = await mkdtemp(path.join(tmpdir(), `glue-mv-stop-${stage}-`));
  const osls = path.join(projectRoot, 'node_modules', 'osls', 'bin', 'serverless.js');
  await runNode([osls, 'package', '--stage', stage, '--region', region, '--package', dir]);
  const template = JSON.parse(
    await readFile(path.join(dir, 'cloudformation-template-update-stack.json'), 'utf8'),
  ) as Template;
  const zips: Record<string, ZipEntry[]> = {};
  for (const name of FUNCTION_NAMES) {
    zips[name] = listZipEntries(await readFile(path.join(dir, `${name}.zip`)));
  }
  return { dir, template, zips };
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
