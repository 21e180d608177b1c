/**
 * `npm run schema`: writes the stop request contract as JSON Schema (draft 2020-12), generated from the
 * zod schema the functions validate with. A unit test fails when the committed file is out of date.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod/mini';
import { stopRequestSchema } from '../src/request/contract.ts';

export const SCHEMA_FILE = path.resolve(import.meta.dirname, '../docs/contract/stop-request.schema.json');

export const stopRequestJsonSchema = (): string =>
  `${JSON.stringify(
    {
      ...z.toJSONSchema(stopRequestSchema, { target: 'draft-2020-12' }),
      // The cross-field rules that parse.ts checks: one view or one scope, and a run id for one view only.
      oneOf: [
        { required: ['TableName'], not: { required: ['TableNames'] } },
        { required: ['TableNames'], not: { anyOf: [{ required: ['TableName'] }, { required: ['RunId'] }] } },
      ],
      $id: 'urn:glue-mv-stop:stop-request',
    },
    null,
    2,
  )}\n`;

if (import.meta.main) {
  await writeFile(SCHEMA_FILE, stopRequestJsonSchema());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
