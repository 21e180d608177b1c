/**
 * The operator's configuration of one stage (`config/<stage>.json`): what may be stopped (the allow-list),
 * the cost guards, the maintenance windows, dry-run and the Glue request rate. The deployment reads it to
 * generate the IAM policy, the alarm rules and the schedules; the functions receive the part they need
 * (`runtimeConfigOf`) in the STOP_POLICY environment variable. One schema, so the two always agree.
 */
import * as z from 'zod/mini';
import { NO_CONTROL_CHARACTERS } from '../request/contract.ts';

/** Database and table patterns: exact names, or IAM-style globs with `*` and `?`. */
const namePattern = z.string().check(
  z.minLength(1, 'must not be empty'),
  z.maxLength(255, 'must be at most 255 characters'),
  z.regex(/^[^\s/:,${}\\]+$/, 'must not contain white space, "/", ":", ",", "$", "{", "}" or "\\"'),
  // What a scope names becomes a request's DatabaseName and TableNames: the API pattern holds too.
  z.regex(NO_CONTROL_CHARACTERS, 'must not contain control characters, U+FFFE or U+FFFF'),
  z.refine((value) => value.isWellFormed(), 'must not contain lone surrogates'),
);

/** A 12-digit account ID (the account's default Data Catalog). */
const catalogId = z.string().check(z.regex(/^\d{12}$/, 'must be a 12-digit AWS account ID'));

export const scopeSchema = z.strictObject({
  /** Default: the stack's own account. */
  catalogId: z.optional(catalogId),
  database: namePattern,
  /** Table names or globs; `["*"]` means every table of the database. */
  tables: z._default(
    z.array(namePattern).check(
      z.minLength(1, 'must name at least one table or "*"'),
      // A scope becomes a request's TableNames, which holds at most 100.
      z.maxLength(100, 'must name at most 100 tables or globs'),
    ),
    ['*'],
  ),
});

export const allowRuleSchema = z.strictObject({
  /** Default: the stack's own account. Naming another account is how a foreign catalog is allowed. */
  catalogId: z.optional(catalogId),
  database: namePattern,
  tables: z._default(z.array(namePattern).check(z.minLength(1)), ['*']),
});

export const windowNameSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 letters, digits, "_", "." or "-"'));

export const costGuardSchema = z.strictObject({
  /** The CloudWatch alarm whose transition into ALARM stops the scope. */
  alarmName: z.string().check(z.minLength(1), z.maxLength(255)),
  scope: scopeSchema,
  dryRun: z.optional(z.boolean()),
});

export const maintenanceWindowSchema = z.strictObject({
  name: windowNameSchema,
  /** An EventBridge Scheduler expression: `cron(...)`, `rate(...)` or `at(...)`. */
  schedule: z.string().check(z.regex(/^(cron|rate|at)\(.+\)$/, 'must be cron(...), rate(...) or at(...)')),
  /** IANA time zone of the expression, e.g. `Europe/Berlin`. Default UTC. */
  timezone: z._default(z.string().check(z.minLength(1)), 'UTC'),
  startDate: z.optional(z.iso.datetime({ offset: true })),
  endDate: z.optional(z.iso.datetime({ offset: true })),
  scope: scopeSchema,
  dryRun: z.optional(z.boolean()),
  enabled: z._default(z.boolean(), true),
});

export const stackConfigSchema = z.strictObject({
  /** What may be stopped. A request outside every rule is refused ("not allowed") before any Glue call. */
  allow: z.array(allowRuleSchema).check(z.minLength(1, 'must allow at least one database')),
  /** Stage-wide dry-run: every path runs, no stop is sent. */
  dryRun: z._default(z.boolean(), false),
  glue: z._default(
    z.strictObject({
      /** Glue requests per second the whole stack may make (split across concurrent function instances). */
      requestsPerSecond: z._default(z.number().check(z.positive(), z.lte(1000)), 10),
    }),
    { requestsPerSecond: 10 },
  ),
  costGuards: z._default(z.array(costGuardSchema), []),
  maintenanceWindows: z._default(z.array(maintenanceWindowSchema), []),
});

export type Scope = z.infer<typeof scopeSchema>;
export type AllowRule = z.infer<typeof allowRuleSchema>;
export type CostGuard = z.infer<typeof costGuardSchema>;
export type MaintenanceWindow = z.infer<typeof maintenanceWindowSchema>;
export type StackConfig = z.infer<typeof stackConfigSchema>;

export class StackConfigError extends Error {
  override readonly name = 'StackConfigError';
}

/** Parses a stage configuration; every problem is reported with its path (`costGuards.0.scope.database: ...`). */
export const parseStackConfig = (input: unknown, source = 'configuration'): StackConfig => {
  const result = z.safeParse(stackConfigSchema, input);
  if (result.success) {
    const config = result.data;
    const names = config.maintenanceWindows.map((w) => w.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate)
      throw new StackConfigError(`${source}: maintenanceWindows: name "${duplicate}" is used twice`);
    const alarms = config.costGuards.map((g) => g.alarmName);
    const twice = alarms.find((n, i) => alarms.indexOf(n) !== i);
    if (twice) throw new StackConfigError(`${source}: costGuards: alarm "${twice}" is declared twice`);
    return config;
  }
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
  );
  throw new StackConfigError(`${source}: ${problems.join('; ')}`);
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
    `${source}: ${result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
  );
};

export const runtimePolicyOf = (config: StackConfig): RuntimePolicy => ({
  allow: config.allow,
  dryRun: config.dryRun,
  costGuards: config.costGuards,
});
