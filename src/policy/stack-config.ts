/**
 * The operator's configuration of one stage (`config/<stage>.json`): what may be stopped (the allow-list),
 * the cost guards, the maintenance windows, dry-run and the Glue request rate. The deployment reads it to
 * generate the IAM policy, the alarm rules and the schedules; the functions receive the part they need
 * (`runtimeConfigOf`) in the STOP_POLICY environment variable. One schema, so the two always agree.
 *
 * Schedules and time zones are checked part by part (`schedule-expression.ts`); `validateStackConfig` turns
 * every problem into a violation that names the field and the rule, and `config-check.ts` adds the file and
 * the allow-list warnings. `npm run schema` publishes the schema as docs/contract/stack-config.schema.json.
 */

import * as z from 'zod/mini';
// Named imports, not `z.core.…` values: the namespace would bring all of zod's core (locales, JSON Schema) into
// every function's bundle.
import { $ZodArray, $ZodDefault, $ZodObject, $ZodOptional } from 'zod/v4/core';
import { NO_CONTROL_CHARACTERS } from '../request/contract.ts';
import { fieldName, isRecord } from '../request/parse.ts';
import {
  checkScheduleExpression,
  checkTimeZone,
  closestName,
  SCHEDULE_EXPRESSION_SHAPE,
} from './schedule-expression.ts';

/** A description the JSON Schema (`npm run schema`) shows, e.g. in an editor that reads `$schema`. */
const described = <T extends z.core.$ZodType>(schema: T, description: string): T => {
  z.globalRegistry.add(schema, { description });
  return schema;
};

/** Database and table patterns: exact names, or IAM-style globs with `*` and `?`. */
const namePattern = described(
  z.string().check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(255, 'must be at most 255 characters'),
    z.regex(/^[^\s/:,${}\\]+$/, 'must not contain white space, "/", ":", ",", "$", "{", "}" or "\\"'),
    // What a scope names becomes a request's DatabaseName and TableNames: the API pattern holds too.
    z.regex(NO_CONTROL_CHARACTERS, 'must not contain control characters, U+FFFE or U+FFFF'),
    z.refine((value) => value.isWellFormed(), 'must not contain lone surrogates'),
  ),
  'A name, or a glob: * any run of characters, ? exactly one (as IAM reads them in resource ARNs).',
);

/** A 12-digit account ID (the account's default Data Catalog). */
const catalogId = described(
  z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account ID')),
  "12-digit account ID of the Data Catalog. Absent: the stack's own account.",
);

export const scopeSchema = z.strictObject({
  /** Default: the stack's own account. */
  catalogId: z.optional(catalogId),
  database: namePattern,
  /** Table names or globs; `["*"]` means every table of the database. */
  tables: z._default(
    described(
      z.array(namePattern).check(
        z.minLength(1, 'must name at least one table or "*"'),
        // A scope becomes a request's TableNames, which holds at most 100.
        z.maxLength(100, 'must name at most 100 tables or globs'),
      ),
      'Table (view) names or globs; ["*"] means every view of the database.',
    ),
    ['*'],
  ),
});

export const allowRuleSchema = z.strictObject({
  /** Default: the stack's own account. Naming another account is how a foreign catalog is allowed. */
  catalogId: z.optional(catalogId),
  database: namePattern,
  tables: z._default(
    described(
      z.array(namePattern).check(z.minLength(1)),
      'Table (view) names or globs; ["*"] means every view.',
    ),
    ['*'],
  ),
});

export const windowNameSchema = described(
  z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 letters, digits, "_", "." or "-"')),
  "The window's name, unique in the file: the schedule's name.",
);

const scopeDryRun = () => described(z.boolean(), 'Dry run for this guard or window only.');

export const costGuardSchema = z.strictObject({
  /** The CloudWatch alarm whose transition into ALARM stops the scope. */
  alarmName: described(
    z.string().check(z.minLength(1), z.maxLength(255)),
    "The CloudWatch alarm (in the stack's account and region) whose change into ALARM stops the scope.",
  ),
  scope: scopeSchema,
  dryRun: z.optional(scopeDryRun()),
});

export const maintenanceWindowSchema = z.strictObject({
  name: windowNameSchema,
  /** An EventBridge Scheduler expression: `cron(...)`, `rate(...)` or `at(...)`, checked part by part. */
  schedule: described(
    z.string().check(
      z.regex(SCHEDULE_EXPRESSION_SHAPE, 'must be cron(...), rate(...) or at(...)'),
      z.superRefine((expression, context) => {
        // Text that is no expression at all is reported once, by the pattern above.
        if (!SCHEDULE_EXPRESSION_SHAPE.test(expression)) return;
        for (const { rule, message } of checkScheduleExpression(expression)) {
          context.issues.push({ code: 'custom', message, input: expression, params: { rule } });
        }
      }),
    ),
    'An EventBridge Scheduler expression: cron(minutes hours day-of-month month day-of-week year), ' +
      'rate(value unit) or at(yyyy-mm-ddThh:mm:ss), e.g. "cron(0 2 ? * SAT *)".',
  ),
  /** IANA time zone of the expression, e.g. `Europe/Berlin`. Default UTC. */
  timezone: z._default(
    described(
      z.string().check(
        z.minLength(1, 'must not be empty'),
        z.superRefine((zone, context) => {
          const problem = zone === '' ? undefined : checkTimeZone(zone);
          if (problem) {
            context.issues.push({
              code: 'custom',
              message: problem.message,
              input: zone,
              params: { rule: problem.rule },
            });
          }
        }),
      ),
      'IANA time zone the schedule is read in, e.g. "Europe/Berlin"; Scheduler follows daylight saving time.',
    ),
    'UTC',
  ),
  startDate: z.optional(
    described(
      z.iso.datetime({ offset: true }),
      'ISO-8601 date-time with offset: the schedule fires only after it.',
    ),
  ),
  endDate: z.optional(
    described(
      z.iso.datetime({ offset: true }),
      'ISO-8601 date-time with offset: the schedule fires only before it.',
    ),
  ),
  scope: scopeSchema,
  dryRun: z.optional(scopeDryRun()),
  enabled: z._default(described(z.boolean(), 'false keeps the window in the file without a schedule.'), true),
});

/**
 * `glue.burstSeconds` when the configuration leaves it out: a quarter of a second of the budget, enough for an
 * instance to make up the time it spends between calls on its records, its events and its next batch.
 */
export const DEFAULT_GLUE_BURST_SECONDS = 0.25;

export const stackConfigSchema = z.strictObject({
  /** Where editors find the JSON Schema of this file; ignored otherwise. */
  $schema: z.optional(
    described(
      z.string(),
      'The JSON Schema of this file, for editors: "../docs/contract/stack-config.schema.json".',
    ),
  ),
  /** What may be stopped. A request outside every rule is refused ("not allowed") before any Glue call. */
  allow: described(
    z.array(allowRuleSchema).check(z.minLength(1, 'must allow at least one database')),
    'What may be stopped: a request outside every rule is refused (not-allowed) before any Glue call, and the ' +
      "functions' IAM policy grants exactly these resources.",
  ),
  /** Stage-wide dry-run: every path runs, no stop is sent. */
  dryRun: z._default(
    described(z.boolean(), 'Stage-wide dry run: every path runs, no stop is sent to Glue.'),
    false,
  ),
  glue: z._default(
    z.strictObject({
      /**
       * The stack's Glue budget in the account and region: requests per second for all its Glue calls, List
       * and Stop together, split equally across every function instance that can call Glue at once.
       */
      requestsPerSecond: z._default(z.number().check(z.positive(), z.lte(1000)), 10),
      /** `shared` (default): one budget for every operation. `per-operation`: List and Stop each get it whole. */
      budget: z._default(z.enum(['shared', 'per-operation']), 'shared'),
      /**
       * Seconds of budget the stack may spend above its pace after a pause (0 to 1): an instance that spent
       * time on other work between its Glue calls catches up on that much of its share. The stack then
       * makes at most R × (T + burstSeconds) calls, plus one per instance, in any T seconds. 0 spaces every
       * instance's calls evenly.
       */
      burstSeconds: z._default(z.number().check(z.gte(0), z.lte(1)), DEFAULT_GLUE_BURST_SECONDS),
    }),
    { requestsPerSecond: 10, budget: 'shared', burstSeconds: DEFAULT_GLUE_BURST_SECONDS },
  ),
  costGuards: z._default(
    described(
      z.array(costGuardSchema),
      'CloudWatch alarms whose change into ALARM stops every running refresh in their scope.',
    ),
    [],
  ),
  maintenanceWindows: z._default(
    described(
      z.array(maintenanceWindowSchema),
      'EventBridge Scheduler schedules that stop every running refresh in their scope when they fire.',
    ),
    [],
  ),
});

export type Scope = z.infer<typeof scopeSchema>;
export type AllowRule = z.infer<typeof allowRuleSchema>;
export type CostGuard = z.infer<typeof costGuardSchema>;
export type MaintenanceWindow = z.infer<typeof maintenanceWindowSchema>;
/** A stage's configuration as the code uses it: `$schema` only points editors at the JSON Schema. */
export type StackConfig = Omit<z.infer<typeof stackConfigSchema>, '$schema'>;

export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
}

/**
 * What a configuration can break: the schema's rules (`type`, `required`, `unknown-field`, `min-length`,
 * `max-length`, `range`, `pattern`, `date-time`, `value`), the schedule syntax (`cron-expression`,
 * `rate-expression`, `at-expression`, `schedule-expression`, `time-zone`) and the rules across fields
 * (`duplicate`, `date-order`).
 */
export type ConfigRule =
  | 'type'
  | 'required'
  | 'unknown-field'
  | 'min-length'
  | 'max-length'
  | 'range'
  | 'pattern'
  | 'date-time'
  | 'value'
  | 'schedule-expression'
  | 'cron-expression'
  | 'rate-expression'
  | 'at-expression'
  | 'time-zone'
  | 'duplicate'
  | 'date-order';

/** One thing wrong with a configuration: where (`allow.0.tables`), which rule, and what. */
export interface ConfigViolation {
  /** Dotted path of the field, e.g. `maintenanceWindows.0.schedule`; `(root)` for the whole document. */
  readonly path: string;
  readonly rule: ConfigRule;
  readonly message: string;
}

const ROOT = '(root)';

const pathText = (path: readonly PropertyKey[]): string => path.map(fieldName).join('.') || ROOT;

/** zod/mini carries no messages of its own: an issue without one says only this. */
const ZOD_DEFAULT_MESSAGE = 'Invalid input';

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  boolean: 'true or false',
  number: 'a number',
};

/** Leaves defaults and optionals aside, to reach the schema that describes the value. */
const unwrap = (schema: z.core.$ZodType): z.core.$ZodType => {
  let current = schema;
  while (current instanceof $ZodDefault || current instanceof $ZodOptional) {
    current = current._zod.def.innerType;
  }
  return current;
};

/** The field names the object at `path` has, read from the schema (so a new field is known at once). */
const knownFieldsAt = (schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] => {
  let current: z.core.$ZodType | undefined = schema;
  for (const key of path) {
    const inner: z.core.$ZodType = unwrap(current);
    if (inner instanceof $ZodObject) current = inner._zod.def.shape[String(key)];
    else if (inner instanceof $ZodArray) current = inner._zod.def.element;
    else return [];
    if (!current) return [];
  }
  const inner = unwrap(current);
  return inner instanceof $ZodObject ? Object.keys(inner._zod.def.shape) : [];
};

const isPresent = (input: unknown, path: readonly PropertyKey[]): boolean => {
  let current: unknown = input;
  for (const key of path) {
    if (Array.isArray(current) && typeof key === 'number') current = current[key];
    else if (isRecord(current) && Object.hasOwn(current, String(key))) current = current[String(key)];
    else return false;
  }
  return current !== undefined;
};

const sizeMessage = (issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string => {
  const small = issue.code === 'too_small';
  const bound = Number(small ? issue.minimum : issue.maximum);
  if (issue.origin === 'array' || issue.origin === 'set') {
    return `must have ${small ? 'at least' : 'at most'} ${bound} ${bound === 1 ? 'entry' : 'entries'}`;
  }
  if (issue.origin === 'string') {
    return `must be ${small ? 'at least' : 'at most'} ${bound} ${bound === 1 ? 'character' : 'characters'}`;
  }
  if (issue.inclusive === false) return `must be ${small ? 'greater' : 'less'} than ${bound}`;
  return `must be ${small ? 'at least' : 'at most'} ${bound}`;
};

/** One zod issue as violations: one per unknown field, else one. */
const violationsOfIssue = (
  issue: z.core.$ZodIssue,
  input: unknown,
  schema: z.core.$ZodType,
): ConfigViolation[] => {
  const path = pathText(issue.path);
  const given = issue.message !== ZOD_DEFAULT_MESSAGE ? issue.message : undefined;
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownFieldsAt(schema, issue.path);
      return issue.keys.map((key) => {
        const meant = closestName(key, known);
        const hint = meant
          ? ` (did you mean "${meant}"?)`
          : known.length > 0
            ? ` (known fields: ${known.join(', ')})`
            : '';
        return {
          path: pathText([...issue.path, key]),
          rule: 'unknown-field',
          message: `unknown field "${key}"${hint}`,
        };
      });
    }
    case 'invalid_type':
      if (issue.path.length > 0 && !isPresent(input, issue.path)) {
        return [{ path, rule: 'required', message: 'is required' }];
      }
      return [
        { path, rule: 'type', message: given ?? `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}` },
      ];
    case 'too_small':
    case 'too_big': {
      const rule =
        issue.origin === 'number' || issue.origin === 'bigint'
          ? 'range'
          : issue.code === 'too_small'
            ? 'min-length'
            : 'max-length';
      return [{ path, rule, message: given ?? sizeMessage(issue) }];
    }
    case 'invalid_format':
      if (issue.format === 'datetime') {
        return [
          {
            path,
            rule: 'date-time',
            message: given ?? 'must be an ISO-8601 date-time with a UTC offset, e.g. 2026-12-01T00:00:00Z',
          },
        ];
      }
      return [{ path, rule: 'pattern', message: given ?? `must match ${issue.pattern ?? issue.format}` }];
    case 'invalid_value':
      return [
        {
          path,
          rule: 'value',
          message: given ?? `must be one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`,
        },
      ];
    case 'custom': {
      const declared: unknown = issue.params?.rule;
      const rule = typeof declared === 'string' && isScheduleRule(declared) ? declared : 'value';
      return [{ path, rule, message: given ?? 'is not valid' }];
    }
    default:
      return [{ path, rule: 'value', message: given ?? 'is not valid' }];
  }
};

/** Where a field stands in the document, as the positions of its keys: for listing problems in file order. */
const positionIn = (input: unknown, path: readonly PropertyKey[]): number[] => {
  const position: number[] = [];
  let current: unknown = input;
  for (const key of path) {
    const index = Array.isArray(current)
      ? Number(key)
      : isRecord(current)
        ? Object.keys(current).indexOf(String(key))
        : -1;
    // A field that is missing (required) goes after the fields that are there.
    position.push(index < 0 ? Number.MAX_SAFE_INTEGER : index);
    current = Array.isArray(current)
      ? current[Number(key)]
      : isRecord(current)
        ? current[String(key)]
        : undefined;
  }
  return position;
};

const byPosition = (a: readonly number[], b: readonly number[]): number => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const difference = (a[i] ?? 0) - (b[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
};

/**
 * zod's issues as violations that name the field and the rule, in the order of the document: an unknown
 * field by its own path, with the known field it most likely stands for
 * (`allow.0.table: unknown field "table" (did you mean "tables"?)`).
 */
export const violationsOfIssues = (
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  schema: z.core.$ZodType,
): ConfigViolation[] =>
  issues
    .flatMap((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
      const violations = violationsOfIssue(issue, input, schema);
      return violations.map((violation, index) => {
        const key = keys[index];
        return { violation, at: positionIn(input, key === undefined ? issue.path : [...issue.path, key]) };
      });
    })
    .sort((a, b) => byPosition(a.at, b.at))
    .map(({ violation }) => violation);

const SCHEDULE_RULES: readonly ConfigRule[] = [
  'schedule-expression',
  'cron-expression',
  'rate-expression',
  'at-expression',
  'time-zone',
];
const isScheduleRule = (rule: string): rule is ConfigRule => SCHEDULE_RULES.some((known) => known === rule);

/** Values that must be unique, reported once each. */
const duplicatesOf = (values: readonly string[]): string[] => [
  ...new Set(values.filter((value, index) => values.indexOf(value) !== index)),
];

/** The rules that span fields or entries, on a configuration the schema accepted. */
const crossFieldViolations = (config: StackConfig): ConfigViolation[] => [
  ...duplicatesOf(config.maintenanceWindows.map((w) => w.name)).map(
    (name): ConfigViolation => ({
      path: 'maintenanceWindows',
      rule: 'duplicate',
      message: `name "${name}" is used twice`,
    }),
  ),
  ...duplicatesOf(config.costGuards.map((g) => g.alarmName)).map(
    (alarm): ConfigViolation => ({
      path: 'costGuards',
      rule: 'duplicate',
      message: `alarm "${alarm}" is declared twice`,
    }),
  ),
  ...config.maintenanceWindows.flatMap((window, index): ConfigViolation[] =>
    window.startDate && window.endDate && Date.parse(window.startDate) >= Date.parse(window.endDate)
      ? [
          {
            path: `maintenanceWindows.${index}`,
            rule: 'date-order',
            message: `startDate must be before endDate (window "${window.name}")`,
          },
        ]
      : [],
  ),
];

/**
 * Checks a stage configuration against the schema and, once it holds, the rules across fields. `config` is
 * there exactly when nothing is wrong; otherwise every violation is listed, each once (the schema's in the
 * order of the document).
 */
export const validateStackConfig = (
  input: unknown,
): { readonly config?: StackConfig; readonly violations: readonly ConfigViolation[] } => {
  const result = z.safeParse(stackConfigSchema, input);
  if (!result.success)
    return { violations: violationsOfIssues(result.error.issues, input, stackConfigSchema) };
  const { $schema: _editorHint, ...config } = result.data;
  const violations = crossFieldViolations(config);
  return violations.length > 0 ? { violations } : { config, violations };
};

const refusalText = (source: string, violations: readonly ConfigViolation[]): string =>
  `${source}: ${violations.map((v) => `${v.path}: ${v.message}`).join('; ')}`;

/**
 * Parses a stage configuration, or throws one `StackConfigError` listing every problem with its path
 * (`config/prod.json: costGuards.0.scope.database: must not be empty; ...`). `checkStackConfig` in
 * `config-check.ts` gives the same problems as a list, with the allow-list warnings.
 */
export const parseStackConfig = (input: unknown, source = 'configuration'): StackConfig => {
  const { config, violations } = validateStackConfig(input);
  if (config) return config;
  throw new StackConfigError(refusalText(source, violations));
};

/** What the functions need at run time, kept small: Lambda allows 4 KB of environment variables in all. */
export const runtimePolicySchema = z.strictObject({
  allow: stackConfigSchema.shape.allow,
  dryRun: z.boolean(),
  costGuards: z.array(costGuardSchema),
});

export type RuntimePolicy = z.infer<typeof runtimePolicySchema>;

/** Parses the STOP_POLICY environment variable; problems are reported with their path. */
export const parseRuntimePolicy = (json: string, source = 'STOP_POLICY'): RuntimePolicy => {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new StackConfigError(`${source}: is not valid JSON`);
  }
  const result = z.safeParse(runtimePolicySchema, value);
  if (result.success) return result.data;
  throw new StackConfigError(
    refusalText(source, violationsOfIssues(result.error.issues, value, runtimePolicySchema)),
  );
};

export const runtimePolicyOf = (config: StackConfig): RuntimePolicy => ({
  allow: config.allow,
  dryRun: config.dryRun,
  costGuards: config.costGuards,
});
