'use strict';
/**
 * Variable resolver for serverless.yml: the triggers the stage's configuration declares.
 *
 *   resources:
 *     - ${file(./deploy/triggers.cjs):resources}
 *   DeadLetterQueuePolicy … Statement: ${file(./deploy/triggers.cjs):deadLetterQueueStatements}
 *   StopEventRuleUndeliveredAlarm … Dimensions: ${file(./deploy/triggers.cjs):stopEventRuleDimensions}
 *
 * - Cost guards (`costGuards`): one EventBridge rule on the default bus (CloudWatch publishes alarm state
 *   changes there) matching every state change of the configured alarms, targeting stopFromAlarm with a
 *   retry policy and the dead-letter queue, plus its invoke permission and an alarm on undeliverable
 *   events. Nothing when there is no cost guard.
 * - Maintenance windows (`maintenanceWindows`, enabled ones): a schedule group for the stage, and per
 *   window an `AWS::Scheduler::Schedule` invoking stopFromSchedule with its own execution role, retry
 *   policy and the dead-letter queue; plus an alarm on schedule invocations that reached neither the
 *   function nor the dead-letter queue. Nothing when there is no enabled window.
 * Deciding at package time keeps the template free of conditions whose value is fixed anyway.
 */
const { createHash } = require('node:crypto');
// The schedule's Input comes from the module stopFromSchedule reads it with: the two cannot drift apart.
const { schedulePayloadTemplate } = require('../src/policy/schedule-payload.ts');
const { stageConfigOf } = require('./stage-config.cjs');

const getAtt = (logicalId, attribute) => ({ 'Fn::GetAtt': [logicalId, attribute] });
const ref = (logicalId) => ({ Ref: logicalId });
const sub = (text) => ({ 'Fn::Sub': text });

const ALARM_RULE = 'StopAlarmRule';
const SCHEDULE_GROUP = 'MaintenanceWindowScheduleGroup';
const STOP_FROM_ALARM = 'StopFromAlarmLambdaFunction';
const STOP_FROM_SCHEDULE = 'StopFromScheduleLambdaFunction';
const DEAD_LETTER_QUEUE = 'DeadLetterQueue';
const ALARM_TOPIC = 'AlarmTopic';

/** Settings that come from the stage params and names rather than from the configuration. */
function checkSettings({ service, stage, retryAttempts, maximumEventAgeSeconds }) {
  if (!service || !stage) throw new Error('service and stage names are required');
  const attempts = Number(retryAttempts);
  const age = Number(maximumEventAgeSeconds);
  if (!Number.isInteger(attempts) || attempts < 0 || attempts > 185) {
    throw new Error(`param eventRetryAttempts must be 0–185, got "${retryAttempts}"`);
  }
  if (!Number.isInteger(age) || age < 60 || age > 86_400) {
    throw new Error(`param eventMaximumAgeSeconds must be 60–86400 seconds, got "${maximumEventAgeSeconds}"`);
  }
  return { attempts, age };
}

/** An alarm that notifies the alarm topic when a sum over 5 minutes is above 0. */
function anyInFiveMinutesAlarm({ name, description, namespace, metric, dimensions }) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      AlarmName: name,
      AlarmDescription: description,
      Namespace: namespace,
      MetricName: metric,
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(ALARM_TOPIC)],
      OKActions: [ref(ALARM_TOPIC)],
    },
  };
}

/** The distinct alarm names of the cost guards, in configuration order. */
const costGuardAlarmNames = (config) => [...new Set(config.costGuards.map((guard) => guard.alarmName))];

/** The cost-guard rule, its invoke permission and its delivery alarm; `{}` without cost guards. */
function alarmRuleResources(config, settings) {
  const alarmNames = costGuardAlarmNames(config);
  if (alarmNames.length === 0) return {};
  const { attempts, age } = checkSettings(settings);
  const prefix = `${settings.service}-${settings.stage}`;
  return {
    [ALARM_RULE]: {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: `${prefix}-cost-guard-alarms`,
        Description:
          'State changes of the cost-guard alarms in the stage configuration; stopFromAlarm decides',
        // CloudWatch sends alarm state changes to the account's default bus only.
        EventBusName: 'default',
        State: 'ENABLED',
        EventPattern: {
          source: ['aws.cloudwatch'],
          'detail-type': ['CloudWatch Alarm State Change'],
          detail: { alarmName: alarmNames },
        },
        Targets: [
          {
            Id: 'stopFromAlarm',
            Arn: getAtt(STOP_FROM_ALARM, 'Arn'),
            RetryPolicy: { MaximumRetryAttempts: attempts, MaximumEventAgeInSeconds: age },
            DeadLetterConfig: { Arn: getAtt(DEAD_LETTER_QUEUE, 'Arn') },
          },
        ],
      },
    },
    [`${ALARM_RULE}InvokePermission`]: {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt(STOP_FROM_ALARM, 'Arn'),
        Principal: 'events.amazonaws.com',
        SourceAccount: ref('AWS::AccountId'),
        SourceArn: getAtt(ALARM_RULE, 'Arn'),
      },
    },
    [`${ALARM_RULE}UndeliveredAlarm`]: anyInFiveMinutesAlarm({
      name: `${prefix}-cost-guard-alarm-event-undelivered`,
      description:
        'EventBridge could deliver cost-guard alarm events neither to stopFromAlarm nor to the dead-letter queue.',
      namespace: 'AWS/Events',
      metric: 'InvocationsFailedToBeSentToDlq',
      dimensions: [{ Name: 'RuleName', Value: ref(ALARM_RULE) }],
    }),
  };
}

/**
 * CloudFormation logical IDs for the windows: `Window<PascalCaseName>`, with a short hash of the name
 * appended when two names would otherwise give the same ID (`a-b` and `a_b`).
 * @returns {Map<string, string>} window name → logical ID prefix
 */
function windowLogicalIds(names) {
  const pascal = (name) =>
    `Window${name
      .split(/[^A-Za-z0-9]+/u)
      .filter(Boolean)
      .map((part) => part[0].toUpperCase() + part.slice(1))
      .join('')}`;
  const counts = new Map();
  for (const name of names) counts.set(pascal(name), (counts.get(pascal(name)) ?? 0) + 1);
  return new Map(
    names.map((name) => {
      const id = pascal(name);
      if (counts.get(id) === 1) return [name, id];
      return [name, `${id}${createHash('sha256').update(name).digest('hex').slice(0, 8)}`];
    }),
  );
}

/** `2026-12-31T01:00:00+01:00` → `2026-12-31T00:00:00Z`: Scheduler takes the dates in UTC. */
const utc = (date) => new Date(date).toISOString().replace('.000Z', 'Z');

const enabledWindows = (config) => config.maintenanceWindows.filter((window) => window.enabled !== false);

/** The schedule group, each window's schedule and role, and the delivery alarm; `{}` without windows. */
function scheduleResources(config, settings) {
  const windows = enabledWindows(config);
  if (windows.length === 0) return {};
  const { attempts, age } = checkSettings(settings);
  const group = `${settings.service}-${settings.stage}`;
  const groupArn = sub(
    `arn:\${AWS::Partition}:scheduler:\${AWS::Region}:\${AWS::AccountId}:schedule-group/${group}`,
  );
  const ids = windowLogicalIds(windows.map((window) => window.name));
  const resources = {
    [SCHEDULE_GROUP]: {
      Type: 'AWS::Scheduler::ScheduleGroup',
      Properties: { Name: group },
    },
  };
  for (const window of windows) {
    const id = ids.get(window.name);
    const roleId = `${id}ScheduleRole`;
    resources[roleId] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `glue-mv-stop maintenance window ${window.name}: schedule execution role`,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'scheduler.amazonaws.com' },
              Action: 'sts:AssumeRole',
              // Scheduler presents the schedule group as the source: only this stage's schedules.
              Condition: {
                StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
                ArnEquals: { 'aws:SourceArn': groupArn },
              },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'invoke-stop-from-schedule',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                {
                  Sid: 'InvokeStopFromSchedule',
                  Effect: 'Allow',
                  Action: 'lambda:InvokeFunction',
                  Resource: getAtt(STOP_FROM_SCHEDULE, 'Arn'),
                },
                // Scheduler sends to the schedule's dead-letter queue with the execution role.
                {
                  Sid: 'DeadLetters',
                  Effect: 'Allow',
                  Action: 'sqs:SendMessage',
                  Resource: getAtt(DEAD_LETTER_QUEUE, 'Arn'),
                },
              ],
            },
          },
        ],
      },
    };
    resources[`${id}Schedule`] = {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: window.name,
        GroupName: ref(SCHEDULE_GROUP),
        Description: `glue-mv-stop maintenance window ${window.name}: stops refreshes in ${scopeText(window.scope)}`,
        ScheduleExpression: window.schedule,
        ScheduleExpressionTimezone: window.timezone ?? 'UTC',
        ...(window.startDate ? { StartDate: utc(window.startDate) } : {}),
        ...(window.endDate ? { EndDate: utc(window.endDate) } : {}),
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: getAtt(STOP_FROM_SCHEDULE, 'Arn'),
          RoleArn: getAtt(roleId, 'Arn'),
          // JSON with Scheduler context placeholders (<aws.scheduler.scheduled-time>, …).
          Input: schedulePayloadTemplate(window),
          RetryPolicy: { MaximumRetryAttempts: attempts, MaximumEventAgeInSeconds: age },
          DeadLetterConfig: { Arn: getAtt(DEAD_LETTER_QUEUE, 'Arn') },
        },
      },
    };
  }
  resources.MaintenanceWindowSchedulesUndeliveredAlarm = anyInFiveMinutesAlarm({
    name: `${group}-maintenance-window-undelivered`,
    description:
      'EventBridge Scheduler could deliver maintenance-window invocations neither to stopFromSchedule nor to the dead-letter queue.',
    namespace: 'AWS/Scheduler',
    metric: 'InvocationsFailedToBeSentToDeadLetterCount',
    dimensions: [{ Name: 'ScheduleGroup', Value: ref(SCHEDULE_GROUP) }],
  });
  return resources;
}

/** `sales/*`, `111122223333:shared/{a,b}`: for descriptions. */
function scopeText(scope) {
  const tables = scope.tables ?? ['*'];
  const list = tables.length === 1 ? tables[0] : `{${tables.join(',')}}`;
  return `${scope.catalogId ? `${scope.catalogId}:` : ''}${scope.database}/${list}`.slice(0, 300);
}

/**
 * The dead-letter queue's policy statements: the EventBridge rules that target a function may park
 * undeliverable events (the stop rule, and the cost-guard rule when there is one); with windows, the
 * stage's schedules too. (Scheduler sends dead letters with the schedule's execution role, which has its
 * own permission; the statement keeps delivery working should it send as the service.)
 */
function deadLetterQueueStatementsFor(config) {
  const ruleArns = [getAtt('StopEventRule', 'Arn')];
  if (costGuardAlarmNames(config).length > 0) ruleArns.push(getAtt(ALARM_RULE, 'Arn'));
  const statements = [
    {
      Sid: 'EventRuleDeadLetters',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt(DEAD_LETTER_QUEUE, 'Arn'),
      Condition: { ArnEquals: { 'aws:SourceArn': ruleArns.length === 1 ? ruleArns[0] : ruleArns } },
    },
  ];
  if (enabledWindows(config).length > 0) {
    statements.push({
      Sid: 'MaintenanceWindowDeadLetters',
      Effect: 'Allow',
      Principal: { Service: 'scheduler.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt(DEAD_LETTER_QUEUE, 'Arn'),
      Condition: {
        StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
        ArnEquals: { 'aws:SourceArn': getAtt(SCHEDULE_GROUP, 'Arn') },
      },
    });
  }
  return statements;
}

/**
 * Dimensions of the stop rule's delivery alarm: EventBridge reports rules of the default bus by
 * `RuleName` alone and rules of a custom bus by `EventBusName` and `RuleName`.
 */
function stopEventRuleDimensionsFor(eventBusName) {
  const bus = String(eventBusName ?? 'default');
  const rule = { Name: 'RuleName', Value: ref('StopEventRule') };
  return bus === 'default' ? [rule] : [{ Name: 'EventBusName', Value: bus }, rule];
}

async function settingsOf(resolveVariable) {
  return {
    service: await resolveVariable('self:service'),
    stage: await resolveVariable('sls:stage'),
    retryAttempts: await resolveVariable('param:eventRetryAttempts'),
    maximumEventAgeSeconds: await resolveVariable('param:eventMaximumAgeSeconds'),
  };
}

module.exports = {
  costGuardAlarmNames,
  alarmRuleResources,
  windowLogicalIds,
  scheduleResources,
  deadLetterQueueStatementsFor,
  stopEventRuleDimensionsFor,

  /** Serverless variable source: `${file(./deploy/triggers.cjs):resources}`. */
  resources: async ({ resolveVariable }) => {
    const { config } = await stageConfigOf(resolveVariable);
    const settings = await settingsOf(resolveVariable);
    const resources = { ...alarmRuleResources(config, settings), ...scheduleResources(config, settings) };
    return Object.keys(resources).length === 0 ? {} : { Resources: resources };
  },

  /** Serverless variable source: `${file(./deploy/triggers.cjs):deadLetterQueueStatements}`. */
  deadLetterQueueStatements: async ({ resolveVariable }) =>
    deadLetterQueueStatementsFor((await stageConfigOf(resolveVariable)).config),

  /** Serverless variable source: `${file(./deploy/triggers.cjs):stopEventRuleDimensions}`. */
  stopEventRuleDimensions: async ({ resolveVariable }) =>
    stopEventRuleDimensionsFor(await resolveVariable('param:eventBusName')),
};
