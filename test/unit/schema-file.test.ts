import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SCHEMA_FILE, stopRequestJsonSchema } from '../../scripts/generate-schema.ts';

describe('docs/contract/stop-request.schema.json', () => {
  it('is what the zod contract generates (run `npm run schema` after changing the contract)', async () => {
    expect(await readFile(SCHEMA_FILE, 'utf8')).toBe(stopRequestJsonSchema());
  });

  it('states the API rules for the target fields and refuses unknown fields', () => {
    const schema = JSON.parse(stopRequestJsonSchema());

    // TableName or TableNames: the choice between the two is checked by the functions, not stated here.
    expect(schema.required).toEqual(['DatabaseName']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.TableName).toMatchObject({
      minLength: 1,
      maxLength: 255,
      // Portable to every regex dialect; lone surrogates are refused by the functions on top of it.
      pattern: '^[^\\u0000-\\u0008\\u000A-\\u001F\\uFFFE\\uFFFF]*$',
    });
  });

  it('states the scope rules: 1 to 100 table names or globs, each a Glue name', () => {
    const schema = JSON.parse(stopRequestJsonSchema());

    expect(schema.properties.TableNames).toMatchObject({
      type: 'array',
      minItems: 1,
      maxItems: 100,
      items: { type: 'string', minLength: 1, maxLength: 255 },
    });
    expect(schema.properties.RunId.pattern).toBe(
      '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
    );
    expect(schema.properties.DryRun).toMatchObject({ type: 'boolean' });
  });
});
