import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, stopRequestJsonSchema } from '../../scripts/generate-schema.ts';

describe('docs/contract/stop-request.schema.json', () => {
  it('is what the zod contract generates (run `npm run schema` after changing the contract)', async () => {
    expect(await readFile(SCHEMA_FILE, 'utf8')).toBe(stopRequestJsonSchema());
  });

  it('states the API rules for the target fields and refuses unknown fields', () => {
    const schema = JSON.parse(stopRequestJsonSchema());

    expect(schema.required).toEqual(['DatabaseName', 'TableName']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.TableName).toMatchObject({
      minLength: 1,
      maxLength: 255,
      // Portable to every regex dialect; lone surrogates are refused by the functions on top of it.
      pattern: '^[^\\u0000-\\u0008\\u000A-\\u001F\\uFFFE\\uFFFF]*$',
    });
  });
});
