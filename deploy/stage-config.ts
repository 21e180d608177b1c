/**
 * The operator's configuration of the stage being packaged, and what the functions' environment gets
 * from it (STOP_POLICY, GLUE_MAX_REQUESTS_PER_SECOND, the 4 KB environment check).
 *
 * The configuration is `config/<stage>.json`, or `config/default.json` when the stage has no file of its
 * own. It is checked by `checkStackConfig` (`src/policy/config-check.ts`) against the schema of
 * `src/policy/stack-config.ts`, the very module the functions validate STOP_POLICY with, so the deployment
 * and the code cannot disagree about what a configuration means. Every problem is a line that names the
 * file, the field and the rule; deploy/resolvers.ts checks each stage once and prints them once.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type ConfigProblem,
  checkStackConfig,
  formatProblem,
  hasErrors,
} from '../src/policy/config-check.ts';
import { runtimePolicyOf, type StackConfig } from '../src/policy/stack-config.ts';

const PROJECT_ROOT = path.resolve(import.meta.dirname, '..');
const CONFIG_DIR = path.join(PROJECT_ROOT, 'config');
const DEFAULT_CONFIG = 'default.json';
/** Stage names that can safely become a file name. */
const STAGE_NAME = /^[A-Za-z0-9_-]{1,64}$/u;

/**
 * Lambda allows 4 KB (4096 bytes) of environment variables per function, keys and values together.
 * Packaging fails above this budget, which keeps 512 bytes of head-room for the estimate of the values
 * CloudFormation fills in at deploy time (queue URLs, table name).
 */
export const ENVIRONMENT_BUDGET_BYTES = 3584;
/** Bytes assumed for a CloudFormation value whose resolved length cannot be worked out at package time. */
const UNKNOWN_VALUE_BYTES = 256;
/** Length of an account ID, for queue URL estimates. */
const ACCOUNT_ID_PLACEHOLDER = '123456789012';

/** A configuration problem: the message names the file, and no stack trace is printed after it. */
export class StageConfigError extends Error {
  override readonly name = 'StageConfigError';
  constructor(message: string) {
    super(message);
    this.stack = `${this.name}: ${message}`;
  }
}

/** A loaded configuration and the file it came from (relative to the project, for messages). */
export interface StageConfig {
  readonly file: string;
  readonly config: StackConfig;
}

/** `config/<stage>.json` if it exists, else `config/default.json` (absolute paths). */
export const configFileFor = (stage: unknown, dir = CONFIG_DIR): string => {
  const name = String(stage ?? '');
  if (!STAGE_NAME.test(name)) {
    throw new StageConfigError(
      `stage "${name}" cannot name a configuration file (letters, digits, "-" and "_" only)`,
    );
  }
  const own = path.join(dir, `${name}.json`);
  return existsSync(own) ? own : path.join(dir, DEFAULT_CONFIG);
};

/** The path shown in messages: relative to the project, e.g. `config/ci.json`. */
const displayPath = (file: string): string => path.relative(PROJECT_ROOT, file).split(path.sep).join('/');

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A configuration file, read and checked: the configuration when it has no errors, and every problem. */
export interface CheckedConfigFile {
  /** The file as messages show it, e.g. `config/ci.json`. */
  readonly file: string;
  readonly config?: StackConfig;
  /** Errors and warnings, each once; the errors are why `config` is missing. */
  readonly problems: readonly ConfigProblem[];
}

/**
 * What the schema cannot see but the template needs: no value may hold `${`, which the Serverless variable
 * syntax and `Fn::Sub` would read as a reference. Each such value is named by its path in the file.
 */
const variableSyntaxProblems = (input: unknown, file: string): ConfigProblem[] => {
  const found: string[] = [];
  const visit = (value: unknown, at: string): void => {
    if (typeof value === 'string') {
      if (value.includes('${')) found.push(at);
    } else if (typeof value === 'object' && value !== null) {
      // Arrays too: their entries are keyed by index.
      for (const [key, item] of Object.entries(value)) visit(item, at ? `${at}.${key}` : key);
    }
  };
  visit(input, '');
  return found.map((at) => ({
    severity: 'error',
    file,
    path: at || '(root)',
    rule: 'variable-syntax',
    message: '"${" may not appear in any value (it reads as a variable reference)',
  }));
};

/** A problem of the file as a whole (it cannot be read, it is not JSON): no field to name. */
const fileProblem = (file: string, rule: string, message: string): CheckedConfigFile => ({
  file,
  problems: [{ severity: 'error', file, path: '', rule, message }],
});

/** Reads and checks one configuration file; never throws for what is in it (or not). */
export const checkConfigFile = (file: string): CheckedConfigFile => {
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fileProblem(shown, 'read', `cannot be read (${code ?? messageOf(error)})`);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    return fileProblem(shown, 'json', `not valid JSON: ${messageOf(error)}`);
  }
  const { config, problems } = checkStackConfig(input, shown);
  const all = [...problems, ...variableSyntaxProblems(input, shown)];
  return config && !hasErrors(all) ? { file: shown, config, problems: all } : { file: shown, problems: all };
};

/** The errors of a checked file as one `StageConfigError`, one line per problem. */
const errorOf = (checked: CheckedConfigFile): StageConfigError =>
  new StageConfigError(
    checked.problems
      .filter((problem) => problem.severity === 'error')
      .map(formatProblem)
      .join('\n'),
  );

/** Reads and validates one configuration file; throws its errors, one line each. */
export const loadConfigFile = (file: string): StageConfig => {
  const checked = checkConfigFile(file);
  if (!checked.config) throw errorOf(checked);
  return { file: checked.file, config: checked.config };
};

/** A stage's configuration file, checked, and whether it is the default one (the stage has none). */
export interface CheckedStageConfig extends CheckedConfigFile {
  readonly usesDefault: boolean;
}

/** Checks the configuration of a stage: `config/<stage>.json`, else `config/default.json`. */
export const checkStageConfig = (stage: string, dir = CONFIG_DIR): CheckedStageConfig => {
  const file = configFileFor(stage, dir);
  return {
    ...checkConfigFile(file),
    usesDefault: path.basename(file) === DEFAULT_CONFIG && stage !== 'default',
  };
};

/** The `STOP_POLICY` value: the part of the configuration the functions enforce, as JSON. */
export const stopPolicyOf = (config: StackConfig): string => JSON.stringify(runtimePolicyOf(config));

/**
 * Each function instance's share of the stage's Glue budget. The budget covers every Glue call of the
 * stack, and the functions that call Glue can run this many instances at once: the stop queue's event
 * source at most `maximumConcurrency`, the event function its reserved `eventConcurrency` (the alarm and
 * schedule functions make no Glue call). Every instance gets an equal share, rounded down to 2 decimals,
 * at least 0.1.
 * @param concurrency the params that bound the instances of each function that calls Glue, by name
 * @returns an environment variable value, e.g. "1.66"
 */
export const glueRatePerInstance = (
  requestsPerSecond: unknown,
  concurrency: Readonly<Record<string, unknown>>,
): string => {
  const rate = Number(requestsPerSecond);
  if (!Number.isFinite(rate) || rate <= 0) {
    throw new StageConfigError(
      `glue.requestsPerSecond must be a positive number, got "${String(requestsPerSecond)}"`,
    );
  }
  let instances = 0;
  for (const [param, value] of Object.entries(concurrency)) {
    const count = Number(value);
    if (!Number.isInteger(count) || count < 1) {
      throw new StageConfigError(
        `param ${param} must be a whole number of at least 1, got "${String(value)}"`,
      );
    }
    instances += count;
  }
  if (instances === 0) throw new StageConfigError('no function calls Glue: nothing to share the budget with');
  // Work in hundredths; the epsilon keeps 0.29 * 100 = 28.999... from rounding down to 0.28.
  const share = Math.floor((rate * 100) / instances + 1e-9) / 100;
  return String(Math.max(0.1, share));
};

const byteLength = (text: unknown): number => Buffer.byteLength(String(text), 'utf8');

/** A resource as osls hands it over (`self:resources`), before CloudFormation sees it. */
interface TemplateResource {
  readonly Type?: string;
  readonly Properties?: Record<string, unknown>;
}

export interface EstimateContext {
  readonly resources?: Readonly<Record<string, TemplateResource>>;
  readonly region?: string;
}

/**
 * How many bytes a CloudFormation environment value will have once deployed. Plain values count as they
 * are; `Ref`s to a queue or table of the template are worked out from their names; anything else is
 * assumed to take `UNKNOWN_VALUE_BYTES`.
 */
export const estimateValueBytes = (
  value: unknown,
  { resources = {}, region = 'us-east-1' }: EstimateContext = {},
): number => {
  if (value === null || value === undefined) return 0;
  if (typeof value !== 'object') return byteLength(value);
  const logicalId = (value as { Ref?: unknown }).Ref;
  const target = typeof logicalId === 'string' ? resources[logicalId] : undefined;
  const properties = target?.Properties ?? {};
  if (target?.Type === 'AWS::SQS::Queue' && typeof properties.QueueName === 'string') {
    return byteLength(
      `https://sqs.${region}.amazonaws.com/${ACCOUNT_ID_PLACEHOLDER}/${properties.QueueName}`,
    );
  }
  if (target?.Type === 'AWS::DynamoDB::Table' && typeof properties.TableName === 'string') {
    return byteLength(properties.TableName);
  }
  return UNKNOWN_VALUE_BYTES;
};

/** Bytes of a set of environment variables: every name and every (estimated) value. */
export const environmentBytesOf = (
  variables: Readonly<Record<string, unknown>> | undefined,
  context?: EstimateContext,
): number =>
  Object.entries(variables ?? {}).reduce(
    (total, [name, value]) => total + byteLength(name) + estimateValueBytes(value, context),
    0,
  );

export interface EnvironmentCheck extends EstimateContext {
  readonly configFile: string;
  readonly budget?: number;
}

/**
 * Fails when a function's environment would not fit Lambda's 4 KB, naming the configuration file: the
 * STOP_POLICY it generates is the part that grows.
 * @param environments the variables of each function
 * @returns the largest function's size in bytes
 */
export const checkEnvironmentSize = (
  environments: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
  { configFile, budget = ENVIRONMENT_BUDGET_BYTES, ...context }: EnvironmentCheck,
): number => {
  let largest = 0;
  for (const [functionName, variables] of Object.entries(environments)) {
    const bytes = environmentBytesOf(variables, context);
    largest = Math.max(largest, bytes);
    if (bytes > budget) {
      const policyBytes = byteLength(variables.STOP_POLICY ?? '');
      throw new StageConfigError(
        `${configFile}: the environment variables of ${functionName} would take about ${bytes} bytes, ` +
          `over the ${budget}-byte budget (Lambda allows 4 KB per function); STOP_POLICY, generated ` +
          `from this file's allow-list and cost guards, takes ${policyBytes} bytes. Use glob patterns ` +
          `("campaign_*") instead of long table lists, or fewer cost guards.`,
      );
    }
  }
  return largest;
};

/** The Resources of every element of the `resources` array (or of a single `resources` object). */
export const templateResources = (resources: unknown): Record<string, TemplateResource> => {
  const fragments: unknown[] = Array.isArray(resources) ? resources : [resources];
  return Object.assign(
    {},
    ...fragments.map(
      (item) => (item as { Resources?: Record<string, TemplateResource> } | null)?.Resources ?? {},
    ),
  );
};
