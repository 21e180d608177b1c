import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ProblemReport, stageConfigFor } from '../../deploy/resolvers.ts';
import { checkConfigFile, loadConfigFile } from '../../deploy/stage-config.ts';
import {
  type ConfigProblem,
  checkStackConfig,
  formatProblem,
  globsOverlap,
  hasErrors,
} from '../../src/policy/config-check.ts';
import { matchesGlob } from '../../src/policy/glob.ts';
import { parseStackConfig, StackConfigError } from '../../src/policy/stack-config.ts';

const CONFIG_DIR = path.resolve(import.meta.dirname, '../../config');
const FILE = 'config/prod.json';

const minimal = { allow: [{ database: 'sales' }] };
const window = (fields: Record<string, unknown> = {}) => ({
  name: 'nightly',
  schedule: 'cron(0 2 ? * SAT *)',
  scope: { database: 'sales' },
  ...fields,
});

const problemsOf = (input: unknown): ConfigProblem[] => checkStackConfig(input, FILE).problems;
const linesOf = (input: unknown): string[] => problemsOf(input).map(formatProblem);

describe('checkStackConfig: the stage files', () => {
  it('finds nothing wrong in any file of config/, and gives back the configuration', async () => {
    const files = (await readdir(CONFIG_DIR)).filter((file) => file.endsWith('.json'));

    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const input = JSON.parse(await readFile(path.join(CONFIG_DIR, file), 'utf8'));
      const { config, problems } = checkStackConfig(input, `config/${file}`);
      expect(problems).toEqual([]);
      expect(config?.allow.length).toBeGreaterThan(0);
    }
  });

  it('accepts a $schema entry, for editors', () => {
    const { config, problems } = checkStackConfig(
      { $schema: '../docs/contract/stack-config.schema.json', ...minimal },
      FILE,
    );

    expect(problems).toEqual([]);
    expect(config?.allow).toEqual([{ database: 'sales', tables: ['*'] }]);
  });
});

describe('checkStackConfig: unknown fields', () => {
  it.each([
    [
      'a misspelled top-level field',
      { ...minimal, dryrun: true },
      'config/prod.json: dryrun: unknown field "dryrun" (did you mean "dryRun"?) (unknown-field)',
    ],
    [
      'table for tables in an allow rule',
      { allow: [{ database: 'sales', table: ['daily_*'] }] },
      'config/prod.json: allow.0.table: unknown field "table" (did you mean "tables"?) (unknown-field)',
    ],
    [
      'a misspelled Glue setting',
      { ...minimal, glue: { requestPerSecond: 5 } },
      'config/prod.json: glue.requestPerSecond: unknown field "requestPerSecond" (did you mean "requestsPerSecond"?) (unknown-field)',
    ],
    [
      'timeZone for timezone in a window',
      { ...minimal, maintenanceWindows: [window({ timeZone: 'UTC' })] },
      'config/prod.json: maintenanceWindows.0.timeZone: unknown field "timeZone" (did you mean "timezone"?) (unknown-field)',
    ],
    [
      'a misspelled scope field of a cost guard',
      { ...minimal, costGuards: [{ alarmName: 'a', scope: { databse: 'sales', database: 'sales' } }] },
      'config/prod.json: costGuards.0.scope.databse: unknown field "databse" (did you mean "database"?) (unknown-field)',
    ],
  ])('names %s by its path, with the field it most likely stands for', (_what, input, line) => {
    expect(linesOf(input)).toEqual([line]);
  });

  it('lists the known fields when no field is close', () => {
    expect(
      linesOf({ ...minimal, costGuards: [{ alarmName: 'a', scope: { database: 'sales' }, colour: 1 }] }),
    ).toEqual([
      'config/prod.json: costGuards.0.colour: unknown field "colour" (known fields: alarmName, scope, dryRun) (unknown-field)',
    ]);
  });
});

describe('checkStackConfig: schedules and time zones, field by field', () => {
  it.each([
    ['cron(0 2 * * SAT)', 'schedule', 'cron-expression', 'takes 6 fields'],
    ['cron(75 2 ? * SAT *)', 'schedule', 'cron-expression', 'minutes field "75": 75 is out of range 0-59'],
    ['rate(0 minutes)', 'schedule', 'rate-expression', 'rate value "0" must be a whole number of at least 1'],
    ['at(2026-13-45T99:00:00)', 'schedule', 'at-expression', 'month 13 is not 01-12'],
  ])('refuses the schedule %s', (schedule, field, rule, message) => {
    const problems = problemsOf({ ...minimal, maintenanceWindows: [window({ schedule })] });

    expect(problems.length).toBeGreaterThan(0);
    for (const problem of problems) {
      expect(problem).toMatchObject({
        severity: 'error',
        file: FILE,
        path: `maintenanceWindows.0.${field}`,
        rule,
      });
    }
    expect(problems.map((problem) => problem.message).join('\n')).toContain(message);
  });

  it('refuses the time zone Europe/Berln, suggesting Europe/Berlin', () => {
    expect(linesOf({ ...minimal, maintenanceWindows: [window({ timezone: 'Europe/Berln' })] })).toEqual([
      'config/prod.json: maintenanceWindows.0.timezone: "Europe/Berln" is not an IANA time zone (did you mean "Europe/Berlin"?) (time-zone)',
    ]);
  });

  it('reports text that is no expression once, by its shape', () => {
    expect(linesOf({ ...minimal, maintenanceWindows: [window({ schedule: 'every night' })] })).toEqual([
      'config/prod.json: maintenanceWindows.0.schedule: must be cron(...), rate(...) or at(...) (pattern)',
    ]);
  });
});

describe('checkStackConfig: every problem once, in the order of the file', () => {
  const broken = {
    allow: [{ database: 'sales', table: ['x'] }],
    dryrun: true,
    glue: { requestsPerSecond: 0 },
    costGuards: [{ alarmName: '', scope: { database: 'sales' } }],
    maintenanceWindows: [
      window({ schedule: 'cron(0 2 * * SAT)', timezone: 'Europe/Berln' }),
      window({ name: 'weekly run', schedule: 'rate(0 minutes)' }),
    ],
  };

  it('lists each problem exactly once, with its own path and rule', () => {
    const problems = problemsOf(broken);

    expect(problems.map((p) => `${p.path} ${p.rule}`)).toEqual([
      'allow.0.table unknown-field',
      'dryrun unknown-field',
      'glue.requestsPerSecond range',
      'costGuards.0.alarmName min-length',
      'maintenanceWindows.0.schedule cron-expression',
      'maintenanceWindows.0.timezone time-zone',
      'maintenanceWindows.1.name pattern',
      'maintenanceWindows.1.schedule rate-expression',
    ]);
    expect(problems.every((problem) => problem.severity === 'error')).toBe(true);
    expect(new Set(problems.map(formatProblem)).size).toBe(problems.length);
  });

  it('gives no configuration while there are errors', () => {
    expect(checkStackConfig(broken, FILE).config).toBeUndefined();
    expect(hasErrors(problemsOf(broken))).toBe(true);
  });

  it('is what parseStackConfig throws, as one error listing every problem', () => {
    const error = (() => {
      try {
        parseStackConfig(broken, FILE);
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(StackConfigError);
    const message = error instanceof Error ? error.message : '';
    expect(message.startsWith(`${FILE}: `)).toBe(true);
    for (const problem of problemsOf(broken))
      expect(message).toContain(`${problem.path}: ${problem.message}`);
  });

  it('refuses names used twice and windows whose dates are the wrong way round', () => {
    const input = {
      ...minimal,
      costGuards: [
        { alarmName: 'spend', scope: { database: 'sales' } },
        { alarmName: 'spend', scope: { database: 'sales' } },
      ],
      maintenanceWindows: [
        window({ startDate: '2027-01-02T00:00:00Z', endDate: '2027-01-01T00:00:00Z' }),
        window({ schedule: 'rate(1 day)' }),
      ],
    };

    expect(linesOf(input)).toEqual([
      'config/prod.json: maintenanceWindows: name "nightly" is used twice (duplicate)',
      'config/prod.json: costGuards: alarm "spend" is declared twice (duplicate)',
      'config/prod.json: maintenanceWindows.0: startDate must be before endDate (window "nightly") (date-order)',
    ]);
  });
});

describe('checkStackConfig: warnings for guards and windows outside the allow-list', () => {
  const allow = [
    { database: 'sales' },
    { database: 'marketing', tables: ['campaign_*'] },
    { catalogId: '111122223333', database: 'shared' },
  ];

  it.each([
    ['a database the allow-list does not name', { database: 'hr' }, 'database "hr" is not in the allow-list'],
    [
      'tables no rule of the database allows',
      { database: 'marketing', tables: ['audience_mv', 'report_*'] },
      'no table matching "audience_mv", "report_*" is allowed in database "marketing"',
    ],
    [
      'a catalog no rule names',
      { catalogId: '444455556666', database: 'sales' },
      "no allow rule names catalog 444455556666 (a rule without catalogId covers the stack's own account only)",
    ],
    [
      "the stack's own catalog, when every rule names another one",
      { database: 'shared' },
      'database "shared" is not in the allow-list',
    ],
  ])('warns about a cost guard on %s, and keeps the configuration', (_what, scope, why) => {
    const { config, problems } = checkStackConfig(
      { allow, costGuards: [{ alarmName: 'spend', scope }] },
      FILE,
    );

    expect(config).toBeDefined();
    expect(problems).toEqual([
      {
        severity: 'warning',
        file: FILE,
        path: 'costGuards.0.scope',
        rule: 'outside-allow-list',
        message: `cost guard "spend" can never stop anything: its scope lies entirely outside the allow-list (${why})`,
      },
    ]);
  });

  it('warns about a maintenance window the same way, as one line that says warning', () => {
    const input = { allow, maintenanceWindows: [window({ scope: { database: 'finance' } })] };

    expect(linesOf(input)).toEqual([
      'config/prod.json: maintenanceWindows.0.scope: warning: maintenance window "nightly" can never stop anything: ' +
        'its scope lies entirely outside the allow-list (database "finance" is not in the allow-list) (outside-allow-list)',
    ]);
    expect(hasErrors(problemsOf(input))).toBe(false);
  });

  it.each([
    ['every table of an allowed database', { database: 'sales' }],
    ['a glob that overlaps the allowed glob', { database: 'marketing', tables: ['*_mv'] }],
    ['one allowed name among others', { database: 'marketing', tables: ['audience_mv', 'campaign_x'] }],
    ['a wider scope than the allow-list', { database: 'marketing', tables: ['*'] }],
    ['a foreign catalog a rule names', { catalogId: '111122223333', database: 'shared', tables: ['x'] }],
  ])('does not warn about %s: part of it can be stopped', (_what, scope) => {
    expect(problemsOf({ allow, costGuards: [{ alarmName: 'spend', scope }] })).toEqual([]);
  });
});

describe('globsOverlap', () => {
  it.each([
    ['campaign_*', '*_mv', true],
    ['campaign_*', 'audience_*', false],
    ['a?c', 'a*', true],
    ['a?c', 'ab', false],
    ['*', 'anything', true],
    ['exact', 'exact', true],
    ['exact', 'exacT', false],
    ['x*y*z', '*y*', true],
  ])('%s and %s: %s', (a, b, expected) => {
    expect(globsOverlap(a, b)).toBe(expected);
    expect(globsOverlap(b, a)).toBe(expected);
  });

  it('agrees with matchesGlob: a glob overlaps every name it matches, and a name overlaps only itself', () => {
    const pattern = fc.stringMatching(/^[ab*?]{0,6}$/);
    const name = fc.stringMatching(/^[ab]{0,6}$/);
    fc.assert(
      fc.property(pattern, name, (glob, text) => {
        expect(globsOverlap(glob, text)).toBe(matchesGlob(glob, text));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatProblem', () => {
  it('leaves the path out for a problem of the file as a whole', () => {
    expect(
      formatProblem({
        severity: 'error',
        file: FILE,
        path: '',
        rule: 'json',
        message: 'not valid JSON: oops',
      }),
    ).toBe('config/prod.json: not valid JSON: oops (json)');
  });
});

/** A folder with one stage file per entry: content as given (a string is written as it is). */
const configDir = async (files: Record<string, unknown>): Promise<string> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'glue-mv-stop-config-check-'));
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    if (content === 'directory') await mkdir(file);
    else await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
};

describe('deploy/stage-config.ts: a configuration file, checked', () => {
  it('names the file for a file that cannot be read, is a directory, or is not JSON: one problem each', async () => {
    const dir = await configDir({ 'broken.json': '{ "allow": [', 'folder.json': 'directory' });

    const [missing, folder, broken] = ['missing.json', 'folder.json', 'broken.json'].map((name) =>
      checkConfigFile(path.join(dir, name)),
    );

    expect(missing?.problems).toMatchObject([
      { severity: 'error', path: '', rule: 'read', message: 'cannot be read (ENOENT)' },
    ]);
    expect(folder?.problems).toMatchObject([{ rule: 'read', message: 'cannot be read (EISDIR)' }]);
    expect(broken?.problems).toMatchObject([
      { rule: 'json', message: expect.stringMatching(/^not valid JSON: /) },
    ]);
    expect(formatProblem(broken?.problems[0] as ConfigProblem)).toMatch(
      /broken\.json: not valid JSON: .+ \(json\)$/,
    );
  });

  it('names every value that holds "${", by its path', async () => {
    const dir = await configDir({
      'stage.json': {
        allow: [{ database: 'sales' }],
        costGuards: [{ alarmName: `a-\${opt:stage}`, scope: { database: 'sales' } }],
      },
    });

    expect(checkConfigFile(path.join(dir, 'stage.json')).problems).toMatchObject([
      { severity: 'error', path: 'costGuards.0.alarmName', rule: 'variable-syntax' },
    ]);
  });

  it('throws every error of a file at once, one line each', async () => {
    const dir = await configDir({ 'stage.json': { allow: [{ database: 'a b' }], dryrun: true } });

    expect(() => loadConfigFile(path.join(dir, 'stage.json'))).toThrow(
      /stage\.json: allow\.0\.database: must not contain white space.*\n.*stage\.json: dryrun: unknown field "dryrun"/,
    );
  });
});

describe('deploy/resolvers.ts: each stage is checked once, and each problem printed once', () => {
  /** A report that keeps what would be printed; `fail` throws instead of ending the process. */
  const recorder = () => {
    const lines: string[] = [];
    const failures: string[] = [];
    const report: ProblemReport = {
      line: (text) => lines.push(text),
      fail: (summary) => {
        failures.push(summary);
        throw new Error(summary);
      },
    };
    return { lines, failures, report };
  };

  it('reads a stage once however many variables ask for it, and prints its warnings once', async () => {
    const dir = await configDir({
      'warned.json': {
        allow: [{ database: 'sales' }],
        costGuards: [{ alarmName: 'x', scope: { database: 'hr' } }],
      },
    });
    const { lines, failures, report } = recorder();

    const loaded = Array.from({ length: 10 }, () => stageConfigFor('warned', { report, dir }));

    expect(new Set(loaded).size).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/warned\.json: costGuards\.0\.scope: warning: /)]);
    expect(failures).toEqual([]);
  });

  it('prints every error of a stage once, one line each, then stops with one short line', async () => {
    const dir = await configDir({
      'broken.json': {
        allow: [{ database: 'sales', table: ['x'] }],
        maintenanceWindows: [window({ schedule: 'cron(75 2 ? * SAT *)', timezone: 'Europe/Berln' })],
      },
    });
    const { lines, failures, report } = recorder();

    expect(() => stageConfigFor('broken', { report, dir })).toThrow();

    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /broken\.json: allow\.0\.table: unknown field "table" \(did you mean "tables"\?\) \(unknown-field\)$/,
    );
    expect(lines[1]).toMatch(
      /broken\.json: maintenanceWindows\.0\.schedule: minutes field "75": 75 is out of range 0-59 \(cron-expression\)$/,
    );
    expect(lines[2]).toMatch(
      /broken\.json: maintenanceWindows\.0\.timezone: "Europe\/Berln" is not an IANA time zone/,
    );
    expect(failures).toEqual([
      expect.stringMatching(/^glue-mv-stop: stopped: .*broken\.json has 3 errors \(listed above\)$/),
    ]);
  });

  it('says so once when a stage falls back to the default file', async () => {
    const dir = await configDir({ 'default.json': minimal });
    const { lines, report } = recorder();

    stageConfigFor('preview', { report, dir });
    stageConfigFor('preview', { report, dir });

    expect(lines).toEqual([
      expect.stringMatching(
        /^glue-mv-stop: stage "preview" has no config\/preview\.json; using .*default\.json$/,
      ),
    ]);
  });
});
