/**
 * The triggers of the asynchronously invoked functions: EventBridge rules (one table, `rulesFor`) and
 * EventBridge Scheduler schedules (one per enabled maintenance window of the stage configuration).
 *
 * - Rules: the stop rule (always), on the `eventBusName` bus, matching stop events for stopFromEvent;
 *   the cost-guard rule (only with `costGuards`), on the default bus (CloudWatch publishes alarm state
 *   changes there), matching every state change of the configured alarms for stopFromAlarm. Each rule
 *   targets its function with the stage's retry policy and the dead-letter queue, and gets an invoke
 *   permission for exactly that rule. (Its delivery alarm is a row of deploy/alarms.ts.)
 * - Schedules (only with enabled `maintenanceWindows`): a schedule group for the stage, and per window an
 *   `AWS::Scheduler::Schedule` invoking stopFromSchedule with its own execution role, the retry policy and
 *   the dead-letter queue.
 * - The dead-letter queue's policy statements: which rules and schedules may park undeliverable events.
 * Deciding at package time keeps the template free of conditions whose value is fixed anyway. Plain rules
 * rather than osls `eventBridge` events: docs/deployment.md says why.
 */
import { createHash } from 'node:crypto';
import { ALARM_EVENT_DETAIL_TYPE, ALARM_EVENT_SOURCE } from '../src/policy/cost-guard.ts';
// The schedule's Input comes from the module stopFromSchedule reads it with: the two cannot drift apart.
import { schedulePayloadTemplate } from '../src/policy/schedule-payload.ts';
import type { MaintenanceWindow, Scope, StackConfig } from '../src/policy/stack-config.ts';
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../src/request/events.ts';
import {
  ACCOUNT,
  assumedBy,
  getAtt,
  type Json,
  type JsonObject,
  PARTITION,
  policyDocument,
  REGION,
  type Resources,
  ref,
  type Statement,
  sub,
} from './cfn.ts';
import { type FunctionName, functionNamed, lambdaFunctionId } from './functions.ts';

const DEAD_LETTER_QUEUE = 'DeadLetterQueue';
export const SCHEDULE_GROUP = 'MaintenanceWindowScheduleGroup';

/** Settings that come from the stage params and names rather than from the configuration. */
export interface TriggerSettings {
  readonly service: string;
  readonly stage: string;
  readonly eventBusName: string;
  readonly retryAttempts: unknown;
  readonly maximumEventAgeSeconds: unknown;
}

/**
 * The retry policy of every rule target and schedule. The age is also the async invoke config's
 * `maximumEventAge` (serverless.yml), whose Lambda limit, 21600 s, is lower than EventBridge's.
 */
export const retryPolicyOf = ({ retryAttempts, maximumEventAgeSeconds }: TriggerSettings): JsonObject => {
  const attempts = Number(retryAttempts);
  const age = Number(maximumEventAgeSeconds);
  if (!Number.isInteger(attempts) || attempts < 0 || attempts > 185) {
    throw new Error(`param eventRetryAttempts must be 0–185, got "${String(retryAttempts)}"`);
  }
  if (!Number.isInteger(age) || age < 60 || age > 21_600) {
    throw new Error(
      `param eventMaximumAgeSeconds must be 60–21600 seconds, got "${String(maximumEventAgeSeconds)}"`,
    );
  }
  return { MaximumRetryAttempts: attempts, MaximumEventAgeInSeconds: age };
};

const prefixOf = ({ service, stage }: TriggerSettings): string => {
  if (!service || !stage) throw new Error('service and stage names are required');
  return `${service}-${stage}`;
};

export interface RuleRow {
  readonly logicalId: string;
  /** The rule's name after `<service>-<stage>-`. */
  readonly name: string;
  readonly description: string;
  readonly eventBusName: string;
  readonly pattern: JsonObject;
  readonly target: FunctionName;
  /** For its delivery alarm: what the rule carries, and the alarm's name after `<service>-<stage>-`. */
  readonly carries: string;
  readonly undeliveredAlarmName: string;
}

/** The distinct alarm names of the cost guards, in configuration order. */
export const costGuardAlarmNames = (config: StackConfig): string[] => [
  ...new Set(config.costGuards.map((guard) => guard.alarmName)),
];

/** The stage's rules: the stop rule, and the cost-guard rule when there are cost guards. */
export const rulesFor = (
  config: StackConfig,
  { eventBusName }: Pick<TriggerSettings, 'eventBusName'>,
): RuleRow[] => {
  const alarmNames = costGuardAlarmNames(config);
  return [
    {
      logicalId: 'StopEventRule',
      name: 'stop-event',
      description: 'Stop requests for Glue materialized-view refresh task runs',
      eventBusName: String(eventBusName),
      pattern: { source: [STOP_EVENT_SOURCE], 'detail-type': [STOP_EVENT_DETAIL_TYPE] },
      target: 'stopFromEvent',
      carries: 'stop events',
      undeliveredAlarmName: 'stop-event-undelivered',
    },
    ...(alarmNames.length === 0
      ? []
      : [
          {
            logicalId: 'StopAlarmRule',
            name: 'cost-guard-alarms',
            description:
              'State changes of the cost-guard alarms in the stage configuration; stopFromAlarm decides',
            // CloudWatch sends alarm state changes to the account's default bus only.
            eventBusName: 'default',
            pattern: {
              source: [ALARM_EVENT_SOURCE],
              'detail-type': [ALARM_EVENT_DETAIL_TYPE],
              detail: { alarmName: alarmNames },
            },
            target: 'stopFromAlarm' as const,
            carries: 'cost-guard alarm events',
            undeliveredAlarmName: 'cost-guard-alarm-event-undelivered',
          },
        ]),
  ];
};

/** Each rule and its invoke permission. */
export const ruleResources = (config: StackConfig, settings: TriggerSettings): Resources => {
  const prefix = prefixOf(settings);
  const retryPolicy = retryPolicyOf(settings);
  const resources: Resources = {};
  for (const rule of rulesFor(config, settings)) {
    const target = getAtt(lambdaFunctionId(functionNamed(rule.target)), 'Arn');
    resources[rule.logicalId] = {
      Type: 'AWS::Events::Rule',
      Properties: {
        Name: `${prefix}-${rule.name}`,
        Description: rule.description,
        EventBusName: rule.eventBusName,
        State: 'ENABLED',
        EventPattern: rule.pattern,
        Targets: [
          {
            Id: rule.target,
            Arn: target,
            RetryPolicy: retryPolicy,
            DeadLetterConfig: { Arn: getAtt(DEAD_LETTER_QUEUE, 'Arn') },
          },
        ],
      },
    };
    resources[`${rule.logicalId}InvokePermission`] = {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: target,
        Principal: 'events.amazonaws.com',
        SourceAccount: ref('AWS::AccountId'),
        SourceArn: getAtt(rule.logicalId, 'Arn'),
      },
    };
  }
  return resources;
};

/**
 * CloudFormation logical IDs for the windows: `Window<PascalCaseName>`, with a short hash of the name
 * appended when two names would otherwise give the same ID (`a-b` and `a_b`).
 * @returns window name → logical ID prefix
 */
export const windowLogicalIds = (names: readonly string[]): Map<string, string> => {
  const pascal = (name: string): string =>
    `Window${name
      .split(/[^A-Za-z0-9]+/u)
      .filter(Boolean)
      .map((part) => `${part.charAt(0).toUpperCase()}${part.slice(1)}`)
      .join('')}`;
  const counts = new Map<string, number>();
  for (const name of names) counts.set(pascal(name), (counts.get(pascal(name)) ?? 0) + 1);
  return new Map(
    names.map((name) => {
      const id = pascal(name);
      if (counts.get(id) === 1) return [name, id];
      return [name, `${id}${createHash('sha256').update(name).digest('hex').slice(0, 8)}`];
    }),
  );
};

/** `2026-12-31T01:00:00+01:00` → `2026-12-31T00:00:00Z`: Scheduler takes the dates in UTC. */
const utc = (date: string): string => new Date(date).toISOString().replace('.000Z', 'Z');

export const enabledWindows = (config: StackConfig): MaintenanceWindow[] =>
  config.maintenanceWindows.filter((window) => window.enabled !== false);

/** `sales/*`, `111122223333:shared/{a,b}`: for descriptions. */
const scopeText = (scope: Scope): string => {
  const tables = scope.tables ?? ['*'];
  const list = tables.length === 1 ? tables[0] : `{${tables.join(',')}}`;
  return `${scope.catalogId ? `${scope.catalogId}:` : ''}${scope.database}/${list}`.slice(0, 300);
};

/** The schedule group, and each enabled window's schedule and role; `{}` without windows. */
export const scheduleResources = (config: StackConfig, settings: TriggerSettings): Resources => {
  const windows = enabledWindows(config);
  if (windows.length === 0) return {};
  const retryPolicy = retryPolicyOf(settings);
  const group = prefixOf(settings);
  const groupArn = sub(`arn:${PARTITION}:scheduler:${REGION}:${ACCOUNT}:schedule-group/${group}`);
  const stopFromSchedule = getAtt(lambdaFunctionId(functionNamed('stopFromSchedule')), 'Arn');
  const ids = windowLogicalIds(windows.map((window) => window.name));
  const resources: Resources = {
    [SCHEDULE_GROUP]: { Type: 'AWS::Scheduler::ScheduleGroup', Properties: { Name: group } },
  };
  for (const window of windows) {
    const id = ids.get(window.name) as string;
    const scheduleRole = `${id}ScheduleRole`;
    const statements: Statement[] = [
      {
        Sid: 'InvokeStopFromSchedule',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: stopFromSchedule,
      },
      // Scheduler sends to the schedule's dead-letter queue with the execution role.
      {
        Sid: 'DeadLetters',
        Effect: 'Allow',
        Action: 'sqs:SendMessage',
        Resource: getAtt(DEAD_LETTER_QUEUE, 'Arn'),
      },
    ];
    resources[scheduleRole] = {
      Type: 'AWS::IAM::Role',
      Properties: {
        Description: `${settings.service} maintenance window ${window.name}: schedule execution role`,
        // Scheduler presents the schedule group as the source: only this stage's schedules.
        AssumeRolePolicyDocument: assumedBy('scheduler.amazonaws.com', {
          StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') },
          ArnEquals: { 'aws:SourceArn': groupArn },
        }),
        Policies: [{ PolicyName: 'invoke-stop-from-schedule', PolicyDocument: policyDocument(statements) }],
      },
    };
    resources[`${id}Schedule`] = {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        Name: window.name,
        GroupName: ref(SCHEDULE_GROUP),
        Description: `${settings.service} maintenance window ${window.name}: stops refreshes in ${scopeText(window.scope)}`,
        ScheduleExpression: window.schedule,
        ScheduleExpressionTimezone: window.timezone ?? 'UTC',
        ...(window.startDate ? { StartDate: utc(window.startDate) } : {}),
        ...(window.endDate ? { EndDate: utc(window.endDate) } : {}),
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'ENABLED',
        Target: {
          Arn: stopFromSchedule,
          RoleArn: getAtt(scheduleRole, 'Arn'),
          // JSON with Scheduler context placeholders (<aws.scheduler.scheduled-time>, …).
          Input: schedulePayloadTemplate(window),
          RetryPolicy: retryPolicy,
          DeadLetterConfig: { Arn: getAtt(DEAD_LETTER_QUEUE, 'Arn') },
        },
      },
    };
  }
  return resources;
};

/** Every rule and schedule of the stage, with their permissions and roles. */
export const triggerResources = (config: StackConfig, settings: TriggerSettings): Resources => ({
  ...ruleResources(config, settings),
  ...scheduleResources(config, settings),
});

/**
 * The dead-letter queue's policy statements: the rules may park undeliverable events (each rule by its
 * ARN); with windows, the stage's schedules too. (Scheduler sends dead letters with the schedule's
 * execution role, which has its own permission; the statement keeps delivery working should it send as
 * the service.)
 */
export const deadLetterQueueStatementsFor = (
  config: StackConfig,
  settings: Pick<TriggerSettings, 'eventBusName'> = { eventBusName: 'default' },
): Statement[] => {
  const ruleArns: Json[] = rulesFor(config, settings).map((rule) => getAtt(rule.logicalId, 'Arn'));
  const statements: Statement[] = [
    {
      Sid: 'EventRuleDeadLetters',
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt(DEAD_LETTER_QUEUE, 'Arn'),
      Condition: { ArnEquals: { 'aws:SourceArn': ruleArns.length === 1 ? (ruleArns[0] as Json) : ruleArns } },
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
};
