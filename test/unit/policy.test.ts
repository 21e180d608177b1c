import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { checkAllowed } from '../../src/policy/allow-list.ts';
import { contractText } from '../../src/policy/contract-text.ts';
import {
  ALARM_EVENT_DETAIL_TYPE,
  ALARM_EVENT_SOURCE,
  type AlarmStateChange,
  decideOnAlarm,
  normaliseTimestamp,
  parseAlarmStateChange,
} from '../../src/policy/cost-guard.ts';
import { isGlob, matchesGlob } from '../../src/policy/glob.ts';
import {
  SCHEDULER_CONTEXT,
  type SchedulePayload,
  schedulePayloadSchema,
  schedulePayloadTemplate,
  scopeRequestForWindow,
} from '../../src/policy/schedule-payload.ts';
import {
  type AllowRule,
  type CostGuard,
  type MaintenanceWindow,
  parseRuntimePolicy,
  parseStackConfig,
  runtimePolicyOf,
  StackConfigError,
} from '../../src/policy/stack-config.ts';
import { parseStopRequest } from '../../src/request/parse.ts';
import { allowedCharacter, controlCharacter, loneSurrogate } from './support/arbitraries.ts';
import { alarmStateChange, FOREIGN_ACCOUNT_ID, FUNCTION_ACCOUNT_ID, thrownBy } from './support/records.ts';

const OWN = FUNCTION_ACCOUNT_ID;
const target = (DatabaseName: string, TableName?: string, CatalogId = OWN) => ({
  CatalogId,
  DatabaseName,
  ...(TableName !== undefined ? { TableName } : {}),
});

describe('checkAllowed: catalogs', () => {
  const salesEverything: AllowRule[] = [{ database: 'sales', tables: ['*'] }];

  it("covers the function's own catalog with a rule that names no catalog", () => {
    expect(checkAllowed(salesEverything, OWN, target('sales', 'daily_mv'))).toEqual({ kind: 'allowed' });
  });

  it('refuses a foreign catalog that no rule names, saying it is not this account’s', () => {
    const verdict = checkAllowed(salesEverything, OWN, target('sales', 'daily_mv', FOREIGN_ACCOUNT_ID));

    expect(verdict).toEqual({
      kind: 'not-allowed',
      reason: 'catalog-not-allowed',
      detail: `catalog ${FOREIGN_ACCOUNT_ID} is not this account's and no allow rule names it`,
    });
  });

  it('allows a foreign catalog only through a rule that names it', () => {
    const rules: AllowRule[] = [{ catalogId: FOREIGN_ACCOUNT_ID, database: 'shared', tables: ['*'] }];

    expect(checkAllowed(rules, OWN, target('shared', 'daily_mv', FOREIGN_ACCOUNT_ID))).toEqual({
      kind: 'allowed',
    });
    expect(checkAllowed(rules, OWN, target('shared', 'daily_mv'))).toEqual({
      kind: 'not-allowed',
      reason: 'catalog-not-allowed',
      detail: `no allow rule covers the catalog of account ${OWN}`,
    });
  });

  it('refuses everything when there are no rules', () => {
    expect(checkAllowed([], OWN, target('sales', 'daily_mv'))).toMatchObject({
      kind: 'not-allowed',
      reason: 'catalog-not-allowed',
    });
  });

  it('does not let a foreign catalog’s rule cover the same database in the own catalog', () => {
    const rules: AllowRule[] = [
      { database: 'sales', tables: ['daily_*'] },
      { catalogId: FOREIGN_ACCOUNT_ID, database: 'sales', tables: ['*'] },
    ];

    expect(checkAllowed(rules, OWN, target('sales', 'hourly_mv'))).toMatchObject({
      reason: 'table-not-allowed',
    });
    expect(checkAllowed(rules, OWN, target('sales', 'hourly_mv', FOREIGN_ACCOUNT_ID))).toEqual({
      kind: 'allowed',
    });
  });
});

describe('checkAllowed: databases and tables', () => {
  const rules: AllowRule[] = [
    { database: 'sales_*', tables: ['daily_*', 'weekly_??_mv'] },
    { database: 'marketing', tables: ['campaign_mv'] },
  ];

  it('matches the database by glob', () => {
    expect(checkAllowed(rules, OWN, target('sales_eu', 'daily_mv'))).toEqual({ kind: 'allowed' });
    expect(checkAllowed(rules, OWN, target('sales_us', 'weekly_eu_mv'))).toEqual({ kind: 'allowed' });
  });

  it('refuses a database no rule matches, naming it', () => {
    expect(checkAllowed(rules, OWN, target('finance', 'daily_mv'))).toEqual({
      kind: 'not-allowed',
      reason: 'database-not-allowed',
      detail: 'database finance is not in the allow-list',
    });
  });

  it('refuses a table outside the table globs of its database, naming database and table', () => {
    expect(checkAllowed(rules, OWN, target('sales_eu', 'hourly_mv'))).toEqual({
      kind: 'not-allowed',
      reason: 'table-not-allowed',
      detail: 'table sales_eu.hourly_mv is not in the allow-list',
    });
  });

  it('takes the tables of the rules whose database matches, not of other rules', () => {
    // campaign_mv is allowed in marketing, not in sales_eu.
    expect(checkAllowed(rules, OWN, target('sales_eu', 'campaign_mv'))).toMatchObject({
      reason: 'table-not-allowed',
    });
    expect(checkAllowed(rules, OWN, target('marketing', 'campaign_mv'))).toEqual({ kind: 'allowed' });
  });

  it('adds up several rules for the same database', () => {
    const two: AllowRule[] = [
      { database: 'sales', tables: ['daily_mv'] },
      { database: 's*', tables: ['hourly_mv'] },
    ];

    expect(checkAllowed(two, OWN, target('sales', 'daily_mv'))).toEqual({ kind: 'allowed' });
    expect(checkAllowed(two, OWN, target('sales', 'hourly_mv'))).toEqual({ kind: 'allowed' });
    expect(checkAllowed(two, OWN, target('sales', 'weekly_mv'))).toMatchObject({
      reason: 'table-not-allowed',
    });
  });

  it('checks a scope (no TableName) on catalog and database only: its tables are checked one by one later', () => {
    expect(checkAllowed(rules, OWN, target('marketing'))).toEqual({ kind: 'allowed' });
    expect(checkAllowed(rules, OWN, target('finance'))).toMatchObject({ reason: 'database-not-allowed' });
    expect(checkAllowed(rules, OWN, target('marketing', undefined, FOREIGN_ACCOUNT_ID))).toMatchObject({
      reason: 'catalog-not-allowed',
    });
  });

  it('allows a target exactly when one rule covers its catalog, database and table', () => {
    const account = fc.constantFrom(OWN, FOREIGN_ACCOUNT_ID);
    const word = fc.constantFrom('sales', 'sales_eu', 'marketing', 'daily_mv', 'daily_eu_mv', 'x');
    const glob = fc.constantFrom('*', 'sales*', 'sales_??', 'daily_*', '*_mv', 'marketing', 'x', '?');
    const rule: fc.Arbitrary<AllowRule> = fc
      .record(
        { catalogId: account, database: glob, tables: fc.array(glob, { minLength: 1, maxLength: 3 }) },
        { requiredKeys: ['database', 'tables'] },
      )
      .map((r) => ({ ...r }));

    fc.assert(
      fc.property(
        fc.array(rule, { maxLength: 4 }),
        account,
        word,
        word,
        (allowRules, catalogId, database, table) => {
          const expected = allowRules.some(
            (r) =>
              (r.catalogId ?? OWN) === catalogId &&
              matchesGlob(r.database, database) &&
              r.tables.some((t) => matchesGlob(t, table)),
          );

          const verdict = checkAllowed(allowRules, OWN, {
            CatalogId: catalogId,
            DatabaseName: database,
            TableName: table,
          });

          expect(verdict.kind === 'allowed').toBe(expected);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/**
 * Reference matcher, written independently of regular expressions: dynamic programming over code points,
 * `*` = any run of code points (also none), `?` = exactly one code point, anything else = itself.
 */
const referenceMatch = (pattern: string, name: string): boolean => {
  const text = [...name];
  let matched = text.map(() => false);
  matched.unshift(true); // matched[j]: the pattern so far matches the first j code points
  for (const symbol of pattern) {
    const next = matched.map(() => false);
    for (let j = 0; j <= text.length; j++) {
      if (symbol === '*') next[j] = (matched[j] ?? false) || (j > 0 && (next[j - 1] ?? false));
      else next[j] = j > 0 && (matched[j - 1] ?? false) && (symbol === '?' || symbol === text[j - 1]);
    }
    matched = next;
  }
  return matched[text.length] ?? false;
};

/** Characters that mean something to a regular expression, plus line breaks and a supplementary-plane one. */
const TRICKY = [
  '.',
  '+',
  '^',
  '$',
  '{',
  '}',
  '(',
  ')',
  '|',
  '[',
  ']',
  '\\',
  '-',
  '/',
  '\n',
  '\u2028',
  '\u{1F600}',
  'é',
];
const nameCharacter = fc.constantFrom('a', 'b', '_', ...TRICKY);
const patternCharacter = fc.oneof(
  { weight: 3, arbitrary: nameCharacter },
  { weight: 1, arbitrary: fc.constantFrom('*', '?') },
);
const pattern = fc.array(patternCharacter, { maxLength: 8 }).map((cs) => cs.join(''));
const name = fc.array(nameCharacter, { maxLength: 12 }).map((cs) => cs.join(''));

/** A name the pattern matches by construction: each `*` and `?` replaced by what it may stand for. */
const instanceOf = (glob: string): fc.Arbitrary<string> =>
  fc
    .tuple(
      ...[...glob].map((symbol) =>
        symbol === '*' ? name : symbol === '?' ? nameCharacter : fc.constant(symbol),
      ),
    )
    .map((parts) => parts.join(''));

describe('matchesGlob: IAM-style name patterns', () => {
  it.each([
    ['*', ''],
    ['*', 'daily_revenue_mv'],
    ['daily_*', 'daily_'],
    ['daily_*', 'daily_revenue_mv'],
    ['*_mv', 'hourly_mv'],
    ['d*y_*_mv', 'daily_revenue_mv'],
    ['sales_??_mv', 'sales_eu_mv'],
    ['?', '\u{1F600}'],
    ['a?c', 'a\nc'],
    ['daily_mv', 'daily_mv'],
  ])('%j matches %j', (glob, table) => {
    expect(matchesGlob(glob, table)).toBe(true);
  });

  it.each([
    ['daily_*', 'hourly_daily_mv', 'a pattern is anchored at the start'],
    ['*_mv', 'daily_mv_old', 'and at the end'],
    ['daily', 'daily_mv', 'an exact name matches itself only'],
    ['Daily_mv', 'daily_mv', 'matching is case-sensitive'],
    ['sales_??_mv', 'sales_e_mv', '? is exactly one character'],
    ['?', '', '? is never empty'],
    ['daily.mv', 'dailyXmv', '. is a literal dot'],
    ['a+b', 'aab', '+ is a literal plus'],
    ['(x|y)', 'x', 'parentheses and | are literal'],
    ['[ab]', 'a', 'brackets are literal'],
    ['^a$', 'a', '^ and $ are literal'],
    ['a{2}', 'aa', 'braces are literal'],
    ['\\d', '1', 'a backslash is literal'],
  ])('%j does not match %j: %s', (glob, table) => {
    expect(matchesGlob(glob, table)).toBe(false);
  });

  it.each(['daily.mv', 'a+b', '(x|y)', '[ab]', '^a$', 'a{2}', '\\d', 'x/y', 'a-b'])(
    'the metacharacter pattern %j matches exactly its own text',
    (text) => {
      expect(matchesGlob(text, text)).toBe(true);
    },
  );

  it('agrees with a reference matcher on any pattern and name', () => {
    fc.assert(
      fc.property(pattern, name, (glob, table) => {
        expect(matchesGlob(glob, table)).toBe(referenceMatch(glob, table));
      }),
      { numRuns: 2000 },
    );
  });

  it('matches every name built from the pattern by filling in its * and ?', () => {
    fc.assert(
      fc.property(
        pattern.chain((glob) => fc.tuple(fc.constant(glob), instanceOf(glob))),
        ([glob, table]) => {
          expect(matchesGlob(glob, table)).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('answers at once for many * against a long near-miss name (no exponential backtracking)', () => {
    // Any producer may send TableNames such as this. A matcher that backtracks through every way of
    // splitting the name among the stars takes seconds here, and hours for 255-character names.
    const glob = '*a*a*a*a*a*b';
    const table = 'a'.repeat(45);

    const started = performance.now();
    const matched = matchesGlob(glob, table);
    const elapsedMs = performance.now() - started;

    expect(matched).toBe(false);
    expect(elapsedMs).toBeLessThan(30);
  });
});

describe('isGlob', () => {
  it('says a pattern is a glob exactly when it contains * or ?', () => {
    expect(isGlob('daily_*')).toBe(true);
    expect(isGlob('sales_??')).toBe(true);
    expect(isGlob('daily.mv+[x]')).toBe(false);
  });
});

const CONFIG_DIR = path.resolve(import.meta.dirname, '../../config');

const minimal = { allow: [{ database: 'sales' }] };

const nightlyWindow = {
  name: 'nightly',
  schedule: 'cron(0 2 * * ? *)',
  scope: { database: 'sales' },
};

const spendGuard = {
  alarmName: 'glue-dpu-spend-too-high',
  scope: { database: 'sales', tables: ['daily_*'] },
};

/** The StackConfigError message parseStackConfig threw for `input`. */
const refusalOf = (input: unknown): string => {
  const error = thrownBy(() => parseStackConfig(input, 'config/ci.json'));
  expect(error).toBeInstanceOf(StackConfigError);
  expect(error).toMatchObject({ name: 'StackConfigError' });
  return error instanceof Error ? error.message : String(error);
};

describe('parseStackConfig: defaults', () => {
  it('fills in every default of a minimal configuration', () => {
    const config = parseStackConfig(minimal);

    expect(config).toStrictEqual({
      allow: [{ database: 'sales', tables: ['*'] }],
      dryRun: false,
      glue: { requestsPerSecond: 10, budget: 'shared', burstSeconds: 0.25 },
      costGuards: [],
      maintenanceWindows: [],
    });
  });

  it('fills in the defaults of windows and guards: UTC, enabled, every table', () => {
    const config = parseStackConfig({
      ...minimal,
      maintenanceWindows: [nightlyWindow],
      costGuards: [spendGuard],
    });

    expect(config.maintenanceWindows).toStrictEqual([
      { ...nightlyWindow, timezone: 'UTC', enabled: true, scope: { database: 'sales', tables: ['*'] } },
    ]);
    expect(config.costGuards).toStrictEqual([spendGuard]);
  });

  it('keeps what the operator set over the defaults', () => {
    const input = {
      allow: [{ catalogId: '444455556666', database: 'shared_*', tables: ['a_mv', 'b_?'] }],
      dryRun: true,
      glue: { requestsPerSecond: 2.5, budget: 'per-operation', burstSeconds: 0 },
      costGuards: [{ ...spendGuard, dryRun: true }],
      maintenanceWindows: [
        {
          ...nightlyWindow,
          timezone: 'Europe/Berlin',
          startDate: '2026-12-01T00:00:00+01:00',
          endDate: '2027-03-01T00:00:00Z',
          dryRun: false,
          enabled: false,
          scope: { database: 'sales', tables: ['daily_*'] },
        },
      ],
    };

    expect(parseStackConfig(input)).toStrictEqual(input);
  });

  it('reads every stage file in config/', async () => {
    const files = (await readdir(CONFIG_DIR)).filter((file) => file.endsWith('.json'));

    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = await readFile(path.join(CONFIG_DIR, file), 'utf8');
      expect(() => parseStackConfig(JSON.parse(text), `config/${file}`)).not.toThrow();
    }
  });
});

describe('parseStackConfig: every refusal names its path', () => {
  it.each([
    ['no allow-list', 'allow: ', {}],
    ['an empty allow-list', 'allow: must allow at least one database', { allow: [] }],
    ['an empty database', 'allow.0.database: must not be empty', { allow: [{ database: '' }] }],
    [
      'a database with a slash',
      'allow.0.database: must not contain white space',
      { allow: [{ database: 'sales/eu' }] },
    ],
    ['a table with a space', 'allow.0.tables.0: ', { allow: [{ database: 'sales', tables: ['daily mv'] }] }],
    ['an empty table list', 'allow.0.tables: ', { allow: [{ database: 'sales', tables: [] }] }],
    [
      'a short account id',
      'allow.0.catalogId: must be a 12-digit AWS account ID',
      { allow: [{ catalogId: '12345', database: 'sales' }] },
    ],
    [
      'an unknown rule field',
      'allow.0.tabels: unknown field "tabels" (did you mean "tables"?)',
      { allow: [{ database: 'sales', tabels: ['*'] }] },
    ],
    [
      'an unknown top-level field',
      'dryrun: unknown field "dryrun" (did you mean "dryRun"?)',
      { ...minimal, dryrun: true },
    ],
    ['a zero request rate', 'glue.requestsPerSecond: ', { ...minimal, glue: { requestsPerSecond: 0 } }],
    [
      'a request rate over 1000',
      'glue.requestsPerSecond: ',
      { ...minimal, glue: { requestsPerSecond: 1001 } },
    ],
    ['a negative burst', 'glue.burstSeconds: ', { ...minimal, glue: { burstSeconds: -0.1 } }],
    ['a burst over 1 second', 'glue.burstSeconds: ', { ...minimal, glue: { burstSeconds: 2 } }],
    ['a burst in milliseconds', 'glue.burstSeconds: ', { ...minimal, glue: { burstSeconds: '250ms' } }],
    ['a string dryRun', 'dryRun: ', { ...minimal, dryRun: 'yes' }],
    [
      'a guard without database',
      'costGuards.0.scope.database: ',
      { ...minimal, costGuards: [{ alarmName: 'a', scope: {} }] },
    ],
    [
      'a guard without alarm',
      'costGuards.0.alarmName: ',
      { ...minimal, costGuards: [{ scope: { database: 'sales' } }] },
    ],
    [
      'a window schedule that is no expression',
      'maintenanceWindows.0.schedule: must be cron(...), rate(...) or at(...)',
      { ...minimal, maintenanceWindows: [{ ...nightlyWindow, schedule: 'every night' }] },
    ],
    [
      'a window name with a space',
      'maintenanceWindows.0.name: must be 1–64 letters, digits, "_", "." or "-"',
      { ...minimal, maintenanceWindows: [{ ...nightlyWindow, name: 'nightly run' }] },
    ],
    [
      'a window start that is not ISO-8601',
      'maintenanceWindows.0.startDate: ',
      { ...minimal, maintenanceWindows: [{ ...nightlyWindow, startDate: '1 Dec 2026' }] },
    ],
  ])('refuses %s, naming the source and "%s"', (_what, expected, input) => {
    const message = refusalOf(input);

    expect(message.startsWith('config/ci.json: ')).toBe(true);
    expect(message).toContain(expected);
  });

  it('reports every problem at once, each with its path', () => {
    const message = refusalOf({ allow: [{ database: '' }], glue: { requestsPerSecond: -1 } });

    expect(message).toContain('allow.0.database: ');
    expect(message).toContain('glue.requestsPerSecond: ');
  });

  it.each([
    ['a database name over 255 characters', 'd'.repeat(256), 'must be at most 255 characters'],
    ['a control character', 'sales\u0007', 'must not contain control characters, U+FFFE or U+FFFF'],
    ['U+FFFE', 'sales\uFFFE', 'must not contain control characters, U+FFFE or U+FFFF'],
  ])('refuses %s in a pattern, saying so', (_what, database, message) => {
    expect(refusalOf({ allow: [{ database }] })).toBe(`config/ci.json: allow.0.database: ${message}`);
  });

  it('refuses a lone surrogate in a pattern, saying so', () => {
    expect(refusalOf({ allow: [{ database: 'sales\uD800' }] })).toBe(
      'config/ci.json: allow.0.database: must not contain lone surrogates',
    );
  });

  it.each([['x123456789012'], ['1234567890123']])('refuses catalogId %s: exactly 12 digits', (catalogId) => {
    expect(refusalOf({ allow: [{ database: 'sales', catalogId }] })).toBe(
      'config/ci.json: allow.0.catalogId: must be a 12-digit AWS account ID',
    );
  });

  it('refuses a scope without tables, saying it needs one or "*"', () => {
    const input = { ...minimal, costGuards: [{ ...spendGuard, scope: { database: 'sales', tables: [] } }] };

    expect(refusalOf(input)).toBe(
      'config/ci.json: costGuards.0.scope.tables: must name at least one table or "*"',
    );
  });

  it.each([['xrate(1 day)'], ['rate(1 day) and more'], ['rate(1 day)x']])(
    'refuses the schedule %j: the whole text must be one expression',
    (schedule) => {
      expect(refusalOf({ ...minimal, maintenanceWindows: [{ ...nightlyWindow, schedule }] })).toBe(
        'config/ci.json: maintenanceWindows.0.schedule: must be cron(...), rate(...) or at(...)',
      );
    },
  );

  it('accepts window start and end dates with a UTC offset', () => {
    const window = {
      ...nightlyWindow,
      startDate: '2026-12-01T00:00:00+01:00',
      endDate: '2027-01-01T00:00:00-05:00',
    };

    expect(
      parseStackConfig({ ...minimal, maintenanceWindows: [window] }).maintenanceWindows[0],
    ).toMatchObject({
      startDate: '2026-12-01T00:00:00+01:00',
      endDate: '2027-01-01T00:00:00-05:00',
    });
  });

  it('names the source "configuration" when the caller gives none', () => {
    const error = thrownBy(() => parseStackConfig({ allow: [{ database: 'sales', catalogId: 'abc' }] }));

    expect(error).toMatchObject({
      message: 'configuration: allow.0.catalogId: must be a 12-digit AWS account ID',
    });
  });

  it('lists the problems in one message, separated by semicolons', () => {
    const message = refusalOf({
      allow: [{ database: 'sales', catalogId: 'abc' }],
      glue: { requestsPerSecond: -1 },
    });

    expect(message).toMatch(
      /^config\/ci\.json: allow\.0\.catalogId: must be a 12-digit AWS account ID; glue\.requestsPerSecond: [^;]+$/,
    );
  });

  it('refuses two windows with the same name, naming it', () => {
    const input = {
      ...minimal,
      maintenanceWindows: [nightlyWindow, { ...nightlyWindow, schedule: 'rate(1 day)' }],
    };

    expect(refusalOf(input)).toBe('config/ci.json: maintenanceWindows: name "nightly" is used twice');
  });

  it('refuses two cost guards on the same alarm, naming it', () => {
    const input = {
      ...minimal,
      costGuards: [spendGuard, { ...spendGuard, scope: { database: 'marketing' } }],
    };

    expect(refusalOf(input)).toBe(
      'config/ci.json: costGuards: alarm "glue-dpu-spend-too-high" is declared twice',
    );
  });

  it('accepts any number of windows and guards with distinct names', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/), { maxLength: 5 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 255 }), { maxLength: 5 }),
        (windowNames, alarmNames) => {
          const input = {
            ...minimal,
            maintenanceWindows: windowNames.map((name) => ({ ...nightlyWindow, name })),
            costGuards: alarmNames.map((alarmName) => ({ ...spendGuard, alarmName })),
          };

          const config = parseStackConfig(input);

          expect(config.maintenanceWindows.map((w) => w.name)).toEqual(windowNames);
          expect(config.costGuards.map((g) => g.alarmName)).toEqual(alarmNames);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('parseRuntimePolicy: the STOP_POLICY the functions receive', () => {
  it('reads what runtimePolicyOf makes of a stage configuration', () => {
    const config = parseStackConfig({ ...minimal, dryRun: true, costGuards: [spendGuard] });

    const policy = parseRuntimePolicy(JSON.stringify(runtimePolicyOf(config)));

    expect(policy).toStrictEqual({
      allow: [{ database: 'sales', tables: ['*'] }],
      dryRun: true,
      costGuards: [spendGuard],
    });
  });

  it('refuses text that is not JSON, naming the source', () => {
    const error = thrownBy(() => parseRuntimePolicy('{allow:', 'environment variable STOP_POLICY'));

    expect(error).toBeInstanceOf(StackConfigError);
    expect(error).toMatchObject({ message: 'environment variable STOP_POLICY: is not valid JSON' });
  });

  it('refuses a policy without dryRun: the runtime policy has no defaults', () => {
    const error = thrownBy(() =>
      parseRuntimePolicy(JSON.stringify({ allow: [{ database: 'sales' }], costGuards: [] })),
    );

    expect(error).toMatchObject({
      name: 'StackConfigError',
      message: expect.stringMatching(/^STOP_POLICY: dryRun: /),
    });
  });

  it('refuses a bad field with its path', () => {
    const json = JSON.stringify({
      allow: [{ database: 'sales', catalogId: 'abc' }],
      dryRun: false,
      costGuards: [],
    });

    const error = thrownBy(() => parseRuntimePolicy(json));

    expect(error).toMatchObject({
      message: 'STOP_POLICY: allow.0.catalogId: must be a 12-digit AWS account ID',
    });
  });

  it('names (root) for a policy that is not an object at all', () => {
    const error = thrownBy(() => parseRuntimePolicy('[]'));

    expect(error).toMatchObject({ message: expect.stringMatching(/^STOP_POLICY: \(root\): [^;]+$/) });
  });

  it('lists every problem of the policy, separated by semicolons', () => {
    const json = JSON.stringify({
      allow: [{ database: 'sales', catalogId: 'abc' }],
      dryRun: 'no',
      costGuards: [],
    });

    const error = thrownBy(() => parseRuntimePolicy(json));

    expect(error).toMatchObject({
      message: expect.stringMatching(
        /^STOP_POLICY: allow\.0\.catalogId: must be a 12-digit AWS account ID; dryRun: [^;]+$/,
      ),
    });
  });

  it('refuses the stage-only parts (windows, Glue rate): they are not the functions’ business', () => {
    const json = JSON.stringify({
      allow: [{ database: 'sales' }],
      dryRun: false,
      costGuards: [],
      maintenanceWindows: [],
    });

    expect(thrownBy(() => parseRuntimePolicy(json))).toBeInstanceOf(StackConfigError);
  });
});

const ALARM = 'glue-dpu-spend-too-high';
const STATE_REASON =
  'Threshold Crossed: 1 out of the last 1 datapoints [512.0 (29/11/26 01:55:00)] was greater than ' +
  'the threshold (400.0) (minimum 1 datapoint for OK -> ALARM transition).';

const guard = (overrides: Partial<CostGuard> = {}): CostGuard => ({
  alarmName: ALARM,
  scope: { database: 'sales', tables: ['daily_*', 'hourly_mv'] },
  ...overrides,
});

/** The alarm event, checked as the alarm function checks it. */
const parsedAlarm = (options: Parameters<typeof alarmStateChange>[0] = {}): AlarmStateChange => {
  const parsed = parseAlarmStateChange(alarmStateChange(options));
  if (parsed.kind === 'invalid')
    throw new Error(`fixture is not a valid alarm event: ${JSON.stringify(parsed.violations)}`);
  return parsed.event;
};

const alarmState = (value: string, extra: { reason?: string; timestamp?: string } = {}) => ({
  value,
  reason: extra.reason ?? `now ${value}`,
  timestamp: extra.timestamp ?? '2026-11-29T02:00:40.989+0000',
});

describe('decideOnAlarm: a transition into ALARM stops the guard’s scope', () => {
  it('turns OK → ALARM into a scope request for the guard’s scope, issued at the state’s timestamp', () => {
    const decision = decideOnAlarm(parsedAlarm(), [guard()]);

    expect(decision).toStrictEqual({
      kind: 'stop',
      alarmName: ALARM,
      request: {
        DatabaseName: 'sales',
        TableNames: ['daily_*', 'hourly_mv'],
        IssuedAt: '2026-11-29T02:00:40.989Z',
        Reason: `cost guard: alarm ${ALARM} went from OK to ALARM: ${STATE_REASON}`,
        RequestedBy: `cloudwatch-alarm:${ALARM}`,
      },
    });
  });

  it('builds a request the stop request contract accepts unchanged', () => {
    const decision = decideOnAlarm(parsedAlarm(), [guard()]);
    if (decision.kind === 'ignore') throw new Error('expected the guard to act');

    expect(parseStopRequest(decision.request)).toStrictEqual({ kind: 'valid', request: decision.request });
  });

  it('acts on INSUFFICIENT_DATA → ALARM too, saying where it came from', () => {
    const decision = decideOnAlarm(parsedAlarm({ previousState: alarmState('INSUFFICIENT_DATA') }), [
      guard(),
    ]);

    expect(decision).toMatchObject({
      kind: 'stop',
      request: { Reason: `cost guard: alarm ${ALARM} went from INSUFFICIENT_DATA to ALARM: ${STATE_REASON}` },
    });
  });

  it('acts when the event has no previous state, calling it unknown', () => {
    const decision = decideOnAlarm(parsedAlarm({ previousState: undefined }), [guard()]);

    expect(decision).toMatchObject({
      kind: 'stop',
      request: { Reason: expect.stringContaining('went from unknown to ALARM') },
    });
  });

  it('gives the bare transition as Reason when the state has no reason', () => {
    const state = { value: 'ALARM', timestamp: '2026-11-29T02:00:40.989+0000' };

    const decision = decideOnAlarm(parsedAlarm({ state }), [guard()]);

    expect(decision).toMatchObject({
      kind: 'stop',
      request: { Reason: `cost guard: alarm ${ALARM} went from OK to ALARM` },
    });
  });

  it('uses the catalog the guard names', () => {
    const scope = { catalogId: FOREIGN_ACCOUNT_ID, database: 'shared', tables: ['*'] };

    const decision = decideOnAlarm(parsedAlarm(), [guard({ scope })]);

    expect(decision).toMatchObject({
      kind: 'stop',
      request: { CatalogId: FOREIGN_ACCOUNT_ID, DatabaseName: 'shared', TableNames: ['*'] },
    });
  });

  it('asks for a dry run when the guard is a dry run, and not otherwise', () => {
    const dry = decideOnAlarm(parsedAlarm(), [guard({ dryRun: true })]);
    const real = decideOnAlarm(parsedAlarm(), [guard({ dryRun: false })]);

    expect(dry).toMatchObject({ kind: 'stop', request: { DryRun: true } });
    expect(real.kind === 'stop').toBe(true);
    expect(real.kind === 'stop' && real.request).not.toHaveProperty('DryRun');
  });

  it('picks the guard of this alarm among several', () => {
    const other = guard({ alarmName: 'other-alarm', scope: { database: 'marketing', tables: ['*'] } });

    const decision = decideOnAlarm(parsedAlarm(), [other, guard()]);

    expect(decision).toMatchObject({ kind: 'stop', request: { DatabaseName: 'sales' } });
  });

  it('copies the guard’s table list, so the request never shares the configuration’s array', () => {
    const configured = guard();

    const decision = decideOnAlarm(parsedAlarm(), [configured]);

    expect(decision).toMatchObject({ kind: 'stop', request: { TableNames: configured.scope.tables } });
    expect(decision.kind === 'stop' && decision.request.TableNames).not.toBe(configured.scope.tables);
  });

  it('falls back to the event time for IssuedAt when the state has no usable timestamp', () => {
    const noTimestamp = parsedAlarm({ state: { value: 'ALARM', reason: 'r' }, time: '2026-11-29T02:00:41Z' });
    const badTimestamp = parsedAlarm({
      state: { value: 'ALARM', timestamp: 'soon' },
      time: '2026-11-29T02:00:41Z',
    });

    expect(decideOnAlarm(noTimestamp, [guard()])).toMatchObject({
      request: { IssuedAt: '2026-11-29T02:00:41.000Z' },
    });
    expect(decideOnAlarm(badTimestamp, [guard()])).toMatchObject({
      request: { IssuedAt: '2026-11-29T02:00:41.000Z' },
    });
  });

  it('leaves IssuedAt out when neither the state nor the event has a time', () => {
    const event = parsedAlarm({ state: { value: 'ALARM' } });
    const { time: _time, ...withoutTime } = event;

    const decision = decideOnAlarm(withoutTime, [guard()]);

    expect(decision.kind === 'stop').toBe(true);
    expect(decision.kind === 'stop' && decision.request).not.toHaveProperty('IssuedAt');
  });

  it('cuts Reason to 1024 and RequestedBy to 255 code points, never inside a character', () => {
    const longName = `${'\u{1F4B8}'.repeat(300)}`;
    const longReason = `${'\u{1F525}'.repeat(2000)}`;

    const decision = decideOnAlarm(
      parsedAlarm({ alarmName: longName, state: alarmState('ALARM', { reason: longReason }) }),
      [guard({ alarmName: longName })],
    );
    if (decision.kind === 'ignore') throw new Error('expected the guard to act');

    expect([...(decision.request.Reason ?? '')]).toHaveLength(1024);
    expect([...(decision.request.RequestedBy ?? '')]).toHaveLength(255);
    expect(decision.request.Reason?.isWellFormed()).toBe(true);
    expect(decision.request.RequestedBy?.isWellFormed()).toBe(true);
  });

  it('builds a request within the contract for any alarm name and state reason, control characters and all', () => {
    const anyCharacter = fc.oneof(
      allowedCharacter,
      controlCharacter,
      loneSurrogate,
      fc.constantFrom('\uFFFE', '\uFFFF'),
    );
    const anyText = (minLength: number, maxLength: number) =>
      fc.oneof(
        fc.array(anyCharacter, { minLength, maxLength: 40 }).map((cs) => cs.join('')),
        fc
          .array(anyCharacter, { minLength: Math.max(minLength, 1), maxLength: 8 })
          .map((cs) => cs.join('').repeat(Math.ceil(maxLength / cs.length))),
      );

    fc.assert(
      fc.property(anyText(1, 300), anyText(0, 1100), (alarmName, reason) => {
        const event = parsedAlarm({ alarmName, state: alarmState('ALARM', { reason }) });

        const decision = decideOnAlarm(event, [guard({ alarmName })]);
        if (decision.kind === 'ignore') throw new Error('expected the guard to act');

        expect(parseStopRequest(decision.request)).toStrictEqual({
          kind: 'valid',
          request: decision.request,
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('builds a request within the contract when CloudWatch’s state reason spans several lines', () => {
    // set-alarm-state and composite alarms can give a reason with line breaks; the request (and every
    // exact request derived from it) must still pass the contract, or each derived request is parked.
    const reason = 'Manually set by on-call:\nDPU spend above budget\r\nsee runbook';

    const decision = decideOnAlarm(parsedAlarm({ state: alarmState('ALARM', { reason }) }), [guard()]);
    if (decision.kind === 'ignore') throw new Error('expected the guard to act');

    expect(parseStopRequest(decision.request)).toStrictEqual({ kind: 'valid', request: decision.request });
    expect(decision.request.Reason).toBe(
      `cost guard: alarm ${ALARM} went from OK to ALARM: Manually set by on-call: DPU spend above budget  see runbook`,
    );
  });
});

describe('decideOnAlarm: everything else is ignored, with a reason', () => {
  it('ignores ALARM → ALARM: the stop was requested when the alarm fired', () => {
    const event = parsedAlarm({ previousState: alarmState('ALARM'), state: alarmState('ALARM') });

    expect(decideOnAlarm(event, [guard()])).toStrictEqual({
      kind: 'ignore',
      alarmName: ALARM,
      why: 'ALARM → ALARM re-evaluation: the stop was already requested when the alarm fired',
    });
  });

  it.each(['OK', 'INSUFFICIENT_DATA'])('ignores a transition into %s, naming the state', (value) => {
    const event = parsedAlarm({ previousState: alarmState('ALARM'), state: alarmState(value) });

    expect(decideOnAlarm(event, [guard()])).toStrictEqual({
      kind: 'ignore',
      alarmName: ALARM,
      why: `state is now ${value}: only a transition into ALARM stops refreshes`,
    });
  });

  it('ignores an alarm no cost guard is configured for', () => {
    const event = parsedAlarm({ alarmName: 'some-other-alarm' });

    expect(decideOnAlarm(event, [guard()])).toStrictEqual({
      kind: 'ignore',
      alarmName: 'some-other-alarm',
      why: 'no cost guard is configured for this alarm',
    });
  });

  it('acts only on a change into ALARM from another state, for any pair of states', () => {
    const stateValue = fc.constantFrom('OK', 'ALARM', 'INSUFFICIENT_DATA');

    fc.assert(
      fc.property(stateValue, stateValue, fc.boolean(), (previous, current, known) => {
        const event = parsedAlarm({ previousState: alarmState(previous), state: alarmState(current) });

        const decision = decideOnAlarm(event, known ? [guard()] : []);

        expect(decision.kind === 'stop').toBe(known && current === 'ALARM' && previous !== 'ALARM');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseAlarmStateChange', () => {
  it('accepts the event as CloudWatch documents it, keeping its fields', () => {
    const event = alarmStateChange();

    const parsed = parseAlarmStateChange(event);

    expect(parsed).toStrictEqual({ kind: 'valid', event });
    expect(event).toMatchObject({ source: ALARM_EVENT_SOURCE, 'detail-type': ALARM_EVENT_DETAIL_TYPE });
  });

  it('refuses another source and detail-type with value violations, carrying the event id', () => {
    const event = { ...alarmStateChange(), source: 'aws.glue', 'detail-type': 'Glue Job State Change' };

    const parsed = parseAlarmStateChange(event);

    expect(parsed).toMatchObject({
      kind: 'invalid',
      eventId: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      violations: [
        { field: 'source', rule: 'value' },
        { field: 'detail-type', rule: 'value' },
      ],
    });
  });

  it('names the missing detail fields', () => {
    const event = { ...alarmStateChange(), detail: { configuration: {} } };

    const parsed = parseAlarmStateChange(event);

    expect(parsed.kind === 'valid' ? [] : parsed.violations.map((v) => `${v.field} ${v.rule}`)).toEqual([
      'detail.alarmName required',
      'detail.state required',
    ]);
  });

  it('names a state value of the wrong type', () => {
    const base = alarmStateChange();
    const event = { ...base, detail: { alarmName: ALARM, state: { value: 1 } } };

    const parsed = parseAlarmStateChange(event);

    expect(parsed.kind === 'valid' ? [] : parsed.violations).toEqual([
      { field: 'detail.state.value', rule: 'type', message: 'must be a string' },
    ]);
  });

  it('refuses an event id over 255 characters: the id becomes part of derived keys', () => {
    const accepted = parseAlarmStateChange(alarmStateChange({ id: 'a'.repeat(255) }));
    const refused = parseAlarmStateChange(alarmStateChange({ id: 'a'.repeat(256) }));

    expect(accepted.kind).toBe('valid');
    expect(refused.kind === 'valid' ? [] : refused.violations.map((v) => `${v.field} ${v.rule}`)).toEqual([
      'id max-length',
    ]);
  });

  it('refuses a string or a number as the event, without an event id', () => {
    for (const event of ['{"id":"c4c1c1c9"}', 42]) {
      const parsed = parseAlarmStateChange(event);

      expect(parsed).toMatchObject({ kind: 'invalid', violations: [{ field: '(body)', rule: 'type' }] });
      expect(parsed).not.toHaveProperty('eventId');
    }
  });

  it('carries no event id when the event’s id is not a string', () => {
    const parsed = parseAlarmStateChange({ ...alarmStateChange(), id: 42 });

    expect(parsed).toMatchObject({ kind: 'invalid', violations: [{ field: 'id', rule: 'type' }] });
    expect(parsed).not.toHaveProperty('eventId');
  });

  it('refuses something that is not an object, without an event id', () => {
    expect(parseAlarmStateChange(null)).toEqual({
      kind: 'invalid',
      violations: [{ field: '(body)', rule: 'type', message: 'must be a JSON object' }],
    });
  });
});

describe('normaliseTimestamp', () => {
  it.each([
    ['2026-11-29T02:00:40.989+0000', '2026-11-29T02:00:40.989Z'],
    ['2026-11-29T07:30:40.989+0530', '2026-11-29T02:00:40.989Z'],
    ['2026-11-29T00:30:00-0130', '2026-11-29T02:00:00.000Z'],
    ['2026-11-29T02:00:00+00:00', '2026-11-29T02:00:00.000Z'],
    ['2026-11-29T02:00:00Z', '2026-11-29T02:00:00.000Z'],
    // An ISO-8601 expanded year: only the offset at the end is an offset.
    ['+002026-11-29T02:00:40.989+0000', '2026-11-29T02:00:40.989Z'],
  ])('reads CloudWatch’s %s as %s', (value, expected) => {
    expect(normaliseTimestamp(value)).toBe(expected);
  });

  it.each([['soon'], [''], [undefined]])('gives undefined for %j', (value) => {
    expect(normaliseTimestamp(value)).toBeUndefined();
  });

  it('gives the same instant for the +hhmm and +hh:mm forms of any time and offset', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4_000_000_000_000 }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        (millis, offset) => {
          const local = new Date(millis + offset * 60_000).toISOString().slice(0, 23);
          const sign = offset < 0 ? '-' : '+';
          const hh = String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0');
          const mm = String(Math.abs(offset) % 60).padStart(2, '0');

          expect(normaliseTimestamp(`${local}${sign}${hh}${mm}`)).toBe(new Date(millis).toISOString());
        },
      ),
      { numRuns: 1000 },
    );
  });
});

const SCHEDULED_TIME = '2026-11-29T02:00:00Z';
const SCHEDULE_ARN = `arn:aws:scheduler:us-east-1:${FUNCTION_ACCOUNT_ID}:schedule/default/glue-mv-stop-dev-nightly`;

/** A window as the stage configuration yields it (defaults filled in). */
const nightly = (overrides: Record<string, unknown> = {}): MaintenanceWindow => {
  const [window] = parseStackConfig({
    allow: [{ database: 'sales' }],
    maintenanceWindows: [
      {
        name: 'nightly',
        schedule: 'cron(0 2 * * ? *)',
        scope: { database: 'sales', tables: ['daily_*'] },
        ...overrides,
      },
    ],
  }).maintenanceWindows;
  if (!window) throw new Error('fixture has no window');
  return window;
};

/** What EventBridge Scheduler does with the schedule's Input: replaces each context placeholder. */
const substitute = (
  template: string,
  values: { scheduledTime: string; executionId: string; scheduleArn: string; attemptNumber: string },
): string =>
  template
    .replaceAll(SCHEDULER_CONTEXT.scheduledTime, values.scheduledTime)
    .replaceAll(SCHEDULER_CONTEXT.executionId, values.executionId)
    .replaceAll(SCHEDULER_CONTEXT.scheduleArn, values.scheduleArn)
    .replaceAll(SCHEDULER_CONTEXT.attemptNumber, values.attemptNumber);

const delivery = (executionId: string, attemptNumber = '1') => ({
  scheduledTime: SCHEDULED_TIME,
  executionId,
  scheduleArn: SCHEDULE_ARN,
  attemptNumber,
});

/** The payload the function receives for one delivery of `window`. */
const delivered = (
  window: MaintenanceWindow,
  executionId = 'a1b2c3d4-0000-4000-8000-000000000001',
  attempt = '1',
) => {
  const payload = z.safeParse(
    schedulePayloadSchema,
    JSON.parse(substitute(schedulePayloadTemplate(window), delivery(executionId, attempt))),
  );
  if (!payload.success) throw new Error(`payload refused: ${JSON.stringify(payload.error.issues)}`);
  return payload.data;
};

describe('schedulePayloadTemplate: the schedule’s Input', () => {
  it('holds the four Scheduler context placeholders', () => {
    const template = schedulePayloadTemplate(nightly());

    expect(template).toContain('<aws.scheduler.scheduled-time>');
    expect(template).toContain('<aws.scheduler.execution-id>');
    expect(template).toContain('<aws.scheduler.schedule-arn>');
    expect(template).toContain('<aws.scheduler.attempt-number>');
  });

  it('is the window’s scope and dry-run flag, plus the placeholders, as JSON', () => {
    const template = schedulePayloadTemplate(nightly({ dryRun: true }));

    expect(JSON.parse(template)).toStrictEqual({
      window: 'nightly',
      scope: { database: 'sales', tables: ['daily_*'] },
      dryRun: true,
      scheduledTime: '<aws.scheduler.scheduled-time>',
      executionId: '<aws.scheduler.execution-id>',
      scheduleArn: '<aws.scheduler.schedule-arn>',
      attemptNumber: '<aws.scheduler.attempt-number>',
    });
  });

  it('says dryRun false when the window does not set it', () => {
    expect(JSON.parse(schedulePayloadTemplate(nightly()))).toMatchObject({ dryRun: false });
  });

  it('once Scheduler fills in real values, is a payload the schedule function accepts', () => {
    const payload = delivered(nightly());

    expect(payload).toStrictEqual({
      window: 'nightly',
      scope: { database: 'sales', tables: ['daily_*'] },
      dryRun: false,
      scheduledTime: SCHEDULED_TIME,
      executionId: 'a1b2c3d4-0000-4000-8000-000000000001',
      scheduleArn: SCHEDULE_ARN,
      attemptNumber: '1',
    });
  });

  it('is refused while a placeholder is still in it', () => {
    const result = z.safeParse(schedulePayloadSchema, JSON.parse(schedulePayloadTemplate(nightly())));

    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['scheduledTime']);
  });

  it('round-trips any window of the configuration through Scheduler into an accepted payload', () => {
    const windowName = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
    const namePattern = fc.stringMatching(/^[A-Za-z0-9_*?.-]{1,20}$/);

    fc.assert(
      fc.property(
        windowName,
        fc.option(fc.constantFrom(FUNCTION_ACCOUNT_ID, FOREIGN_ACCOUNT_ID), { nil: undefined }),
        namePattern,
        fc.array(namePattern, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        (name, catalogId, database, tables, dryRun) => {
          const scope = { ...(catalogId !== undefined ? { catalogId } : {}), database, tables };
          const window = nightly({ name, scope, dryRun });

          const payload = delivered(window);

          expect(payload).toMatchObject({ window: name, scope, dryRun });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('scopeRequestForWindow', () => {
  it('asks to stop the window’s scope, keyed by window and scheduled time, issued at the scheduled time', () => {
    const request = scopeRequestForWindow(delivered(nightly()));

    expect(request).toStrictEqual({
      DatabaseName: 'sales',
      TableNames: ['daily_*'],
      IdempotencyKey: `schedule:nightly@${SCHEDULED_TIME}`,
      IssuedAt: SCHEDULED_TIME,
      Reason: `maintenance window nightly (scheduled for ${SCHEDULED_TIME})`,
      RequestedBy: 'schedule:nightly',
    });
  });

  it('gives two deliveries of one occurrence (other execution id, a retry attempt) the same request', () => {
    const first = scopeRequestForWindow(delivered(nightly(), 'a1b2c3d4-0000-4000-8000-000000000001', '1'));
    const retried = scopeRequestForWindow(delivered(nightly(), 'e5f6a7b8-0000-4000-8000-000000000002', '2'));

    expect(retried).toStrictEqual(first);
  });

  it('gives different occurrences and different windows different keys', () => {
    const payload = delivered(nightly());
    const nextNight: SchedulePayload = { ...payload, scheduledTime: '2026-11-30T02:00:00Z' };
    const otherWindow: SchedulePayload = { ...payload, window: 'weekend' };

    const keys = [payload, nextNight, otherWindow].map((p) => scopeRequestForWindow(p).IdempotencyKey);

    expect(new Set(keys).size).toBe(3);
  });

  it('carries the catalog and the dry run of the window', () => {
    const window = nightly({
      dryRun: true,
      scope: { catalogId: FOREIGN_ACCOUNT_ID, database: 'shared', tables: ['*'] },
    });

    const request = scopeRequestForWindow(delivered(window));

    expect(request).toMatchObject({
      CatalogId: FOREIGN_ACCOUNT_ID,
      DatabaseName: 'shared',
      TableNames: ['*'],
      DryRun: true,
    });
  });

  it('leaves DryRun out for a window that stops for real', () => {
    expect(scopeRequestForWindow(delivered(nightly({ dryRun: false })))).not.toHaveProperty('DryRun');
  });

  it('builds a request the stop request contract accepts unchanged, for any window and time', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/),
        fc.stringMatching(/^[A-Za-z0-9_*?.-]{1,64}$/),
        fc.date({
          min: new Date('2000-01-01T00:00:00Z'),
          max: new Date('2999-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        (name, database, at) => {
          const payload: SchedulePayload = {
            ...delivered(nightly()),
            window: name,
            scope: { database, tables: ['*'] },
            scheduledTime: at.toISOString(),
          };

          const request = scopeRequestForWindow(payload);

          expect(parseStopRequest(request)).toStrictEqual({ kind: 'valid', request });
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('stage configuration limits that keep derived requests inside the contract', () => {
  it('refuses a scope of more than 100 tables, as a request TableNames would be refused', () => {
    const tables = Array.from({ length: 101 }, (_, i) => `view_${i}`);

    expect(() =>
      parseStackConfig({
        allow: [{ database: 'sales' }],
        costGuards: [{ alarmName: 'a', scope: { database: 'sales', tables } }],
      }),
    ).toThrow('costGuards.0.scope.tables: must name at most 100 tables or globs');
  });
});

describe('contractText: configuration and AWS text made fit for Reason and RequestedBy', () => {
  it('turns control characters other than tab, U+FFFE and U+FFFF into spaces', () => {
    expect(contractText('a\nb\u0000c\u001fd\te\uFFFEf\uFFFFg\u0008h', 100)).toBe('a b c d\te f g h');
  });

  it('turns a lone surrogate into U+FFFD and keeps a well-formed pair', () => {
    expect(contractText('x\uD800y\uDC00z😀', 100)).toBe('x\uFFFDy\uFFFDz😀');
  });

  it('cuts the text to max code points, never inside a surrogate pair', () => {
    expect(contractText('😀😀😀', 2)).toBe('😀😀');
    expect(contractText('abc', 3)).toBe('abc');
  });

  it('always gives a Reason the stop request contract accepts', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 50 }),
        (text, max) => {
          const request = { DatabaseName: 'sales', TableNames: ['*'], Reason: contractText(text, max) };

          expect(parseStopRequest(request).kind).toBe('valid');
        },
      ),
      { numRuns: 500 },
    );
  });
});
