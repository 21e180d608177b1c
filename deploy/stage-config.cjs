'use strict';
/**
 * Variable resolver for serverless.yml: the operator's configuration of the stage being packaged.
 *
 *   provider.environment.STOP_POLICY:                  ${file(./deploy/stage-config.cjs):stopPolicy}
 *   provider.environment.GLUE_MAX_REQUESTS_PER_SECOND: ${file(./deploy/stage-config.cjs):glueMaxRequestsPerSecond}
 *   custom.environmentBytes:                           ${file(./deploy/stage-config.cjs):environmentBytes}
 *
 * The configuration is `config/<stage>.json`, or `config/default.json` when the stage has no file of its
 * own. It is parsed by `src/policy/stack-config.ts`, the very module the functions validate STOP_POLICY
 * with (Node 24 strips the types and lets CommonJS `require()` an ES module), so the deployment and the
 * code cannot disagree about what a configuration means. The other resolvers (`glue-resources.cjs`,
 * `triggers.cjs`, `dashboard.cjs`) read the configuration through `stageConfigOf` below.
 */
const fs = require('node:fs');
const path = require('node:path');
const { parseStackConfig, runtimePolicyOf } = require('../src/policy/stack-config.ts');

const PROJECT_ROOT = path.resolve(__dirname, '..');
const CONFIG_DIR = path.join(PROJECT_ROOT, 'config');
const DEFAULT_CONFIG = 'default.json';
/** Stage names that can safely become a file name. */
const STAGE_NAME = /^[A-Za-z0-9_-]{1,64}$/u;

/**
 * Lambda allows 4 KB (4096 bytes) of environment variables per function, keys and values together.
 * Packaging fails above this budget, which keeps 512 bytes of head-room for the estimate of the values
 * CloudFormation fills in at deploy time (queue URLs, table name).
 */
const ENVIRONMENT_BUDGET_BYTES = 3584;
/** Bytes assumed for a CloudFormation value whose resolved length cannot be worked out at package time. */
const UNKNOWN_VALUE_BYTES = 256;
/** Length of an account ID, for queue URL estimates. */
const ACCOUNT_ID_PLACEHOLDER = '123456789012';

/** A configuration problem: the message names the file, and no stack trace is printed after it. */
class StageConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StageConfigError';
    this.stack = `${this.name}: ${message}`;
  }
}

/** `config/<stage>.json` if it exists, else `config/default.json` (absolute paths). */
function configFileFor(stage, dir = CONFIG_DIR) {
  const name = String(stage ?? '');
  if (!STAGE_NAME.test(name)) {
    throw new StageConfigError(
      `stage "${name}" cannot name a configuration file (letters, digits, "-" and "_" only)`,
    );
  }
  const own = path.join(dir, `${name}.json`);
  return fs.existsSync(own) ? own : path.join(dir, DEFAULT_CONFIG);
}

/** The path shown in messages: relative to the project, e.g. `config/ci.json`. */
const displayPath = (file) => path.relative(PROJECT_ROOT, file).split(path.sep).join('/');

/**
 * Reads and validates one configuration file.
 * @returns {{ file: string, config: import('../src/policy/stack-config.ts').StackConfig }} `file` for messages
 */
function loadConfigFile(file) {
  const shown = displayPath(file);
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new StageConfigError(`${shown}: cannot be read (${error.code ?? error.message})`);
  }
  let input;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new StageConfigError(`${shown}: not valid JSON: ${error.message}`);
  }
  let config;
  try {
    config = parseStackConfig(input, shown);
  } catch (error) {
    throw new StageConfigError(error.message);
  }
  checkDeployable(config, shown);
  return { file: shown, config };
}

/**
 * What the schema cannot see but the template needs: strings that the Serverless variable syntax or
 * `Fn::Sub` would read as a reference, and windows whose dates are the wrong way round.
 */
function checkDeployable(config, shown) {
  const text = JSON.stringify(config);
  if (text.includes('${')) {
    throw new StageConfigError(
      `${shown}: "\${" may not appear in any value (it reads as a variable reference)`,
    );
  }
  for (const [index, window] of config.maintenanceWindows.entries()) {
    if (window.startDate && window.endDate && Date.parse(window.startDate) >= Date.parse(window.endDate)) {
      throw new StageConfigError(
        `${shown}: maintenanceWindows.${index} ("${window.name}"): startDate must be before endDate`,
      );
    }
  }
}

const cache = new Map();

/** The configuration of a stage, read once per process. */
function loadStageConfig(stage, dir = CONFIG_DIR) {
  const file = configFileFor(stage, dir);
  if (!cache.has(file)) {
    cache.set(file, loadConfigFile(file));
    if (path.basename(file) === DEFAULT_CONFIG && stage !== 'default') {
      console.warn(`glue-mv-stop: stage "${stage}" has no config/${stage}.json; using ${displayPath(file)}`);
    }
  }
  return cache.get(file);
}

/** For the other resolvers: the configuration of the stage osls is packaging. */
async function stageConfigOf(resolveVariable) {
  return loadStageConfig(await resolveVariable('sls:stage'));
}

/** The `STOP_POLICY` value: the part of the configuration the functions enforce, as JSON. */
const stopPolicyOf = (config) => JSON.stringify(runtimePolicyOf(config));

/**
 * Each function instance's share of the stage's Glue request rate, per Glue API operation: the queue's
 * event source runs at most `maximumConcurrency` instances at once and Glue throttles each operation
 * separately, so every instance gets an equal share. Rounded down to 2 decimals, at least 0.1.
 * @returns {string} an environment variable value, e.g. "6.66"
 */
function glueRatePerInstance(requestsPerSecond, maximumConcurrency) {
  const rate = Number(requestsPerSecond);
  const concurrency = Number(maximumConcurrency);
  if (!Number.isFinite(rate) || rate <= 0) {
    throw new StageConfigError(
      `glue.requestsPerSecond must be a positive number, got "${requestsPerSecond}"`,
    );
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new StageConfigError(
      `param maximumConcurrency must be a whole number of at least 1, got "${maximumConcurrency}"`,
    );
  }
  // Work in hundredths; the epsilon keeps 0.29 * 100 = 28.999... from rounding down to 0.28.
  const share = Math.floor((rate * 100) / concurrency + 1e-9) / 100;
  return String(Math.max(0.1, share));
}

const byteLength = (text) => Buffer.byteLength(String(text), 'utf8');

/**
 * How many bytes a CloudFormation environment value will have once deployed. Plain values count as they
 * are; `Ref`s to a queue or table of the template are worked out from their names; anything else is
 * assumed to take `UNKNOWN_VALUE_BYTES`.
 * @param {unknown} value
 * @param {{ resources?: Record<string, { Type?: string, Properties?: Record<string, unknown> }>, region?: string }} context
 */
function estimateValueBytes(value, { resources = {}, region = 'us-east-1' } = {}) {
  if (value === null || value === undefined) return 0;
  if (typeof value !== 'object') return byteLength(value);
  const target = typeof value.Ref === 'string' ? resources[value.Ref] : undefined;
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
}

/** Bytes of a set of environment variables: every name and every (estimated) value. */
function environmentBytesOf(variables, context) {
  return Object.entries(variables ?? {}).reduce(
    (total, [name, value]) => total + byteLength(name) + estimateValueBytes(value, context),
    0,
  );
}

/**
 * Fails when a function's environment would not fit Lambda's 4 KB, naming the configuration file: the
 * STOP_POLICY it generates is the part that grows.
 * @param {Record<string, Record<string, unknown>>} environments the variables of each function
 * @returns {number} the largest function's size in bytes
 */
function checkEnvironmentSize(environments, { configFile, budget = ENVIRONMENT_BUDGET_BYTES, ...context }) {
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
}

/** The Resources of every element of the `resources` array (or of a single `resources` object). */
function templateResources(resources) {
  const fragments = Array.isArray(resources) ? resources : [resources];
  return Object.assign({}, ...fragments.map((fragment) => fragment?.Resources ?? {}));
}

module.exports = {
  ENVIRONMENT_BUDGET_BYTES,
  StageConfigError,
  configFileFor,
  loadConfigFile,
  loadStageConfig,
  stageConfigOf,
  stopPolicyOf,
  glueRatePerInstance,
  estimateValueBytes,
  environmentBytesOf,
  checkEnvironmentSize,

  /** Serverless variable source: `${file(./deploy/stage-config.cjs):stopPolicy}`. */
  stopPolicy: async ({ resolveVariable }) => stopPolicyOf((await stageConfigOf(resolveVariable)).config),

  /** Serverless variable source: `${file(./deploy/stage-config.cjs):glueMaxRequestsPerSecond}`. */
  glueMaxRequestsPerSecond: async ({ resolveVariable }) => {
    const { config } = await stageConfigOf(resolveVariable);
    return glueRatePerInstance(
      config.glue.requestsPerSecond,
      await resolveVariable('param:maximumConcurrency'),
    );
  },

  /**
   * Serverless variable source: `${file(./deploy/stage-config.cjs):environmentBytes}`. Checks every
   * function's environment (provider-wide variables plus its own) and returns the largest size.
   */
  environmentBytes: async ({ resolveVariable }) => {
    const { file } = await stageConfigOf(resolveVariable);
    const shared = (await resolveVariable('self:provider.environment')) ?? {};
    const functions = (await resolveVariable('self:functions')) ?? {};
    const environments = Object.fromEntries(
      Object.entries(functions).map(([name, fn]) => [name, { ...shared, ...(fn?.environment ?? {}) }]),
    );
    return checkEnvironmentSize(environments, {
      configFile: file,
      resources: templateResources(await resolveVariable('self:resources')),
      region: await resolveVariable('opt:region, self:provider.region'),
    });
  },
};
