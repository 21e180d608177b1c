import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IDEMPOTENCY_KEY_MAX_LENGTH,
  NAME_MAX_LENGTH,
  PARENT_KEY_MAX_LENGTH,
  REASON_MAX_LENGTH,
  REQUESTED_BY_MAX_LENGTH,
  TABLE_NAMES_MAX_ITEMS,
} from '../../src/request/contract.ts';
import {
  describeViolations,
  fieldName,
  parseStopMessageBody,
  parseStopRequest,
} from '../../src/request/parse.ts';
import type { ScopeStopRequest, StopRequest, TableStopRequest } from '../../src/request/types.ts';
import {
  allowedCharacter,
  charactersOfLength,
  controlCharacter,
  issuedAt,
  loneSurrogate,
  runId,
  validCharacters,
  validText,
} from './support/arbitraries.ts';
import { OTHER_RUN_ID, RUN_ID, scopeRequest, stopRequest } from './support/records.ts';

// Lengths here are measured as the schema measures them: in Unicode code points. zod's minLength/maxLength
// count code points, not UTF-16 code units (`String.prototype.length`), so a supplementary-plane character
// (an emoji, U+1F600) counts as one even though it is two code units. Smithy's length trait, which the Glue
// API model uses, also counts code points (https://smithy.io/2.0/spec/constraint-traits.html#length-trait).

const RUNS = { numRuns: 1000 };

type TextField = keyof StopRequest;

/** Every field of the contract with its longest accepted length. */
const TEXT_FIELDS: readonly (readonly [TextField, number])[] = [
  ['CatalogId', NAME_MAX_LENGTH],
  ['DatabaseName', NAME_MAX_LENGTH],
  ['TableName', NAME_MAX_LENGTH],
  ['IdempotencyKey', IDEMPOTENCY_KEY_MAX_LENGTH],
  ['Reason', REASON_MAX_LENGTH],
  ['RequestedBy', REQUESTED_BY_MAX_LENGTH],
  ['ParentIdempotencyKey', PARENT_KEY_MAX_LENGTH],
];
const CONTRACT_KEYS: readonly string[] = [
  ...TEXT_FIELDS.map(([field]) => field),
  'TableNames',
  'RunId',
  'IssuedAt',
  'DryRun',
];

const shortText = fc.array(allowedCharacter, { minLength: 1, maxLength: 8 }).map((text) => text.join(''));

const validRequest: fc.Arbitrary<TableStopRequest> = fc
  .record(
    {
      CatalogId: validText(NAME_MAX_LENGTH),
      DatabaseName: validText(NAME_MAX_LENGTH),
      TableName: validText(NAME_MAX_LENGTH),
      RunId: runId,
      IssuedAt: issuedAt,
      DryRun: fc.boolean(),
      ParentIdempotencyKey: validText(PARENT_KEY_MAX_LENGTH),
      IdempotencyKey: validText(IDEMPOTENCY_KEY_MAX_LENGTH),
      Reason: validText(REASON_MAX_LENGTH),
      RequestedBy: validText(REQUESTED_BY_MAX_LENGTH),
    },
    { requiredKeys: ['DatabaseName', 'TableName'] },
  )
  // fc.record builds null-prototype objects; a request from JSON.parse is a plain object.
  .map((request) => ({ ...request }));

/**
 * A valid request with short values: the backdrop for the refusal properties, which vary one field at a
 * time (cheaper to build than {@link validRequest}, so 1000 runs stay fast).
 */
const validBackdrop: fc.Arbitrary<TableStopRequest> = fc
  .record(
    {
      CatalogId: shortText,
      DatabaseName: shortText,
      TableName: shortText,
      IdempotencyKey: shortText,
      Reason: shortText,
      RequestedBy: shortText,
      ParentIdempotencyKey: shortText,
    },
    { requiredKeys: ['DatabaseName', 'TableName'] },
  )
  .map((request) => ({ ...request }));

const textField = fc.constantFrom(...TEXT_FIELDS);

/** A field and the whole characters of a valid value one code point short of its limit (room for one more). */
const fieldWithRoomForOneMore = textField.chain(([field, maxLength]) =>
  fc.tuple(fc.constant(field), validCharacters(maxLength - 1)),
);

/** Inserts `character` between two whole code points of `characters` (never inside a surrogate pair). */
const insertAt = (characters: readonly string[], position: number, character: string): string => {
  const text = [...characters];
  text.splice(position % (text.length + 1), 0, character);
  return text.join('');
};

const rulesOf = (result: ReturnType<typeof parseStopRequest>): [string, string][] =>
  result.kind === 'valid' ? [] : result.violations.map((v) => [v.field, v.rule]);

describe('stop request contract: what is accepted', () => {
  it('accepts any request of allowed characters and lengths, as an object or an SQS body, unchanged', () => {
    fc.assert(
      fc.property(validRequest, (request) => {
        const input = structuredClone(request);
        const body = JSON.stringify(request);

        const direct = parseStopRequest(input);
        const queued = parseStopMessageBody(body);

        expect(direct).toStrictEqual({ kind: 'valid', request });
        expect(queued).toStrictEqual({ kind: 'valid', request });
        expect(input).toStrictEqual(request);
      }),
      RUNS,
    );
  });

  it('accepts a 255-character ASCII name', () => {
    const request = stopRequest({ TableName: 'a'.repeat(255) });

    const result = parseStopRequest(request);

    expect(result).toStrictEqual({ kind: 'valid', request });
  });

  it('counts a supplementary-plane character as one: 255 emoji (510 code units) pass, 256 do not', () => {
    const fits = '\u{1F600}'.repeat(255);
    const tooLong = '\u{1F600}'.repeat(256);

    const accepted = parseStopRequest(stopRequest({ TableName: fits }));
    const refused = parseStopRequest(stopRequest({ TableName: tooLong }));

    expect(fits).toHaveLength(510);
    expect(accepted.kind).toBe('valid');
    expect(rulesOf(refused)).toEqual([['TableName', 'max-length']]);
  });

  it('accepts tab, DEL, U+FFFD and U+10FFFF, as the Glue pattern does', () => {
    const request = stopRequest({ DatabaseName: 'a\tb\u007Fc\uFFFDd\u{10FFFF}' });

    const result = parseStopRequest(request);

    expect(result).toStrictEqual({ kind: 'valid', request });
  });

  it('accepts a 1024-character Reason and refuses 1025', () => {
    const accepted = parseStopRequest(stopRequest({ Reason: 'r'.repeat(1024) }));
    const refused = parseStopRequest(stopRequest({ Reason: 'r'.repeat(1025) }));

    expect(accepted.kind).toBe('valid');
    expect(rulesOf(refused)).toEqual([['Reason', 'max-length']]);
  });
});

describe('stop request contract: what is refused, and how it is reported', () => {
  it('refuses any text containing a control character other than tab, with rule pattern naming the field', () => {
    fc.assert(
      fc.property(
        validBackdrop,
        fieldWithRoomForOneMore,
        fc.nat(),
        controlCharacter,
        (request, [field, characters], position, control) => {
          const input = { ...request, [field]: insertAt(characters, position, control) };

          const result = parseStopRequest(input);

          expect(rulesOf(result)).toEqual([[field, 'pattern']]);
        },
      ),
      RUNS,
    );
  });

  it('refuses any text containing a lone surrogate, with rule pattern naming the field', () => {
    fc.assert(
      fc.property(
        validBackdrop,
        fieldWithRoomForOneMore,
        fc.nat(),
        loneSurrogate,
        (request, [field, characters], position, surrogate) => {
          const input = { ...request, [field]: insertAt(characters, position, surrogate) };

          const result = parseStopRequest(input);

          expect(rulesOf(result)).toEqual([[field, 'pattern']]);
        },
      ),
      RUNS,
    );
  });

  it('refuses U+FFFE and U+FFFF, which the Glue pattern leaves out', () => {
    const result = parseStopRequest(stopRequest({ DatabaseName: 'a\uFFFE', TableName: 'b\uFFFF' }));

    expect(rulesOf(result)).toEqual([
      ['DatabaseName', 'pattern'],
      ['TableName', 'pattern'],
    ]);
  });

  it('refuses an empty value of any field with rule min-length', () => {
    fc.assert(
      fc.property(validBackdrop, textField, (request, [field]) => {
        const input = { ...request, [field]: '' };

        const result = parseStopRequest(input);

        expect(rulesOf(result)).toEqual([[field, 'min-length']]);
      }),
      RUNS,
    );
  });

  it('refuses any value longer than its field allows with rule max-length', () => {
    fc.assert(
      fc.property(
        validBackdrop,
        textField.chain(([field, maxLength]) =>
          fc.tuple(fc.constant(field), charactersOfLength(maxLength + 1, maxLength + 64)),
        ),
        (request, [field, characters]) => {
          const input = { ...request, [field]: characters.join('') };

          const result = parseStopRequest(input);

          expect(rulesOf(result)).toEqual([[field, 'max-length']]);
        },
      ),
      RUNS,
    );
  });

  it('refuses a 256-character ASCII name with the limit in the message', () => {
    const result = parseStopRequest(stopRequest({ DatabaseName: 'a'.repeat(256) }));

    expect(result).toEqual({
      kind: 'invalid',
      violations: [{ field: 'DatabaseName', rule: 'max-length', message: 'must be at most 255 characters' }],
    });
  });

  it('refuses a request without DatabaseName or TableName with rule required for each missing field', () => {
    fc.assert(
      fc.property(
        validBackdrop,
        fc.subarray(['DatabaseName', 'TableName'] as const, { minLength: 1 }),
        (request, missing) => {
          const input: Record<string, unknown> = { ...request };
          for (const field of missing) delete input[field];

          const result = parseStopRequest(input);

          expect(rulesOf(result).sort()).toEqual(missing.map((field) => [field, 'required']).sort());
        },
      ),
      RUNS,
    );
  });

  it('refuses any key that is not in the contract with rule unknown-field naming that key', () => {
    const extraKey = fc
      .oneof(
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1, unit: 'binary' }),
        // Near misses and names that live on Object.prototype.
        fc.constantFrom(
          'Tablename',
          'tableName',
          'TableName ',
          'catalogId',
          '__proto__',
          'constructor',
          'toString',
        ),
      )
      .filter((key) => !CONTRACT_KEYS.includes(key));

    const fieldValue = fc.oneof(shortText, fc.integer(), fc.boolean(), fc.constant(null), fc.constant({}));

    fc.assert(
      fc.property(validBackdrop, extraKey, fieldValue, (request, key, value) => {
        // A computed key defines an own property, even for `__proto__`, as JSON.parse does.
        const input = { ...request, [key]: value };

        const result = parseStopRequest(input);

        expect(rulesOf(result)).toEqual([[fieldName(key), 'unknown-field']]);
      }),
      RUNS,
    );
  });

  it.each([
    ['Tablename', 'Tablename'],
    ['Table Name', '"Table Name"'],
    ['', '""'],
    ['a.b', '"a.b"'],
    ['Table\u0001Name', '"Table\\u0001Name"'],
  ])('names the field %j as %s: plain keys as they are, others as JSON strings', (key, expected) => {
    expect(fieldName(key)).toBe(expected);
  });

  it('reports the pattern rule once when a value breaks both of its halves', () => {
    const result = parseStopRequest({ DatabaseName: 'sales', TableName: 'a\u0001\uD800' });

    expect(result.kind === 'valid' ? [] : result.violations).toEqual([
      {
        field: 'TableName',
        rule: 'pattern',
        message: 'must not contain control characters (tab excepted), U+FFFE, U+FFFF or lone surrogates',
      },
    ]);
  });

  it('names an empty unknown key as a field, not as the whole body', () => {
    const input = { ...stopRequest(), '': 'x' };

    const result = parseStopRequest(input);

    expect(result.kind).toBe('invalid');
    expect(result.kind === 'valid' ? [] : result.violations.map((v) => v.rule)).toEqual(['unknown-field']);
    expect(result.kind === 'valid' ? [] : result.violations.map((v) => v.field)).not.toContain('(body)');
  });

  it('refuses any body that is not a JSON object with a type violation on (body)', () => {
    const notAnObject = fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.string(),
      fc.constant(null),
      fc.array(fc.jsonValue()),
      fc.array(validBackdrop, { minLength: 1, maxLength: 2 }),
    );

    fc.assert(
      fc.property(notAnObject, (value) => {
        const direct = parseStopRequest(value);
        const asBody = parseStopMessageBody(JSON.stringify(value));

        expect(rulesOf(direct)).toEqual([['(body)', 'type']]);
        expect(asBody).toEqual(direct);
      }),
      RUNS,
    );
  });

  it('says a non-object body must be a JSON object', () => {
    const result = parseStopMessageBody('42');

    expect(result).toEqual({
      kind: 'invalid',
      violations: [{ field: '(body)', rule: 'type', message: 'must be a JSON object' }],
    });
  });
});

describe('describeViolations', () => {
  it('formats each violation as "field: message (rule)", joined by "; "', () => {
    const parsed = parseStopMessageBody('{"DatabaseName":"","Tablename":"daily_mv","CatalogId":"a\\u0001"}');

    const text = describeViolations(parsed.kind === 'valid' ? [] : parsed.violations);

    expect(text).toBe(
      'TableName: is required (or TableNames, for a scope) (required); ' +
        'CatalogId: must not contain control characters (tab excepted), U+FFFE, U+FFFF or lone surrogates (pattern); ' +
        'DatabaseName: must not be empty (min-length); ' +
        'Tablename: is not a field of the stop request (unknown-field)',
    );
  });

  it('gives an empty string for no violations', () => {
    expect(describeViolations([])).toBe('');
  });
});

/** Table names and globs: short texts, with `*` and `?` mixed in. */
const nameOrGlob = fc.oneof(shortText, fc.constantFrom('*', 'daily_*', '*_mv', 'sales_??_mv', 'a.b+c(d)[e]'));

/**
 * A valid scope request. The fields it shares with a table request get short values here: their full
 * range is covered by the table request property above.
 */
const validScopeRequest: fc.Arbitrary<ScopeStopRequest> = fc
  .record(
    {
      CatalogId: shortText,
      DatabaseName: shortText,
      TableNames: fc.oneof(
        { weight: 4, arbitrary: fc.array(nameOrGlob, { minLength: 1, maxLength: 5 }) },
        {
          weight: 1,
          arbitrary: fc.array(nameOrGlob, {
            minLength: TABLE_NAMES_MAX_ITEMS - 1,
            maxLength: TABLE_NAMES_MAX_ITEMS,
          }),
        },
        { weight: 2, arbitrary: fc.array(validText(NAME_MAX_LENGTH), { minLength: 1, maxLength: 3 }) },
      ),
      IssuedAt: issuedAt,
      DryRun: fc.boolean(),
      ParentIdempotencyKey: shortText,
      IdempotencyKey: shortText,
      Reason: shortText,
      RequestedBy: shortText,
    },
    { requiredKeys: ['DatabaseName', 'TableNames'] },
  )
  .map((request) => ({ ...request }));

describe('stop request contract: scope requests (TableNames)', () => {
  it('accepts any valid scope request, as an object or an SQS body, unchanged', () => {
    fc.assert(
      fc.property(validScopeRequest, (request) => {
        const input = structuredClone(request);

        const direct = parseStopRequest(input);
        const queued = parseStopMessageBody(JSON.stringify(request));

        expect(direct).toStrictEqual({ kind: 'valid', request });
        expect(queued).toStrictEqual({ kind: 'valid', request });
        expect(input).toStrictEqual(request);
      }),
      RUNS,
    );
  });

  it('accepts a scope of one name and a scope of 100 names', () => {
    const one = scopeRequest({ TableNames: ['daily_*'] });
    const hundred = scopeRequest({ TableNames: Array.from({ length: 100 }, (_, i) => `mv_${i}`) });

    expect(parseStopRequest(one)).toStrictEqual({ kind: 'valid', request: one });
    expect(parseStopRequest(hundred)).toStrictEqual({ kind: 'valid', request: hundred });
  });

  it('refuses an empty TableNames with rule min-length, and 101 names with rule max-length', () => {
    const empty = parseStopRequest(scopeRequest({ TableNames: [] }));
    const tooMany = parseStopRequest(
      scopeRequest({ TableNames: Array.from({ length: 101 }, (_, i) => `mv_${i}`) }),
    );

    expect(empty).toEqual({
      kind: 'invalid',
      violations: [
        { field: 'TableNames', rule: 'min-length', message: 'must name at least one table, or "*" for all' },
      ],
    });
    expect(tooMany).toEqual({
      kind: 'invalid',
      violations: [{ field: 'TableNames', rule: 'max-length', message: 'must list at most 100 names' }],
    });
  });

  it.each([
    ['', 'min-length'],
    ['a'.repeat(256), 'max-length'],
    ['daily\n*', 'pattern'],
    ['\uD800*', 'pattern'],
  ])('refuses the name %j inside TableNames with rule %s, naming its index', (name, rule) => {
    const result = parseStopRequest(scopeRequest({ TableNames: ['ok_mv', 'other_*', name] }));

    expect(rulesOf(result)).toEqual([['TableNames.2', rule]]);
  });

  it('refuses TableNames that is not an array with rule type', () => {
    const result = parseStopRequest({ DatabaseName: 'sales', TableNames: 'daily_*' });

    expect(rulesOf(result)).toEqual([['TableNames', 'type']]);
  });

  it('refuses TableName and TableNames together with one value violation on TableNames', () => {
    const result = parseStopRequest({ DatabaseName: 'sales', TableName: 'daily_mv', TableNames: ['*'] });

    expect(result).toEqual({
      kind: 'invalid',
      violations: [
        { field: 'TableNames', rule: 'value', message: 'must not be given together with TableName' },
      ],
    });
  });

  it('refuses a request with neither TableName nor TableNames, saying TableNames is the alternative', () => {
    const result = parseStopRequest({ DatabaseName: 'sales', Reason: 'cost' });

    expect(result).toEqual({
      kind: 'invalid',
      violations: [
        { field: 'TableName', rule: 'required', message: 'is required (or TableNames, for a scope)' },
      ],
    });
  });

  it('refuses a RunId on a scope request: a run guard names one table', () => {
    const result = parseStopRequest({ ...scopeRequest(), RunId: RUN_ID });

    expect(result).toEqual({
      kind: 'invalid',
      violations: [{ field: 'RunId', rule: 'value', message: 'applies to one table (TableName) only' }],
    });
  });

  it('prefixes the scope rules with detail. inside an EventBridge event', () => {
    const body = JSON.stringify({
      'detail-type': 'Stop Materialized View Refresh',
      source: 'glue-mv-stop',
      id: 'e-1',
      detail: { DatabaseName: 'sales', TableName: 'a', TableNames: ['*'] },
    });

    const result = parseStopMessageBody(body);

    expect(result.kind === 'valid' ? [] : result.violations.map((v) => `${v.field} ${v.rule}`)).toEqual([
      'detail.TableNames value',
    ]);
  });
});

describe('stop request contract: run guard, dry run and parent key', () => {
  it('accepts any RunId that is a UUID, in either case, on a table request', () => {
    fc.assert(
      fc.property(runId, (id) => {
        const request = stopRequest({ RunId: id });

        expect(parseStopRequest(request)).toStrictEqual({ kind: 'valid', request });
      }),
      RUNS,
    );
  });

  it.each([
    ['not-a-uuid'],
    [`${RUN_ID}x`],
    [RUN_ID.replaceAll('-', '')],
    [` ${OTHER_RUN_ID}`],
    ['6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6g'],
    [''],
  ])('refuses RunId %j with rule pattern', (id) => {
    const result = parseStopRequest(stopRequest({ RunId: id }));

    expect(result).toEqual({
      kind: 'invalid',
      violations: [{ field: 'RunId', rule: 'pattern', message: 'must be a refresh task run ID (a UUID)' }],
    });
  });

  it('accepts any ISO-8601 IssuedAt with Z or a ±hh:mm offset', () => {
    fc.assert(
      fc.property(issuedAt, (at) => {
        const request = stopRequest({ IssuedAt: at });

        expect(parseStopRequest(request)).toStrictEqual({ kind: 'valid', request });
      }),
      RUNS,
    );
  });

  it.each([
    ['2026-11-29', 'a date without a time'],
    ['2026-11-29T02:00:00', 'no offset (local time is ambiguous)'],
    ['2026-11-29T02:00:00.000+0000', "CloudWatch's offset without a colon"],
    ['2026-02-30T02:00:00Z', 'a day that does not exist'],
    ['yesterday', 'not a date-time at all'],
    ['1795917600000', 'epoch milliseconds'],
  ])('refuses IssuedAt %j (%s) with rule pattern', (at) => {
    const result = parseStopRequest(stopRequest({ IssuedAt: at }));

    expect(result).toEqual({
      kind: 'invalid',
      violations: [
        {
          field: 'IssuedAt',
          rule: 'pattern',
          message: 'must be an ISO-8601 date-time, e.g. 2026-11-29T02:00:00Z',
        },
      ],
    });
  });

  it('accepts DryRun true and false on either kind of request', () => {
    const requests: StopRequest[] = [
      stopRequest({ DryRun: true }),
      stopRequest({ DryRun: false }),
      scopeRequest({ DryRun: true }),
      scopeRequest({ DryRun: false }),
    ];

    for (const request of requests)
      expect(parseStopRequest(request)).toStrictEqual({ kind: 'valid', request });
  });

  it.each([['true'], [1], [null]])('refuses DryRun %j with rule type', (value) => {
    const result = parseStopRequest({ ...stopRequest(), DryRun: value });

    expect(rulesOf(result)).toEqual([['DryRun', 'type']]);
  });

  it('accepts a ParentIdempotencyKey of 512 characters and refuses 513', () => {
    const accepted = parseStopRequest(stopRequest({ ParentIdempotencyKey: 'k'.repeat(512) }));
    const refused = parseStopRequest(stopRequest({ ParentIdempotencyKey: 'k'.repeat(513) }));

    expect(accepted.kind).toBe('valid');
    expect(refused).toEqual({
      kind: 'invalid',
      violations: [
        { field: 'ParentIdempotencyKey', rule: 'max-length', message: 'must be at most 512 characters' },
      ],
    });
  });
});

describe('type refusals name the expected type in plain words', () => {
  it.each([
    [{ DatabaseName: 'sales', TableNames: 'daily_mv' }, 'TableNames: must be an array (type)'],
    [{ DatabaseName: 'sales', TableName: 'daily_mv', DryRun: 'yes' }, 'DryRun: must be true or false (type)'],
    [{ DatabaseName: 7, TableName: 'daily_mv' }, 'DatabaseName: must be a string (type)'],
  ])('%j → %s', (input, expected) => {
    const result = parseStopRequest(input);

    expect(result.kind === 'valid' ? '' : describeViolations(result.violations)).toBe(expected);
  });
});
