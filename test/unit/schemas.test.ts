import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { stopEvent } from '../../local/events.ts';
import { lambdaContext } from '../../local/lambda-context.ts';
import {
  OUTCOME_EVENT_SCHEMA_FILE,
  SCHEMA_FILES,
  STACK_CONFIG_SCHEMA_FILE,
  stackConfigJsonSchema,
} from '../../scripts/generate-schema.ts';
import { outcomeEventDetailSchema, outcomeEventSchema } from '../../src/adapters/outcome-event-schema.ts';
import { OUTCOMES } from '../../src/stop/outcome.ts';
import { type Harness, startHarness } from '../support/harness.ts';

const CONFIG_DIR = path.resolve(import.meta.dirname, '../../config');

/** A validator of one committed JSON Schema file, as an editor or a subscriber would use it. */
const validatorOf = async (file: string) => {
  // Formats (date-time) are annotations here: the patterns next to them carry the rule.
  const ajv = new Ajv2020({ allErrors: true, strict: true, validateFormats: false });
  return ajv.compile(JSON.parse(await readFile(file, 'utf8')));
};

describe('docs/contract/*.schema.json', () => {
  it.each(SCHEMA_FILES.map(({ file, generate }) => [path.basename(file), file, generate] as const))(
    '%s is what its zod schema generates (run `npm run schema` after changing it)',
    async (_name, file, generate) => {
      expect(await readFile(file, 'utf8')).toBe(generate());
    },
  );
});

describe('docs/contract/stack-config.schema.json', () => {
  it('is the $schema every stage file names', async () => {
    const files = (await readdir(CONFIG_DIR)).filter((file) => file.endsWith('.json'));

    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const { $schema } = JSON.parse(await readFile(path.join(CONFIG_DIR, file), 'utf8'));
      expect(path.resolve(CONFIG_DIR, $schema)).toBe(STACK_CONFIG_SCHEMA_FILE);
    }
  });

  it('accepts every stage file', async () => {
    const validate = await validatorOf(STACK_CONFIG_SCHEMA_FILE);

    for (const file of (await readdir(CONFIG_DIR)).filter((name) => name.endsWith('.json'))) {
      const valid = validate(JSON.parse(await readFile(path.join(CONFIG_DIR, file), 'utf8')));
      expect({ file, errors: validate.errors ?? [] }).toEqual({ file, errors: [] });
      expect(valid).toBe(true);
    }
  });

  it.each([
    ['an unknown field', { allow: [{ database: 'sales' }], dryrun: true }],
    ['an unknown field of an allow rule', { allow: [{ database: 'sales', table: ['x'] }] }],
    ['no allow-list', {}],
    [
      'a schedule that is no expression',
      {
        allow: [{ database: 'sales' }],
        maintenanceWindows: [{ name: 'w', schedule: 'every night', scope: { database: 'sales' } }],
      },
    ],
  ])('refuses %s, as the package-time check does', async (_what, input) => {
    const validate = await validatorOf(STACK_CONFIG_SCHEMA_FILE);

    expect(validate(input)).toBe(false);
  });

  it("describes the operator's input: fields with defaults are optional", () => {
    const schema = JSON.parse(stackConfigJsonSchema());

    expect(schema.required).toEqual(['allow']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.$schema).toMatchObject({ type: 'string' });
    expect(schema.properties.dryRun).toMatchObject({ type: 'boolean', default: false });
  });
});

describe('docs/contract/outcome-event.schema.json: the events the stack publishes', () => {
  let h: Harness;
  let events: { source: string; 'detail-type': string; detail: unknown }[] = [];

  beforeAll(async () => {
    h = await startHarness({
      policy: { allow: [{ database: 'sales', tables: ['*'] }], dryRun: false, costGuards: [] },
    });
    const glue = h.local.glue;
    glue.seedRun({ databaseName: 'sales', tableName: 'running_mv' });
    glue.seedRun({ databaseName: 'sales', tableName: 'stopping_mv', stopping: true });
    glue.seedRun({ databaseName: 'sales', tableName: 'done_mv', status: 'SUCCEEDED' });
    glue.seedRun({
      databaseName: 'sales',
      tableName: 'newer_mv',
      startTime: new Date('2026-11-29T03:00:00Z'),
    });
    glue.seedRun({ databaseName: 'sales', tableName: 'dry_mv' });
    glue.seedRun({ databaseName: 'sales', tableName: 'daily_a_mv' });
    glue.seedRun({ databaseName: 'sales', tableName: 'daily_b_mv' });
    const requests = [
      { DatabaseName: 'sales', TableName: 'running_mv', RequestedBy: 'ops', Reason: 'budget' },
      { DatabaseName: 'sales', TableName: 'stopping_mv' },
      { DatabaseName: 'sales', TableName: 'done_mv' },
      { DatabaseName: 'sales', TableName: 'newer_mv', IssuedAt: '2026-11-29T02:00:00Z' },
      { DatabaseName: 'sales', TableName: 'dry_mv', DryRun: true },
      { DatabaseName: 'sales', TableNames: ['daily_*'], IdempotencyKey: 'scope-1' },
      { DatabaseName: 'hr', TableName: 'salaries_mv' },
      { DatabaseName: 'hr', TableNames: ['*'] },
      { DatabaseName: 'sales' },
      { DatabaseName: 'sales', TableName: 'other_mv', IdempotencyKey: 'scope-1' },
    ];
    for (const request of requests) {
      await h.eventHandler(stopEvent(request), lambdaContext()).catch(() => undefined);
    }
    // The scope's derived requests, through the SQS trigger: messageId and parentIdempotencyKey set.
    await h.drainStopQueue();
    events = h.local.eventBridge.events.map((e) => ({
      source: e.source,
      'detail-type': e.detailType,
      detail: e.detail,
    }));
  });
  afterAll(async () => {
    await h?.close();
  });

  it('covers every published outcome, and every kind of subject', () => {
    const details = events.map((e) => e.detail as Record<string, unknown>);

    expect(new Set(details.map((d) => d.outcome))).toEqual(new Set(OUTCOMES.filter((o) => o !== 'retry')));
    expect(details.some((d) => d.outcome === 'not-allowed' && 'scope' in d)).toBe(true);
    expect(details.some((d) => d.outcome === 'rejected' && !('target' in d) && !('scope' in d))).toBe(true);
    expect(details.some((d) => d.outcome === 'rejected' && 'target' in d)).toBe(true);
    expect(details.some((d) => d.trigger === 'sqs' && typeof d.parentIdempotencyKey === 'string')).toBe(true);
  });

  it('validates every published event against the zod schema', () => {
    for (const event of events) {
      const result = z.safeParse(outcomeEventSchema, event);
      expect({ event, issues: result.error?.issues ?? [] }).toEqual({ event, issues: [] });
    }
  });

  it('validates every published event against the committed JSON Schema', async () => {
    const validate = await validatorOf(OUTCOME_EVENT_SCHEMA_FILE);

    for (const event of events) {
      validate(event);
      expect({ event, errors: validate.errors ?? [] }).toEqual({ event, errors: [] });
    }
  });

  it('refuses a detail without its version, with a field it does not document, or with an unknown outcome', () => {
    const [first] = events;
    const detail = first?.detail as Record<string, unknown>;
    const { version: _version, ...unversioned } = detail;

    expect(z.safeParse(outcomeEventDetailSchema, detail).success).toBe(true);
    expect(z.safeParse(outcomeEventDetailSchema, unversioned).success).toBe(false);
    expect(z.safeParse(outcomeEventDetailSchema, { ...detail, extra: 1 }).success).toBe(false);
    expect(z.safeParse(outcomeEventDetailSchema, { ...detail, outcome: 'retry' }).success).toBe(false);
  });
});
