/**
 * The osls variable sources of serverless.yml: `${file(./deploy/resolvers.cjs):<name>}` calls the export
 * `<name>` below with osls's `resolveVariable`. (osls loads `.js`/`.cjs` files only, so resolvers.cjs is a
 * one-line shim that `require()`s this module; Node 24 strips the types and lets CommonJS require an ES
 * module.) Each source reads the stage params, names and configuration it needs and hands them to the
 * module that builds the part of the template:
 *
 *   provider.environment.STOP_POLICY                   stopPolicy                 stage-config.ts
 *   provider.environment.GLUE_MAX_REQUESTS_PER_SECOND  glueMaxRequestsPerSecond   stage-config.ts
 *   provider.environment.GLUE_BUDGET_MODE              glueBudgetMode             (config glue.budget)
 *   provider.environment.GLUE_BURST_SECONDS            glueBurstSeconds           (config glue.burstSeconds)
 *   custom.environmentBytes                            environmentBytes           stage-config.ts
 *   StopQueue VisibilityTimeout                        visibilityTimeout          queue-settings.ts
 *   stopFromQueue STOP_QUEUE_MAX_RECEIVE_COUNT         maxReceiveCountText        (the param, as text)
 *   stopFromQueue STOP_QUEUE_BATCH_SIZE                batchSizeText              (the param, as text)
 *   DeadLetterQueuePolicy Statement                    deadLetterQueueStatements  triggers.ts
 *   Dashboard DashboardBody                            dashboardBody              dashboard.ts
 *   resources: the function roles                      roles                      roles.ts
 *   resources: rules, permissions, schedules           triggers                   triggers.ts
 *   resources: alarms                                  alarms                     alarms.ts
 *   resources: the alarm e-mail subscription           alarmEmail                 alarm-email.ts
 */
import { formatProblem } from '../src/policy/config-check.ts';
import { alarmEmailResources } from './alarm-email.ts';
import { alarmResources, alarmRows } from './alarms.ts';
import { fragment, type Json, type JsonObject, type ResourcesFragment, type Statement } from './cfn.ts';
import { dashboardBody as dashboardBodyOf } from './dashboard.ts';
import { GLUE_CALLERS } from './functions.ts';
import { checkedGlueResourceArns } from './glue-resources.ts';
import { visibilityTimeoutFor } from './queue-settings.ts';
import { functionRoles } from './roles.ts';
import {
  type CheckedStageConfig,
  checkEnvironmentSize,
  checkStageConfig,
  glueRatePerInstance,
  type StageConfig,
  stopPolicyOf,
  templateResources,
} from './stage-config.ts';
import {
  costGuardAlarmNames,
  deadLetterQueueStatementsFor,
  type TriggerSettings,
  triggerResources,
} from './triggers.ts';

/** What osls passes a variable source function. */
export interface VariableSource {
  readonly resolveVariable: (address: string) => Promise<unknown>;
}

type Resolve = VariableSource['resolveVariable'];

const text = async (resolve: Resolve, address: string): Promise<string> => String(await resolve(address));

/** Where a stage's configuration problems go: one line each, and a last line that stops the run. */
export interface ProblemReport {
  line(text: string): void;
  fail(summary: string): never;
}

/**
 * Exits rather than throws: osls would print a thrown error once for every variable that needs the
 * configuration (ten of them), each time wrapped in its own resolution messages.
 */
const consoleReport: ProblemReport = {
  line: (text) => console.error(text),
  fail(summary) {
    console.error(summary);
    process.exit(1);
  },
};

const checkedStages = new Map<string, StageConfig>();

/**
 * The configuration of a stage, read and checked once however many variable sources ask for it. Its
 * warnings and errors are reported once, one line each (file, field, rule); with errors the run stops
 * with one short line.
 */
export const stageConfigFor = (
  stage: string,
  { report = consoleReport, dir }: { report?: ProblemReport; dir?: string } = {},
): StageConfig => {
  const key = `${dir ?? ''}\u0000${stage}`;
  const known = checkedStages.get(key);
  if (known) return known;
  let checked: CheckedStageConfig;
  try {
    checked = checkStageConfig(stage, dir);
  } catch (error) {
    return report.fail(`glue-mv-stop: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (checked.usesDefault) {
    report.line(`glue-mv-stop: stage "${stage}" has no config/${stage}.json; using ${checked.file}`);
  }
  for (const problem of checked.problems) report.line(formatProblem(problem));
  if (!checked.config) {
    const errors = checked.problems.filter((problem) => problem.severity === 'error').length;
    return report.fail(
      `glue-mv-stop: stopped: ${checked.file} has ${errors} error${errors === 1 ? '' : 's'} (listed above)`,
    );
  }
  const loaded: StageConfig = { file: checked.file, config: checked.config };
  checkedStages.set(key, loaded);
  return loaded;
};

/** The configuration of the stage osls is packaging. */
const stageConfigOf = async (resolve: Resolve): Promise<StageConfig> =>
  stageConfigFor(await text(resolve, 'sls:stage'));

const triggerSettingsOf = async (resolve: Resolve): Promise<TriggerSettings> => ({
  service: await text(resolve, 'self:service'),
  stage: await text(resolve, 'sls:stage'),
  eventBusName: await text(resolve, 'param:eventBusName'),
  retryAttempts: await resolve('param:eventRetryAttempts'),
  maximumEventAgeSeconds: await resolve('param:eventMaximumAgeSeconds'),
});

/** The functions' metrics namespace and service dimension, as their environment sets them. */
const metricSettingsOf = async (resolve: Resolve): Promise<{ namespace: string; service: string }> => ({
  namespace: await text(resolve, 'self:provider.environment.POWERTOOLS_METRICS_NAMESPACE'),
  service: await text(resolve, 'self:provider.environment.POWERTOOLS_SERVICE_NAME'),
});

export const stopPolicy = async ({ resolveVariable }: VariableSource): Promise<string> =>
  stopPolicyOf((await stageConfigOf(resolveVariable)).config);

export const glueMaxRequestsPerSecond = async ({ resolveVariable }: VariableSource): Promise<string> => {
  const { config } = await stageConfigOf(resolveVariable);
  const concurrency: Record<string, unknown> = {};
  for (const fn of GLUE_CALLERS) {
    const param = fn.glue?.concurrencyParam;
    if (param) concurrency[param] = await resolveVariable(`param:${param}`);
  }
  return glueRatePerInstance(config.glue.requestsPerSecond, concurrency);
};

export const glueBudgetMode = async ({ resolveVariable }: VariableSource): Promise<string> =>
  (await stageConfigOf(resolveVariable)).config.glue.budget;

export const glueBurstSeconds = async ({ resolveVariable }: VariableSource): Promise<string> =>
  String((await stageConfigOf(resolveVariable)).config.glue.burstSeconds);

/** Checks every function's environment (provider-wide variables plus its own); the largest size. */
export const environmentBytes = async ({ resolveVariable }: VariableSource): Promise<number> => {
  const { file } = await stageConfigOf(resolveVariable);
  const shared = ((await resolveVariable('self:provider.environment')) ?? {}) as Record<string, unknown>;
  const functions = ((await resolveVariable('self:functions')) ?? {}) as Record<
    string,
    { environment?: Record<string, unknown> } | null
  >;
  const environments = Object.fromEntries(
    Object.entries(functions).map(([name, fn]) => [name, { ...shared, ...(fn?.environment ?? {}) }]),
  );
  return checkEnvironmentSize(environments, {
    configFile: file,
    resources: templateResources(await resolveVariable('self:resources')),
    region: await text(resolveVariable, 'opt:region, self:provider.region'),
  });
};

export const visibilityTimeout = async ({ resolveVariable }: VariableSource): Promise<number> =>
  visibilityTimeoutFor({
    functionTimeout: await resolveVariable('self:provider.timeout'),
    maximumBatchingWindow: await resolveVariable('param:maximumBatchingWindow'),
  });

/** The stop queue's event source batch size as the text an environment variable holds. */
export const batchSizeText = async ({ resolveVariable }: VariableSource): Promise<string> => {
  const size = Number(await resolveVariable('param:batchSize'));
  if (!Number.isInteger(size) || size < 1 || size > 10_000) {
    throw new Error(`batchSize must be a whole number from 1 to 10000, got "${String(size)}"`);
  }
  return String(size);
};

/** The redrive policy's maxReceiveCount as the text an environment variable holds. */
export const maxReceiveCountText = async ({ resolveVariable }: VariableSource): Promise<string> => {
  const count = Number(await resolveVariable('param:maxReceiveCount'));
  if (!Number.isInteger(count) || count < 1 || count > 1000) {
    throw new Error(`maxReceiveCount must be a whole number from 1 to 1000, got "${String(count)}"`);
  }
  return String(count);
};

export const deadLetterQueueStatements = async ({ resolveVariable }: VariableSource): Promise<Statement[]> =>
  deadLetterQueueStatementsFor((await stageConfigOf(resolveVariable)).config, {
    eventBusName: await text(resolveVariable, 'param:eventBusName'),
  });

export const dashboardBody = async ({ resolveVariable }: VariableSource): Promise<JsonObject> => {
  const { config } = await stageConfigOf(resolveVariable);
  return dashboardBodyOf({
    ...(await metricSettingsOf(resolveVariable)),
    costGuardAlarms: costGuardAlarmNames(config),
  });
};

export const roles = async ({ resolveVariable }: VariableSource): Promise<ResourcesFragment> => {
  const { file, config } = await stageConfigOf(resolveVariable);
  return fragment(
    functionRoles({
      service: await text(resolveVariable, 'self:service'),
      glueArns: checkedGlueResourceArns(config.allow, { configFile: file }),
      eventBusName: await text(resolveVariable, 'param:eventBusName'),
    }),
  );
};

export const triggers = async ({ resolveVariable }: VariableSource): Promise<ResourcesFragment> => {
  const { config } = await stageConfigOf(resolveVariable);
  return fragment(triggerResources(config, await triggerSettingsOf(resolveVariable)));
};

export const alarms = async ({ resolveVariable }: VariableSource): Promise<ResourcesFragment> => {
  const { config } = await stageConfigOf(resolveVariable);
  const settings = await triggerSettingsOf(resolveVariable);
  const metrics = await metricSettingsOf(resolveVariable);
  const rows = alarmRows(config, {
    ...settings,
    namespace: metrics.namespace,
    serviceName: metrics.service,
    queueAgeAlarmSeconds: (await resolveVariable('param:queueAgeAlarmSeconds')) as Json,
  });
  return fragment(alarmResources(rows, settings));
};

export const alarmEmail = async ({ resolveVariable }: VariableSource): Promise<ResourcesFragment> =>
  alarmEmailResources(await resolveVariable('param:alarmEmail'));
