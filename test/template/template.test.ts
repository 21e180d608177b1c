/**
 * The packaged CloudFormation template, checked property by property (the S3 key carries a timestamp,
 * so no whole-file snapshot; equivalence.test.ts compares it with a baseline as a whole). `beforeAll`
 * gets the bundles built and `osls package` run, once per test run (`packagedStacks`), for the `ci` stage
 * (the params under `params.ci` in serverless.yml, and config/ci.json) and for `dev` (the default params,
 * and config/default.json since there is no config/dev.json). The last part unit-tests deploy/.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { alarmEmailResources } from '../../deploy/alarm-email.ts';
import { ruleDimensionsFor } from '../../deploy/alarms.ts';
import { dashboardBodyObject } from '../../deploy/dashboard.ts';
import { FUNCTIONS as DEPLOY_FUNCTIONS } from '../../deploy/functions.ts';
import { checkedGlueResourceArns, glueResourceArns as deployGlueArns } from '../../deploy/glue-resources.ts';
import { visibilityTimeoutFor } from '../../deploy/queue-settings.ts';
import * as stageConfig from '../../deploy/stage-config.ts';
import * as triggers from '../../deploy/triggers.ts';
import { lambdaFunctions } from '../../scripts/build.ts';
import { schedulePayloadTemplate } from '../../src/policy/schedule-payload.ts';
import {
  type MaintenanceWindow,
  parseStackConfig,
  runtimePolicyOf,
  type StackConfig,
} from '../../src/policy/stack-config.ts';
import { REQUIRED_FUNCTION_TIMEOUT_SECONDS } from '../../src/runtime/budget.ts';
import { loadConfig } from '../../src/runtime/config.ts';
import * as metricNames from '../../src/runtime/metrics.ts';
import {
  actionsOf,
  asArray,
  getAtt,
  identityStatements,
  isObject,
  type Json,
  type JsonObject,
  type PackagedStack,
  packagedStacks,
  projectRoot,
  type Resource,
  ref,
  resourceOf,
  resourcesOfType,
  type Statement,
  subString,
  type Template,
} from './stack.ts';

const STOP_ACTION = 'glue:StopMaterializedViewRefreshTaskRun';
const LIST_ACTION = 'glue:ListMaterializedViewRefreshTaskRuns';

const FUNCTIONS = [
  {
    name: 'stopFromQueue',
    logicalId: 'StopFromQueueLambdaFunction',
    role: 'StopFromQueueRole',
    dir: 'stop-from-queue',
    glueActions: [STOP_ACTION, LIST_ACTION],
    trigger: 'sqs',
  },
  {
    name: 'stopFromEvent',
    logicalId: 'StopFromEventLambdaFunction',
    role: 'StopFromEventRole',
    dir: 'stop-from-event',
    glueActions: [STOP_ACTION, LIST_ACTION],
    trigger: 'eventbridge',
  },
  {
    name: 'stopFromAlarm',
    logicalId: 'StopFromAlarmLambdaFunction',
    role: 'StopFromAlarmRole',
    dir: 'stop-from-alarm',
    // It only expands a cost guard's scope into requests on the stop queue.
    glueActions: [],
    trigger: 'alarm',
  },
  {
    name: 'stopFromSchedule',
    logicalId: 'StopFromScheduleLambdaFunction',
    role: 'StopFromScheduleRole',
    dir: 'stop-from-schedule',
    // Like stopFromAlarm: a window's scope is listed, then queued one request per view.
    glueActions: [],
    trigger: 'schedule',
  },
] as const;

/** Functions invoked asynchronously (EventBridge, Scheduler): retries, then the dead-letter queue. */
const ASYNC_FUNCTIONS = FUNCTIONS.filter(({ name }) => name !== 'stopFromQueue');

/** What `params.ci` in serverless.yml sets. */
const CI = {
  batchSize: 5,
  maximumConcurrency: 3,
  maximumBatchingWindow: 2,
  maxReceiveCount: 4,
  eventRetryAttempts: 4,
  eventMaximumAgeSeconds: 1800,
  logLevel: 'DEBUG',
  alarmEmail: 'ops@example.com',
};

const readConfig = (file: string): StackConfig =>
  parseStackConfig(JSON.parse(readFileSync(path.join(projectRoot, file), 'utf8')), file);
const CI_CONFIG = readConfig('config/ci.json');
const DEFAULT_CONFIG = readConfig('config/default.json');

const SQS_CONSUME_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ChangeMessageVisibility',
];
const DYNAMODB_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];
/** `Fn::Sub` text, its `${...}` escaped so that JavaScript leaves it alone. */
const GLUE_ARN_PREFIX = `arn:\${AWS::Partition}:glue:\${AWS::Region}`;
const THIS_ACCOUNT = `\${AWS::AccountId}`;
const SCHEDULER_PLACEHOLDERS = {
  scheduledTime: '<aws.scheduler.scheduled-time>',
  executionId: '<aws.scheduler.execution-id>',
  scheduleArn: '<aws.scheduler.schedule-arn>',
  attemptNumber: '<aws.scheduler.attempt-number>',
};

let ci: PackagedStack;
let dev: PackagedStack;
let t: Template;

beforeAll(async () => {
  ({ ci, dev } = await packagedStacks());
  t = ci.template;
}, 180_000);

const statementsOfRole = (template: Template, roleId: string): Statement[] =>
  identityStatements(resourceOf(template, roleId, 'AWS::IAM::Role'));

const statementWithSid = (statements: Statement[], sid: string): Statement => {
  const found = statements.find((statement) => statement.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
};

const glueStatement = (template: Template, roleId: string): Statement =>
  statementWithSid(statementsOfRole(template, roleId), 'MaterializedViewRefreshRuns');

const glueResourceArns = (template: Template, roleId: string): string[] =>
  asArray(glueStatement(template, roleId).Resource).map((value) => {
    const arn = subString(value);
    if (arn === undefined) throw new Error(`Glue resource is not an Fn::Sub ARN: ${JSON.stringify(value)}`);
    return arn;
  });

const alarms = (template: Template): Resource[] =>
  resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm);

const alarmOn = (template: Template, namespace: string, metric: string, dimension: Json): Resource => {
  const found = alarms(template).find(
    (alarm) =>
      alarm.Properties.Namespace === namespace &&
      alarm.Properties.MetricName === metric &&
      asArray(alarm.Properties.Dimensions).some(
        (d) => isObject(d) && JSON.stringify(d.Value) === JSON.stringify(dimension),
      ),
  );
  if (!found) throw new Error(`no alarm on ${namespace} ${metric} for ${JSON.stringify(dimension)}`);
  return found;
};

const environmentOf = (template: Template, logicalId: string): JsonObject => {
  const environment = resourceOf(template, logicalId, 'AWS::Lambda::Function').Properties.Environment;
  if (!isObject(environment) || !isObject(environment.Variables))
    throw new Error(`${logicalId}: no variables`);
  return environment.Variables;
};

const schedules = (template: Template): [string, Resource][] =>
  resourcesOfType(template, 'AWS::Scheduler::Schedule');

const scheduleNamed = (template: Template, name: string): Resource => {
  const found = schedules(template).find(([, schedule]) => schedule.Properties.Name === name);
  if (!found) throw new Error(`no schedule ${name}`);
  return found[1];
};

const targetOf = (schedule: Resource): JsonObject => {
  const target = schedule.Properties.Target;
  if (!isObject(target)) throw new Error('schedule without target');
  return target;
};

/** The logical ID in a `{ "Fn::GetAtt": [id, "Arn"] }`. */
const getAttId = (value: Json | undefined): string => {
  if (isObject(value) && Array.isArray(value['Fn::GetAtt']) && typeof value['Fn::GetAtt'][0] === 'string') {
    return value['Fn::GetAtt'][0];
  }
  throw new Error(`not a GetAtt: ${JSON.stringify(value)}`);
};

const enabledWindows = (config: StackConfig): MaintenanceWindow[] =>
  config.maintenanceWindows.filter((window) => window.enabled);

describe('stage configuration files', () => {
  it('ci exercises every feature: a foreign catalog, two cost guards, two windows', () => {
    expect(CI_CONFIG.allow.map((rule) => rule.catalogId)).toContain('111122223333');
    expect(CI_CONFIG.costGuards.map((guard) => guard.alarmName)).toEqual([
      'sales-glue-dpu-spend',
      'marketing-refresh-cost',
    ]);
    expect(CI_CONFIG.maintenanceWindows.map((window) => window.name)).toEqual([
      'weekend-maintenance',
      'year-end-freeze',
    ]);
    expect(CI_CONFIG.glue.requestsPerSecond).toBe(20);
  });

  it('the default is safe: one database, no cost guard, no window, no dry-run', () => {
    expect(DEFAULT_CONFIG).toEqual({
      allow: [{ database: 'analytics', tables: ['*'] }],
      dryRun: false,
      glue: { requestsPerSecond: 10, budget: 'shared', burstSeconds: 0.25 },
      costGuards: [],
      maintenanceWindows: [],
    });
  });
});

describe('functions', () => {
  it.each(FUNCTIONS)('$name runs nodejs24.x on arm64 with its own bundle handler', ({ logicalId, dir }) => {
    const fn = resourceOf(t, logicalId, 'AWS::Lambda::Function').Properties;
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Handler).toBe(`dist/${dir}/index.handler`);
    expect(fn.MemorySize).toBe(256);
    expect(fn.Timeout).toBe(60);
  });

  it.each(FUNCTIONS)(
    '$name has a timeout that leaves room for one worst-case request, the finish and a start margin',
    ({ logicalId }) => {
      const fn = resourceOf(t, logicalId, 'AWS::Lambda::Function').Properties;
      // budget.ts adds up the SDK clients' retry settings; the deadline depends on this holding.
      expect(Number(fn.Timeout)).toBeGreaterThanOrEqual(REQUIRED_FUNCTION_TIMEOUT_SECONDS);
    },
  );

  it.each(FUNCTIONS)('$name gets the configuration its code reads at load time', ({ logicalId }) => {
    const variables = environmentOf(t, logicalId);
    expect(variables).toEqual({
      IDEMPOTENCY_TABLE_NAME: ref('IdempotencyTable'),
      DEAD_LETTER_QUEUE_URL: ref('DeadLetterQueue'),
      IDEMPOTENCY_EXPIRY_SECONDS: '86400',
      STOP_QUEUE_URL: ref('StopQueue'),
      OUTCOME_EVENT_BUS_NAME: 'default',
      // config glue.requestsPerSecond 20 / (maximumConcurrency 3 + eventConcurrency 1).
      GLUE_MAX_REQUESTS_PER_SECOND: '5',
      GLUE_BUDGET_MODE: 'shared',
      // config glue.burstSeconds, left at its default.
      GLUE_BURST_SECONDS: '0.25',
      STOP_POLICY: expect.any(String),
      POWERTOOLS_SERVICE_NAME: 'glue-mv-stop',
      POWERTOOLS_METRICS_NAMESPACE: 'GlueMvStop',
      POWERTOOLS_LOG_LEVEL: CI.logLevel,
      // Only the queue function reads the redrive policy's count (its last receive parks with a reason).
      ...(logicalId === 'StopFromQueueLambdaFunction'
        ? {
            STOP_QUEUE_MAX_RECEIVE_COUNT: String(CI.maxReceiveCount),
            STOP_QUEUE_BATCH_SIZE: String(CI.batchSize),
          }
        : {}),
    });
    expect(JSON.parse(String(variables.STOP_POLICY))).toEqual(runtimePolicyOf(CI_CONFIG));
  });

  it.each(FUNCTIONS)('$name: the code accepts the environment the template gives it', ({ logicalId }) => {
    const deployed = Object.fromEntries(
      Object.entries(environmentOf(t, logicalId)).map(([name, value]) => [
        name,
        typeof value === 'string' ? value : `deployed-value-of-${name}`,
      ]),
    );
    const config = loadConfig(deployed);
    expect(config.policy).toEqual(runtimePolicyOf(CI_CONFIG));
    expect(config.glueMaxRequestsPerSecond).toBe(5);
    expect(config.glueBudgetMode).toBe('shared');
    expect(config.glueBurstSeconds).toBe(0.25);
  });

  it('a stage without a config file of its own gets config/default.json', () => {
    const variables = environmentOf(dev.template, 'StopFromQueueLambdaFunction');
    expect(JSON.parse(String(variables.STOP_POLICY))).toEqual(runtimePolicyOf(DEFAULT_CONFIG));
    // 10 requests per second / (maximumConcurrency 5 + eventConcurrency 1), rounded down.
    expect(variables.GLUE_MAX_REQUESTS_PER_SECOND).toBe('1.66');
  });

  it('each function runs under its own role, and there is no shared default role', () => {
    for (const { logicalId, role } of FUNCTIONS) {
      const fn = resourceOf(t, logicalId, 'AWS::Lambda::Function').Properties;
      expect(fn.Role).toEqual({ 'Fn::Sub': `\${${role}.Arn}` });
    }
    expect(t.Resources.IamRoleLambdaExecution).toBeUndefined();
    const scheduleRoles = schedules(t).map(([, schedule]) => getAttId(targetOf(schedule).RoleArn));
    expect(
      resourcesOfType(t, 'AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual([...FUNCTIONS.map(({ role }) => role), ...scheduleRoles].sort());
  });

  it("deploy/functions.ts lists every function, with the trigger its handler's runtime has", () => {
    expect(
      resourcesOfType(t, 'AWS::Lambda::Function')
        .map(([id]) => id)
        .sort(),
    ).toEqual(FUNCTIONS.map(({ logicalId }) => logicalId).sort());
    expect(DEPLOY_FUNCTIONS.map(({ name, trigger }) => ({ name, trigger }))).toEqual(
      FUNCTIONS.map(({ name, trigger }) => ({ name, trigger })),
    );
    for (const { name, trigger } of DEPLOY_FUNCTIONS) {
      const entry = lambdaFunctions.find((fn) => fn.name === name)?.entry ?? `no handler for ${name}`;
      expect(readFileSync(path.join(projectRoot, entry), 'utf8'), entry).toContain(
        `createStopRuntime({ trigger: '${trigger}' })`,
      );
    }
  });

  it.each(FUNCTIONS)('$name zip holds only its bundle, without source maps', ({ name, dir }) => {
    const entries = ci.zips[name] ?? [];
    expect(entries.map((entry) => entry.name)).toEqual([`dist/${dir}/index.cjs`]);
    expect(entries[0]?.uncompressedSize).toBeGreaterThan(10_000);
  });
});

describe('stop queue and its event source mapping', () => {
  it('reports batch item failures, with batch size and concurrency from the stage params', () => {
    const mapping = resourceOf(
      t,
      'StopFromQueueEventSourceMappingSQSStopQueue',
      'AWS::Lambda::EventSourceMapping',
    );
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: getAtt('StopQueue', 'Arn'),
      FunctionName: getAtt('StopFromQueueLambdaFunction', 'Arn'),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: CI.batchSize,
      MaximumBatchingWindowInSeconds: CI.maximumBatchingWindow,
      ScalingConfig: { MaximumConcurrency: CI.maximumConcurrency },
      Enabled: true,
    });
  });

  it('the defaults apply to stages without their own params', () => {
    const mapping = resourceOf(
      dev.template,
      'StopFromQueueEventSourceMappingSQSStopQueue',
      'AWS::Lambda::EventSourceMapping',
    );
    expect(mapping.Properties).toMatchObject({
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('is encrypted, and hides a message for at least 6 x the function timeout + the batching window', () => {
    const queue = resourceOf(t, 'StopQueue', 'AWS::SQS::Queue').Properties;
    const timeout = Number(
      resourceOf(t, 'StopFromQueueLambdaFunction', 'AWS::Lambda::Function').Properties.Timeout,
    );
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(Number(queue.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * timeout + CI.maximumBatchingWindow);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', () => {
    expect(resourceOf(t, 'StopQueue', 'AWS::SQS::Queue').Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt('DeadLetterQueue', 'Arn'),
      maxReceiveCount: CI.maxReceiveCount,
    });
  });

  it("lets this account's EventBridge rules, and nobody else, send to it", () => {
    const policy = resourceOf(t, 'StopQueuePolicy', 'AWS::SQS::QueuePolicy').Properties;
    expect(policy.Queues).toEqual([ref('StopQueue')]);
    const [statement, ...others] = asArray(
      isObject(policy.PolicyDocument) ? policy.PolicyDocument.Statement : [],
    );
    expect(others).toEqual([]);
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt('StopQueue', 'Arn'),
      Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
    });
  });
});

describe('dead-letter queue', () => {
  const statementsOf = (template: Template): Json[] => {
    const policy = resourceOf(template, 'DeadLetterQueuePolicy', 'AWS::SQS::QueuePolicy').Properties;
    expect(policy.Queues).toEqual([ref('DeadLetterQueue')]);
    return asArray(isObject(policy.PolicyDocument) ? policy.PolicyDocument.Statement : []);
  };

  it('is encrypted and keeps messages for 14 days', () => {
    const dlq = resourceOf(t, 'DeadLetterQueue', 'AWS::SQS::Queue').Properties;
    expect(dlq.SqsManagedSseEnabled).toBe(true);
    expect(dlq.MessageRetentionPeriod).toBe(1_209_600);
  });

  it('accepts dead letters from the stop queue only', () => {
    const dlq = resourceOf(t, 'DeadLetterQueue', 'AWS::SQS::Queue').Properties;
    const queueName = resourceOf(t, 'StopQueue', 'AWS::SQS::Queue').Properties.QueueName;
    expect(typeof queueName).toBe('string');
    const allow = dlq.RedriveAllowPolicy;
    expect(isObject(allow) && allow.redrivePermission).toBe('byQueue');
    const sources = isObject(allow) ? asArray(allow.sourceQueueArns).map(subString) : [];
    expect(sources).toEqual([
      `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${String(queueName)}`,
    ]);
  });

  it("lets only the stack's two rules and its schedule group park undeliverable events in it", () => {
    expect(statementsOf(t)).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: getAtt('DeadLetterQueue', 'Arn'),
        Condition: {
          ArnEquals: { 'aws:SourceArn': [getAtt('StopEventRule', 'Arn'), getAtt('StopAlarmRule', 'Arn')] },
        },
      }),
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'scheduler.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: getAtt('DeadLetterQueue', 'Arn'),
        Condition: {
          StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
          ArnEquals: { 'aws:SourceArn': getAtt('MaintenanceWindowScheduleGroup', 'Arn') },
        },
      }),
    ]);
  });

  it('without cost guards or windows, only the stop rule may', () => {
    expect(statementsOf(dev.template)).toEqual([
      expect.objectContaining({
        Principal: { Service: 'events.amazonaws.com' },
        Condition: { ArnEquals: { 'aws:SourceArn': getAtt('StopEventRule', 'Arn') } },
      }),
    ]);
  });
});

describe('idempotency table', () => {
  it('is on-demand, keyed by id, expires records on expiration, with PITR and encryption', () => {
    const table = resourceOf(t, 'IdempotencyTable', 'AWS::DynamoDB::Table').Properties;
    expect(table).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: false,
    });
  });
});

describe('EventBridge trigger', () => {
  it('matches stop events on the configured bus and sends them to stopFromEvent', () => {
    const rule = resourceOf(t, 'StopEventRule', 'AWS::Events::Rule').Properties;
    expect(rule.EventBusName).toBe('default');
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventPattern).toEqual({
      source: ['glue-mv-stop'],
      'detail-type': ['Stop Materialized View Refresh'],
    });
    expect(rule.Targets).toEqual([
      {
        Id: 'stopFromEvent',
        Arn: getAtt('StopFromEventLambdaFunction', 'Arn'),
        RetryPolicy: {
          MaximumRetryAttempts: CI.eventRetryAttempts,
          MaximumEventAgeInSeconds: CI.eventMaximumAgeSeconds,
        },
        DeadLetterConfig: { Arn: getAtt('DeadLetterQueue', 'Arn') },
      },
    ]);
  });

  it('only the stop rule may invoke stopFromEvent, only the cost-guard rule stopFromAlarm', () => {
    const permissions = resourcesOfType(t, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
    expect(permissions).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt('StopFromEventLambdaFunction', 'Arn'),
        Principal: 'events.amazonaws.com',
        SourceAccount: ref('AWS::AccountId'),
        SourceArn: getAtt('StopEventRule', 'Arn'),
      }),
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt('StopFromAlarmLambdaFunction', 'Arn'),
        Principal: 'events.amazonaws.com',
        SourceAccount: ref('AWS::AccountId'),
        SourceArn: getAtt('StopAlarmRule', 'Arn'),
      }),
    ]);
  });

  it.each(ASYNC_FUNCTIONS)(
    '$name keeps failed asynchronous invocations in the dead-letter queue after two retries',
    ({ logicalId }) => {
      const configs = resourcesOfType(t, 'AWS::Lambda::EventInvokeConfig').map(([, c]) => c.Properties);
      expect(configs).toHaveLength(ASYNC_FUNCTIONS.length);
      expect(configs).toContainEqual({
        FunctionName: ref(logicalId),
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        MaximumEventAgeInSeconds: CI.eventMaximumAgeSeconds,
        DestinationConfig: { OnFailure: { Destination: getAtt('DeadLetterQueue', 'Arn') } },
      });
    },
  );
});

describe('cost guards', () => {
  it('one rule on the default bus matches every state change of exactly the configured alarms', () => {
    const rule = resourceOf(t, 'StopAlarmRule', 'AWS::Events::Rule').Properties;
    expect(rule.EventBusName).toBe('default');
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      detail: { alarmName: ['sales-glue-dpu-spend', 'marketing-refresh-cost'] },
    });
    expect(resourcesOfType(t, 'AWS::Events::Rule')).toHaveLength(2);
  });

  it('sends them to stopFromAlarm with the retry policy and dead-letter queue of the stop rule', () => {
    expect(resourceOf(t, 'StopAlarmRule', 'AWS::Events::Rule').Properties.Targets).toEqual([
      {
        Id: 'stopFromAlarm',
        Arn: getAtt('StopFromAlarmLambdaFunction', 'Arn'),
        RetryPolicy: {
          MaximumRetryAttempts: CI.eventRetryAttempts,
          MaximumEventAgeInSeconds: CI.eventMaximumAgeSeconds,
        },
        DeadLetterConfig: { Arn: getAtt('DeadLetterQueue', 'Arn') },
      },
    ]);
  });

  it('without cost guards there is no alarm rule and no permission to invoke stopFromAlarm', () => {
    expect(dev.template.Resources.StopAlarmRule).toBeUndefined();
    const permissions = resourcesOfType(dev.template, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
    expect(permissions.map((p) => p.FunctionName)).toEqual([getAtt('StopFromEventLambdaFunction', 'Arn')]);
  });
});

describe('maintenance windows', () => {
  it('one schedule per enabled window, in a schedule group of the stage', () => {
    expect(
      schedules(t)
        .map(([, schedule]) => schedule.Properties.Name)
        .sort(),
    ).toEqual(
      enabledWindows(CI_CONFIG)
        .map((window) => window.name)
        .sort(),
    );
    expect(
      resourceOf(t, 'MaintenanceWindowScheduleGroup', 'AWS::Scheduler::ScheduleGroup').Properties,
    ).toEqual({
      Name: 'glue-mv-stop-ci',
    });
    for (const [, schedule] of schedules(t)) {
      expect(schedule.Properties.GroupName).toEqual(ref('MaintenanceWindowScheduleGroup'));
    }
  });

  it('a recurring window: cron expression in its time zone, no dates', () => {
    const schedule = scheduleNamed(t, 'weekend-maintenance').Properties;
    expect(schedule).toMatchObject({
      ScheduleExpression: 'cron(0 2 ? * SAT *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
    });
    expect(schedule.StartDate).toBeUndefined();
    expect(schedule.EndDate).toBeUndefined();
  });

  it('a one-time window: at() expression in UTC, with its start and end dates', () => {
    expect(scheduleNamed(t, 'year-end-freeze').Properties).toMatchObject({
      ScheduleExpression: 'at(2026-12-31T18:00:00)',
      ScheduleExpressionTimezone: 'UTC',
      StartDate: '2026-12-31T00:00:00Z',
      EndDate: '2027-01-01T00:00:00Z',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
    });
  });

  it.each(enabledWindows(CI_CONFIG))(
    '$name invokes stopFromSchedule with retries and the dead-letter queue',
    (window) => {
      const target = targetOf(scheduleNamed(t, window.name));
      expect(target.Arn).toEqual(getAtt('StopFromScheduleLambdaFunction', 'Arn'));
      expect(target.RetryPolicy).toEqual({
        MaximumRetryAttempts: CI.eventRetryAttempts,
        MaximumEventAgeInSeconds: CI.eventMaximumAgeSeconds,
      });
      expect(target.DeadLetterConfig).toEqual({ Arn: getAtt('DeadLetterQueue', 'Arn') });
    },
  );

  it.each(enabledWindows(CI_CONFIG))(
    "$name sends the window's scope with Scheduler's placeholders",
    (window) => {
      const input = targetOf(scheduleNamed(t, window.name)).Input;
      expect(typeof input).toBe('string');
      expect(JSON.parse(String(input))).toEqual({
        window: window.name,
        scope: window.scope,
        dryRun: window.dryRun ?? false,
        ...SCHEDULER_PLACEHOLDERS,
      });
      // Built by the module stopFromSchedule reads it with.
      expect(input).toBe(schedulePayloadTemplate(window));
    },
  );

  it.each(enabledWindows(CI_CONFIG))(
    '$name has its own role, which only Scheduler may assume, allowed only to invoke stopFromSchedule',
    (window) => {
      const roleId = getAttId(targetOf(scheduleNamed(t, window.name)).RoleArn);
      expect(FUNCTIONS.map(({ role }) => role)).not.toContain(roleId);
      const otherRoles = schedules(t)
        .filter(([, schedule]) => schedule.Properties.Name !== window.name)
        .map(([, schedule]) => getAttId(targetOf(schedule).RoleArn));
      expect(otherRoles).not.toContain(roleId);

      const role = resourceOf(t, roleId, 'AWS::IAM::Role').Properties;
      const trust = isObject(role.AssumeRolePolicyDocument) ? role.AssumeRolePolicyDocument.Statement : [];
      expect(trust).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
            ArnEquals: {
              'aws:SourceArn': {
                'Fn::Sub': `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule-group/glue-mv-stop-ci`,
              },
            },
          },
        },
      ]);
      expect(statementsOfRole(t, roleId)).toEqual([
        {
          Sid: 'InvokeStopFromSchedule',
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: getAtt('StopFromScheduleLambdaFunction', 'Arn'),
        },
        {
          Sid: 'DeadLetters',
          Effect: 'Allow',
          Action: 'sqs:SendMessage',
          Resource: getAtt('DeadLetterQueue', 'Arn'),
        },
      ]);
    },
  );

  it('without windows there is no schedule, no schedule group and no schedule role', () => {
    expect(schedules(dev.template)).toEqual([]);
    expect(resourcesOfType(dev.template, 'AWS::Scheduler::ScheduleGroup')).toEqual([]);
    expect(resourcesOfType(dev.template, 'AWS::IAM::Role')).toHaveLength(FUNCTIONS.length);
  });
});

describe('alarms', () => {
  it('watch the dead-letter queue depth, every function and the age of the oldest stop request', () => {
    const dlq = alarmOn(
      t,
      'AWS/SQS',
      'ApproximateNumberOfMessagesVisible',
      getAtt('DeadLetterQueue', 'QueueName'),
    );
    expect(dlq.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    for (const { logicalId } of FUNCTIONS) {
      const errors = alarmOn(t, 'AWS/Lambda', 'Errors', ref(logicalId));
      expect(errors.Properties).toMatchObject({
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    const age = alarmOn(t, 'AWS/SQS', 'ApproximateAgeOfOldestMessage', getAtt('StopQueue', 'QueueName'));
    expect(age.Properties.ComparisonOperator).toBe('GreaterThanThreshold');
    expect(Number(age.Properties.Threshold)).toBeGreaterThan(0);
  });

  it('watch for requests that reached neither a function nor the dead-letter queue', () => {
    alarmOn(t, 'AWS/Events', 'InvocationsFailedToBeSentToDlq', ref('StopEventRule'));
    alarmOn(t, 'AWS/Events', 'InvocationsFailedToBeSentToDlq', ref('StopAlarmRule'));
    alarmOn(
      t,
      'AWS/Scheduler',
      'InvocationsFailedToBeSentToDeadLetterCount',
      ref('MaintenanceWindowScheduleGroup'),
    );
    for (const { logicalId } of ASYNC_FUNCTIONS) {
      alarmOn(t, 'AWS/Lambda', 'DestinationDeliveryFailures', ref(logicalId));
    }
  });

  it('the stop rule on the default bus is identified by RuleName alone', () => {
    const alarm = alarmOn(t, 'AWS/Events', 'InvocationsFailedToBeSentToDlq', ref('StopEventRule'));
    expect(alarm.Properties.Dimensions).toEqual([{ Name: 'RuleName', Value: ref('StopEventRule') }]);
  });

  it('watch outcome events that could not be published, summed over every function', () => {
    const alarm = resourceOf(t, 'OutcomeEventsFailedAlarm', 'AWS::CloudWatch::Alarm').Properties;
    const metrics = asArray(alarm.Metrics).filter(isObject);
    const watched = metrics.filter((metric) => isObject(metric.MetricStat));
    // The dimension set Powertools writes: service plus the function's default dimension trigger.
    expect(watched.map((metric) => (metric.MetricStat as JsonObject).Metric)).toEqual(
      FUNCTIONS.map(({ trigger }) => ({
        Namespace: 'GlueMvStop',
        MetricName: metricNames.OUTCOME_EVENTS_FAILED_METRIC,
        Dimensions: [
          { Name: 'service', Value: 'glue-mv-stop' },
          { Name: 'trigger', Value: trigger },
        ],
      })),
    );
    expect(watched.map((metric) => metric.ReturnData)).toEqual(FUNCTIONS.map(() => false));
    expect(metrics.filter((metric) => metric.ReturnData === true)).toEqual([
      expect.objectContaining({ Expression: `SUM([${watched.map((metric) => metric.Id).join(', ')}])` }),
    ]);
    expect(alarm).toMatchObject({
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('all notify the alarm topic, which is encrypted with a key CloudWatch may use', () => {
    for (const alarm of alarms(t)) {
      expect(alarm.Properties.AlarmActions).toEqual([ref('AlarmTopic')]);
    }
    const topic = resourceOf(t, 'AlarmTopic', 'AWS::SNS::Topic').Properties;
    expect(topic.KmsMasterKeyId).toEqual(ref('AlarmTopicKey'));
    const keyPolicy = resourceOf(t, 'AlarmTopicKey', 'AWS::KMS::Key').Properties.KeyPolicy;
    const statements = asArray(isObject(keyPolicy) ? keyPolicy.Statement : []);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
  });

  it('e-mail the alarmEmail param when it is set, and subscribe nobody when it is empty', () => {
    expect(resourceOf(t, 'AlarmEmailSubscription', 'AWS::SNS::Subscription').Properties).toEqual({
      TopicArn: ref('AlarmTopic'),
      Protocol: 'email',
      Endpoint: CI.alarmEmail,
    });
    expect(resourcesOfType(dev.template, 'AWS::SNS::Subscription')).toEqual([]);
  });
});

describe('dashboard', () => {
  type Widget = { type: string; properties: { title?: string; metrics?: Json[][]; alarms?: string[] } };
  const bodyOf = (template: Template): { text: string; widgets: Widget[] } => {
    const body = resourceOf(template, 'Dashboard', 'AWS::CloudWatch::Dashboard').Properties.DashboardBody;
    const text = subString(body ?? null);
    if (text === undefined) throw new Error('DashboardBody is not an Fn::Sub string');
    return { text, widgets: (JSON.parse(text) as { widgets: Widget[] }).widgets };
  };
  const metricsOf = (widgets: Widget[]): Json[][] => widgets.flatMap((w) => w.properties.metrics ?? []);

  it('exists, named after the stack, and its body is JSON', () => {
    const dashboard = resourceOf(t, 'Dashboard', 'AWS::CloudWatch::Dashboard').Properties;
    expect(dashboard.DashboardName).toBe('glue-mv-stop-ci');
    expect(bodyOf(t).widgets.length).toBeGreaterThan(5);
    expect(t.Outputs.DashboardName).toEqual({ Description: expect.any(String), Value: ref('Dashboard') });
  });

  it('graphs every outcome metric for every trigger, with the dimensions Powertools writes', () => {
    const metrics = metricsOf(bodyOf(t).widgets);
    const expected = ['StopRequested', 'AlreadyStopping', 'NotRunning', 'Skipped', 'DryRun', 'Expanded'];
    expected.push('NotAllowed', 'Rejected', 'Retried', 'Replayed');
    for (const trigger of ['sqs', 'eventbridge', 'alarm', 'schedule']) {
      for (const metric of expected) {
        expect(metrics).toContainEqual([
          'GlueMvStop',
          metric,
          'service',
          'glue-mv-stop',
          'trigger',
          trigger,
          { label: metric },
        ]);
      }
    }
  });

  it('graphs every metric the code counts', () => {
    // What the code counts: every `addMetric(NAME...)` in src/ names a constant of src/runtime/metrics.ts.
    const counted = readdirSync(path.join(projectRoot, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) => [
        ...readFileSync(path.join(projectRoot, 'src', file), 'utf8').matchAll(/\.addMetric\(\s*([^,\s[]+)/g),
      ])
      .map((match) => match[1] ?? '');
    expect(counted.length).toBeGreaterThan(0);
    const exported: Record<string, unknown> = metricNames;
    for (const constant of new Set(counted)) {
      expect(Object.keys(exported), `addMetric(${constant}…) in src/`).toContain(constant);
      const value = exported[constant];
      const names = typeof value === 'string' ? [value] : Object.values(value as Record<string, string>);
      for (const name of names) expect(metricNames.ALL_METRICS).toContain(name);
    }
    const graphed = new Set(metricsOf(bodyOf(t).widgets).map((metric) => metric[1]));
    for (const metric of metricNames.ALL_METRICS) expect(graphed).toContain(metric);
  });

  it.each([metricNames.OUTCOME_EVENTS_FAILED_METRIC, metricNames.ALARM_IGNORED_METRIC])(
    'graphs %s for every function, in a panel of its own',
    (metric) => {
      const panel = bodyOf(t).widgets.find((widget) => widget.properties.title?.includes(`(${metric})`));
      expect(panel?.properties.metrics).toEqual(
        FUNCTIONS.map(({ name, trigger }) => [
          'GlueMvStop',
          metric,
          'service',
          'glue-mv-stop',
          'trigger',
          trigger,
          { label: name },
        ]),
      );
    },
  );

  it('graphs dead-letter queue depth, stop-queue age and the errors of every function', () => {
    const metrics = metricsOf(bodyOf(t).widgets).map((metric) => metric.slice(0, 4));
    expect(metrics).toContainEqual([
      'AWS/SQS',
      'ApproximateNumberOfMessagesVisible',
      'QueueName',
      `\${DeadLetterQueue.QueueName}`,
    ]);
    expect(metrics).toContainEqual([
      'AWS/SQS',
      'ApproximateAgeOfOldestMessage',
      'QueueName',
      `\${StopQueue.QueueName}`,
    ]);
    for (const { logicalId } of FUNCTIONS) {
      expect(metrics).toContainEqual(['AWS/Lambda', 'Errors', 'FunctionName', `\${${logicalId}}`]);
    }
  });

  it('shows the state of the cost-guard alarms, when there are any', () => {
    const alarmWidget = (template: Template) => bodyOf(template).widgets.find((w) => w.type === 'alarm');
    expect(alarmWidget(t)?.properties.alarms).toEqual(
      CI_CONFIG.costGuards.map(
        (guard) =>
          `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${guard.alarmName}`,
      ),
    );
    expect(alarmWidget(dev.template)).toBeUndefined();
  });

  it('refers only to pseudo parameters and resources of the template', () => {
    for (const template of [t, dev.template]) {
      const references = [...bodyOf(template).text.matchAll(/\$\{([^}!]+)\}/g)].map((m) => m[1] ?? '');
      expect(references.length).toBeGreaterThan(0);
      for (const reference of references) {
        if (reference.startsWith('AWS::')) continue;
        expect(Object.keys(template.Resources)).toContain(reference.split('.')[0]);
      }
    }
  });
});

describe('IAM: least privilege per function', () => {
  const identityPolicies = (template: Template): [string, Statement[]][] =>
    Object.entries(template.Resources)
      .filter(([, r]) => ['AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(r.Type))
      .map(([id, r]) => [id, identityStatements(r)]);

  it('no statement allows a wildcard action or a bare "*" resource', () => {
    for (const template of [t, dev.template]) {
      const policies = identityPolicies(template);
      expect(policies.length).toBeGreaterThanOrEqual(FUNCTIONS.length);
      for (const [id, statements] of policies) {
        expect(statements.length, id).toBeGreaterThan(0);
        for (const statement of statements) {
          expect(statement.NotAction, id).toBeUndefined();
          expect(statement.NotResource, id).toBeUndefined();
          const actions = actionsOf(statement);
          expect(actions.length, id).toBeGreaterThan(0);
          for (const action of actions) expect(action, id).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
          const resources = asArray(statement.Resource);
          expect(resources.length, id).toBeGreaterThan(0);
          for (const resource of resources) expect(resource, id).not.toBe('*');
        }
      }
    }
  });

  it('only the queue function may consume the stop queue', () => {
    const consume = statementWithSid(statementsOfRole(t, 'StopFromQueueRole'), 'ConsumeStopQueue');
    expect(actionsOf(consume).sort()).toEqual([...SQS_CONSUME_ACTIONS].sort());
    expect(consume.Resource).toEqual(getAtt('StopQueue', 'Arn'));

    for (const { role } of FUNCTIONS.filter(({ name }) => name !== 'stopFromQueue')) {
      const actions = statementsOfRole(t, role).flatMap(actionsOf);
      for (const action of SQS_CONSUME_ACTIONS) expect(actions, role).not.toContain(action);
    }
  });

  it.each(FUNCTIONS)(
    '$name may write its own log group, the idempotency table, both queues and the outcome bus',
    ({ role, name }) => {
      const statements = statementsOfRole(t, role);
      const logs = statementWithSid(statements, 'OwnLogGroup');
      expect(actionsOf(logs).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs.Resource).toEqual(getAtt(`${name[0]?.toUpperCase()}${name.slice(1)}LogGroup`, 'Arn'));

      const table = statementWithSid(statements, 'IdempotencyRecords');
      // Only the queue function runs stop tasks, which read and write their views' records in batches.
      const batch = name === 'stopFromQueue' ? ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'] : [];
      expect(actionsOf(table).sort()).toEqual([...DYNAMODB_ACTIONS, ...batch].sort());
      expect(table.Resource).toEqual(getAtt('IdempotencyTable', 'Arn'));

      const park = statementWithSid(statements, 'DeadLetters');
      expect(actionsOf(park)).toEqual(['sqs:SendMessage']);
      expect(park.Resource).toEqual(getAtt('DeadLetterQueue', 'Arn'));

      const fanOut = statementWithSid(statements, 'FanOut');
      expect(actionsOf(fanOut)).toEqual(['sqs:SendMessage']);
      expect(fanOut.Resource).toEqual(getAtt('StopQueue', 'Arn'));

      const publish = statementWithSid(statements, 'PublishOutcomes');
      expect(actionsOf(publish)).toEqual(['events:PutEvents']);
      expect(publish.Resource).toEqual({
        'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:event-bus/default`,
      });

      const sendTargets = statements
        .filter((statement) => actionsOf(statement).includes('sqs:SendMessage'))
        .map((statement) => statement.Resource);
      expect(sendTargets).toEqual([getAtt('DeadLetterQueue', 'Arn'), getAtt('StopQueue', 'Arn')]);
    },
  );

  it.each(FUNCTIONS)('$name has exactly the Glue actions it needs', ({ role, glueActions }) => {
    const actions = statementsOfRole(t, role)
      .flatMap(actionsOf)
      .filter((action) => action.startsWith('glue:'));
    expect(actions.sort()).toEqual([...glueActions].sort());
  });

  it.each(['StopFromAlarmRole', 'StopFromScheduleRole'])(
    '%s has no Glue permission: it hands scopes to the stop queue',
    (role) => {
      const actions = statementsOfRole(t, role).flatMap(actionsOf);
      expect(actions).not.toContain(LIST_ACTION);
      expect(actions).not.toContain(STOP_ACTION);
    },
  );

  it.each(FUNCTIONS.filter((fn) => fn.glueActions.length > 0))(
    '$name reaches Glue only by the ARNs of the allow rules, a foreign catalog included',
    ({ role }) => {
      const own = `${GLUE_ARN_PREFIX}:${THIS_ACCOUNT}`;
      const foreign = `${GLUE_ARN_PREFIX}:111122223333`;
      expect(glueResourceArns(t, role).sort()).toEqual(
        [
          `${own}:catalog`,
          `${own}:database/sales`,
          `${own}:table/sales/*`,
          `${own}:database/marketing`,
          `${own}:table/marketing/campaign_*`,
          `${foreign}:catalog`,
          `${foreign}:database/shared`,
          `${foreign}:table/shared/*`,
        ].sort(),
      );
    },
  );

  it('the default configuration grants its one database, still by ARN', () => {
    const own = `${GLUE_ARN_PREFIX}:${THIS_ACCOUNT}`;
    expect(glueResourceArns(dev.template, 'StopFromQueueRole').sort()).toEqual(
      [`${own}:catalog`, `${own}:database/analytics`, `${own}:table/analytics/*`].sort(),
    );
  });

  it('no role but the function roles has a Glue action', () => {
    const functionRoles: string[] = FUNCTIONS.map(({ role }) => role);
    for (const [id, statements] of identityPolicies(t)) {
      if (functionRoles.includes(id)) continue;
      expect(
        statements.flatMap(actionsOf).filter((action) => action.startsWith('glue:')),
        id,
      ).toEqual([]);
    }
  });
});

describe('outputs', () => {
  it('publish the queues, the table, the rule, the alarm topic and the dashboard', () => {
    expect(t.Outputs).toMatchObject({
      StopQueueUrl: { Value: ref('StopQueue') },
      StopQueueArn: { Value: getAtt('StopQueue', 'Arn') },
      DeadLetterQueueUrl: { Value: ref('DeadLetterQueue') },
      DeadLetterQueueArn: { Value: getAtt('DeadLetterQueue', 'Arn') },
      IdempotencyTableName: { Value: ref('IdempotencyTable') },
      StopEventRuleName: { Value: ref('StopEventRule') },
      AlarmTopicArn: { Value: ref('AlarmTopic') },
      DashboardName: { Value: ref('Dashboard') },
    });
  });
});

describe('deploy/', () => {
  const SETTINGS = {
    service: 'svc',
    stage: 'test',
    eventBusName: 'default',
    retryAttempts: 3,
    maximumEventAgeSeconds: 600,
  };

  /** A configuration file in a temporary folder. */
  const configFile = async (content: unknown): Promise<string> => {
    const dir = await mkdtemp(path.join(tmpdir(), 'glue-mv-stop-config-'));
    const file = path.join(dir, 'stage.json');
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };

  describe('stage-config.ts', () => {
    it('reads config/<stage>.json, or config/default.json when the stage has none', () => {
      expect(path.relative(projectRoot, stageConfig.configFileFor('ci'))).toBe(
        path.join('config', 'ci.json'),
      );
      expect(path.relative(projectRoot, stageConfig.configFileFor('prod'))).toBe(
        path.join('config', 'default.json'),
      );
      expect(() => stageConfig.configFileFor('../ci')).toThrow(/cannot name a configuration file/);
    });

    it('names the file and the field of every problem', async () => {
      const invalidJson = await configFile('{ "allow": [');
      expect(() => stageConfig.loadConfigFile(invalidJson)).toThrow(/stage\.json: not valid JSON/);

      const badName = await configFile({ allow: [{ database: 'a b' }] });
      expect(() => stageConfig.loadConfigFile(badName)).toThrow(
        /stage\.json: allow\.0\.database: must not contain white space/,
      );

      const datesReversed = await configFile({
        allow: [{ database: 'sales' }],
        maintenanceWindows: [
          {
            name: 'w',
            schedule: 'rate(1 day)',
            startDate: '2027-01-02T00:00:00Z',
            endDate: '2027-01-01T00:00:00Z',
            scope: { database: 'sales' },
          },
        ],
      });
      expect(() => stageConfig.loadConfigFile(datesReversed)).toThrow(
        /maintenanceWindows\.0: startDate must be before endDate \(window "w"\)/,
      );

      const variableSyntax = await configFile({
        allow: [{ database: 'sales' }],
        costGuards: [{ alarmName: `cost-\${opt:stage}`, scope: { database: 'sales' } }],
      });
      expect(() => stageConfig.loadConfigFile(variableSyntax)).toThrow(/"\$\{" may not appear/);
    });

    it('STOP_POLICY is runtimePolicyOf(config) as JSON', () => {
      expect(JSON.parse(stageConfig.stopPolicyOf(CI_CONFIG))).toEqual(runtimePolicyOf(CI_CONFIG));
    });

    it.each([
      [20, 3, 1, '5'],
      [10, 5, 1, '1.66'],
      [0.29, 1, 1, '0.14'],
      [1, 2, 1, '0.33'],
      [0.5, 10, 1, '0.1'],
      [1000, 2, 2, '250'],
    ])(
      'Glue budget: %s requests/s over %s queue + %s event instances is %s per instance',
      (rate, queue, event, share) => {
        expect(
          stageConfig.glueRatePerInstance(rate, { maximumConcurrency: queue, eventConcurrency: event }),
        ).toBe(share);
      },
    );

    it('Glue budget: refuses a concurrency that is not a whole number of at least 1, naming the param', () => {
      expect(() => stageConfig.glueRatePerInstance(10, { maximumConcurrency: 0 })).toThrow(
        /maximumConcurrency/,
      );
      expect(() =>
        stageConfig.glueRatePerInstance(10, { maximumConcurrency: 5, eventConcurrency: 'x' }),
      ).toThrow(/eventConcurrency/);
      expect(() => stageConfig.glueRatePerInstance(10, {})).toThrow(/nothing to share/);
    });

    it('estimates deployed values: queue URLs and table names from the template, others generously', () => {
      const resources = {
        Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'svc-ci-stop' } },
        T: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'svc-ci-idempotency' } },
      };
      const context = { resources, region: 'eu-west-1' };
      expect(stageConfig.estimateValueBytes({ Ref: 'Q' }, context)).toBe(
        'https://sqs.eu-west-1.amazonaws.com/123456789012/svc-ci-stop'.length,
      );
      expect(stageConfig.estimateValueBytes({ Ref: 'T' }, context)).toBe('svc-ci-idempotency'.length);
      expect(stageConfig.estimateValueBytes({ 'Fn::GetAtt': ['X', 'Arn'] }, context)).toBe(256);
      expect(stageConfig.estimateValueBytes('ü', context)).toBe(2);
    });

    it('environment size: fails on an oversized configuration, naming the file and STOP_POLICY', () => {
      const oversized = parseStackConfig({
        allow: [{ database: 'sales', tables: Array.from({ length: 200 }, (_, i) => `daily_table_${i}_mv`) }],
      });
      const environment = (config: StackConfig) => ({
        IDEMPOTENCY_TABLE_NAME: 'glue-mv-stop-prod-idempotency',
        STOP_POLICY: stageConfig.stopPolicyOf(config),
      });
      expect(() =>
        stageConfig.checkEnvironmentSize(
          { stopFromQueue: environment(oversized) },
          { configFile: 'config/prod.json' },
        ),
      ).toThrow(/^config\/prod\.json: the environment variables of stopFromQueue .* STOP_POLICY/);
      const bytes = stageConfig.checkEnvironmentSize(
        { stopFromQueue: environment(CI_CONFIG), stopFromEvent: {} },
        { configFile: 'config/ci.json' },
      );
      expect(bytes).toBeGreaterThan(stageConfig.stopPolicyOf(CI_CONFIG).length);
      expect(bytes).toBeLessThan(stageConfig.ENVIRONMENT_BUDGET_BYTES);
    });
  });

  describe('glue-resources.ts', () => {
    it('one catalog, database and table ARN per rule and pattern, de-duplicated', () => {
      const own = `${GLUE_ARN_PREFIX}:${THIS_ACCOUNT}`;
      const other = `${GLUE_ARN_PREFIX}:111122223333`;
      expect(
        deployGlueArns([
          { database: 'sales', tables: ['daily_*', 'weekly_?'] },
          { database: 'sales', tables: ['daily_*'] },
          { catalogId: '111122223333', database: 'hr_*', tables: ['*'] },
        ]).map((arn) => arn['Fn::Sub']),
      ).toEqual([
        `${own}:catalog`,
        `${other}:catalog`,
        `${own}:database/sales`,
        `${other}:database/hr_*`,
        `${own}:table/sales/daily_*`,
        `${own}:table/sales/weekly_?`,
        `${other}:table/hr_*/*`,
      ]);
    });

    it('refuses an empty allow-list', () => {
      expect(() => deployGlueArns([])).toThrow(/allows no database/);
    });

    it("fails, naming the file, when the ARNs would not fit a role's inline policy", () => {
      const tables = Array.from({ length: 150 }, (_, i) => `a_rather_long_materialized_view_name_${i}`);
      expect(() =>
        checkedGlueResourceArns([{ database: 'sales', tables }], { configFile: 'config/prod.json' }),
      ).toThrow(/^config\/prod\.json: the allow rules expand to 152 Glue ARNs/);
      expect(checkedGlueResourceArns(CI_CONFIG.allow)).toHaveLength(8);
    });
  });

  describe('triggers.ts', () => {
    it('nothing without cost guards or enabled windows', () => {
      expect(Object.keys(triggers.ruleResources(DEFAULT_CONFIG, SETTINGS))).toEqual([
        'StopEventRule',
        'StopEventRuleInvokePermission',
      ]);
      const disabled = parseStackConfig({
        allow: [{ database: 'sales' }],
        maintenanceWindows: [
          { name: 'off', schedule: 'rate(1 day)', scope: { database: 'sales' }, enabled: false },
        ],
      });
      expect(triggers.scheduleResources(disabled, SETTINGS)).toEqual({});
      expect(triggers.deadLetterQueueStatementsFor(disabled)).toHaveLength(1);
    });

    it('names each alarm once in the rule pattern', () => {
      const config = parseStackConfig({
        allow: [{ database: 'sales' }],
        costGuards: [{ alarmName: 'a', scope: { database: 'sales' } }],
      });
      const rule = triggers.ruleResources(config, SETTINGS).StopAlarmRule;
      expect(rule?.Properties.EventPattern).toMatchObject({ detail: { alarmName: ['a'] } });
      expect(rule?.Properties.Name).toBe('svc-test-cost-guard-alarms');
    });

    it('refuses retry settings EventBridge and Scheduler would refuse', () => {
      expect(() => triggers.ruleResources(CI_CONFIG, { ...SETTINGS, retryAttempts: 186 })).toThrow(
        /eventRetryAttempts/,
      );
      expect(() =>
        triggers.scheduleResources(CI_CONFIG, { ...SETTINGS, maximumEventAgeSeconds: 59 }),
      ).toThrow(/eventMaximumAgeSeconds/);
      // The same param is the functions' maximumEventAge, which Lambda limits to 6 hours.
      expect(() =>
        triggers.ruleResources(CI_CONFIG, { ...SETTINGS, maximumEventAgeSeconds: 21_601 }),
      ).toThrow(/eventMaximumAgeSeconds must be 60–21600/);
    });

    it('gives windows distinct logical IDs, even when their names differ only in punctuation', () => {
      const ids = triggers.windowLogicalIds(['weekend-maintenance', 'a-b', 'a_b', 'x.1']);
      expect(ids.get('weekend-maintenance')).toBe('WindowWeekendMaintenance');
      expect(ids.get('x.1')).toBe('WindowX1');
      expect(ids.get('a-b')).toMatch(/^WindowAB[0-9a-f]{8}$/);
      expect(ids.get('a_b')).toMatch(/^WindowAB[0-9a-f]{8}$/);
      expect(ids.get('a-b')).not.toBe(ids.get('a_b'));
    });

    it('converts window dates to UTC', () => {
      const config = parseStackConfig({
        allow: [{ database: 'sales' }],
        maintenanceWindows: [
          {
            name: 'w',
            schedule: 'rate(1 day)',
            startDate: '2027-01-01T01:00:00+01:00',
            scope: { database: 'sales' },
          },
        ],
      });
      expect(triggers.scheduleResources(config, SETTINGS).WindowWSchedule?.Properties.StartDate).toBe(
        '2027-01-01T00:00:00Z',
      );
    });

    it('identifies a rule of a custom bus by bus and rule name', () => {
      expect(ruleDimensionsFor('default', 'StopEventRule')).toEqual([
        { Name: 'RuleName', Value: ref('StopEventRule') },
      ]);
      expect(ruleDimensionsFor('orders', 'StopEventRule')).toEqual([
        { Name: 'EventBusName', Value: 'orders' },
        { Name: 'RuleName', Value: ref('StopEventRule') },
      ]);
    });
  });

  it('dashboard.ts: no alarm widget without cost guards', () => {
    const body = dashboardBodyObject({ namespace: 'N', service: 's' });
    expect(body.widgets.map((widget) => widget.type)).not.toContain('alarm');
    // 4 outcome graphs; dead-letter queue, stop queue age, errors; outcome events failed, alarms ignored.
    expect(body.widgets.filter((widget) => widget.type === 'metric')).toHaveLength(9);
  });

  it('visibility timeout is 6 x function timeout + batching window', () => {
    expect(visibilityTimeoutFor({ functionTimeout: 30, maximumBatchingWindow: 1 })).toBe(181);
    expect(() => visibilityTimeoutFor({ functionTimeout: 'x', maximumBatchingWindow: 1 })).toThrow();
  });

  it('alarm e-mail: nothing when empty, refuses what is not an address', () => {
    expect(alarmEmailResources('')).toEqual({});
    expect(alarmEmailResources(undefined)).toEqual({});
    expect(() => alarmEmailResources('not-an-address')).toThrow(/alarmEmail/);
  });
});
