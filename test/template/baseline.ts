/**
 * The packaged template without what differs from run to run, for the equivalence test
 * (equivalence.test.ts) and for writing its baselines (test/template/baseline/<stage>.json).
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Json, JsonObject, Template } from './stack.ts';
import { projectRoot } from './stack.ts';

/** What the equivalence test compares: every resource and every output, by logical ID. */
export interface ComparableTemplate {
  readonly Resources: Record<string, JsonObject>;
  readonly Outputs: Record<string, JsonObject>;
}

/** osls puts a per-run timestamp in each function's S3 key: `serverless/<svc>/<stage>/<time>/<fn>.zip`. */
const S3_KEY_TIMESTAMP = /^(serverless\/[^/]+\/[^/]+\/)[^/]+(\/[^/]+)$/u;
export const TIMESTAMP_PLACEHOLDER = '<package-time>';

const withoutTimestamps = (value: Json, key = ''): Json => {
  if (typeof value === 'string') {
    return key === 'S3Key' ? value.replace(S3_KEY_TIMESTAMP, `$1${TIMESTAMP_PLACEHOLDER}$2`) : value;
  }
  if (Array.isArray(value)) return value.map((item) => withoutTimestamps(item));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([name, item]) => [name, withoutTimestamps(item, name)]),
  );
};

/** Resources and Outputs of a packaged template, with the package timestamps replaced. */
export const comparableTemplate = (template: Template): ComparableTemplate =>
  withoutTimestamps({
    Resources: template.Resources as unknown as JsonObject,
    Outputs: template.Outputs as unknown as JsonObject,
  }) as unknown as ComparableTemplate;

export const baselineFile = (stage: string): string =>
  path.join(projectRoot, 'test', 'template', 'baseline', `${stage}.json`);

export const readBaseline = async (stage: string): Promise<ComparableTemplate> =>
  JSON.parse(await readFile(baselineFile(stage), 'utf8')) as ComparableTemplate;

export const writeBaseline = async (stage: string, template: Template): Promise<void> => {
  await writeFile(baselineFile(stage), `${JSON.stringify(comparableTemplate(template), null, 2)}\n`);
};
