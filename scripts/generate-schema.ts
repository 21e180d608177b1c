/**
 * `npm run schema`: writes the JSON Schemas (draft 2020-12) of docs/contract/, each generated from the zod
 * schema the code validates with:
 *
 *   stop-request.schema.json   what producers send (src/request/contract.ts)
 *   stack-config.schema.json   config/<stage>.json (src/policy/stack-config.ts); the files name it in `$schema`
 *   outcome-event.schema.json  the outcome events the stack publishes (src/adapters/outcome-event-schema.ts)
 *
 * A unit test fails when a committed file is out of date.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod/mini';
import { outcomeEventSchema } from '../src/adapters/outcome-event-schema.ts';
import { stackConfigSchema } from '../src/policy/stack-config.ts';
import { stopRequestSchema } from '../src/request/contract.ts';

const CONTRACT_DIR = path.resolve(import.meta.dirname, '../docs/contract');

export const SCHEMA_FILE = path.join(CONTRACT_DIR, 'stop-request.schema.json');
export const STACK_CONFIG_SCHEMA_FILE = path.join(CONTRACT_DIR, 'stack-config.schema.json');
export const OUTCOME_EVENT_SCHEMA_FILE = path.join(CONTRACT_DIR, 'outcome-event.schema.json');

const asText = (schema: object): string => `${JSON.stringify(schema, null, 2)}\n`;

export const stopRequestJsonSchema = (): string =>
  asText({
    ...z.toJSONSchema(stopRequestSchema, { target: 'draft-2020-12' }),
    // The cross-field rules that parse.ts checks: one view or one scope, and a run id for one view only.
    oneOf: [
      { required: ['TableName'], not: { required: ['TableNames'] } },
      { required: ['TableNames'], not: { anyOf: [{ required: ['TableName'] }, { required: ['RunId'] }] } },
    ],
    $id: 'urn:glue-mv-stop:stop-request',
  });

/**
 * What an operator writes: the schema's input side, so every field with a default is optional. The rules a
 * JSON Schema cannot state (the fields of a cron expression, time zone names, unique names, startDate before
 * endDate) are checked at package time, each with its own message.
 */
export const stackConfigJsonSchema = (): string =>
  asText({
    ...z.toJSONSchema(stackConfigSchema, { target: 'draft-2020-12', io: 'input' }),
    $id: 'urn:glue-mv-stop:stack-config',
    title: 'GlueMvStopStageConfiguration',
    description:
      'The configuration of one stage of glue-mv-stop (config/<stage>.json): the allow-list, cost guards, ' +
      'maintenance windows, dry-run and the Glue request budget.',
  });

export const outcomeEventJsonSchema = (): string =>
  asText({
    ...z.toJSONSchema(outcomeEventSchema, { target: 'draft-2020-12' }),
    $id: 'urn:glue-mv-stop:outcome-event',
  });

/** Every schema file and what it should hold. */
export const SCHEMA_FILES: readonly { readonly file: string; readonly generate: () => string }[] = [
  { file: SCHEMA_FILE, generate: stopRequestJsonSchema },
  { file: STACK_CONFIG_SCHEMA_FILE, generate: stackConfigJsonSchema },
  { file: OUTCOME_EVENT_SCHEMA_FILE, generate: outcomeEventJsonSchema },
];

if (import.meta.main) {
  for (const { file, generate } of SCHEMA_FILES) {
    await writeFile(file, generate());
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  }
}
