/**
 * The stack's CloudWatch alarms, generated from one table of rows (`alarmRows`). Every alarm notifies the
 * alarm topic (serverless.yml: `AlarmTopic`) on ALARM and on OK, treats missing data as not breaching
 * and, unless its row says otherwise, fires when the sum over 5 minutes is above 0.
 *
 * Rows come from the stack (queues), from the function table (errors, failed on-failure deliveries), from
 * the rules and schedules of the stage (deploy/triggers.ts: undeliverable events), and from the
 * functions' own metrics (metric names imported from src/, where they are counted). A row with several
 * metrics watches their sum (metric math), e.g. one metric of every trigger.
 */
import type { StackConfig } from '../src/policy/stack-config.ts';
import { OUTCOME_EVENTS_FAILED_METRIC } from '../src/runtime/metrics.ts';
import { getAtt, type Json, type JsonObject, type Resources, ref } from './cfn.ts';
import {
  ASYNC_FUNCTIONS,
  FUNCTIONS,
  type FunctionRow,
  functionResourceId,
  lambdaFunctionId,
} from './functions.ts';
import { enabledWindows, rulesFor, SCHEDULE_GROUP, type TriggerSettings } from './triggers.ts';

const ALARM_TOPIC = 'AlarmTopic';
const PERIOD = 300;

export interface Metric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: readonly { readonly Name: string; readonly Value: Json }[];
  /** Shown for the metric in a metric-math alarm. */
  readonly label?: string;
}

export interface AlarmRow {
  readonly logicalId: string;
  /** The alarm's name after `<service>-<stage>-`. */
  readonly name: string;
  readonly description: string;
  /** One metric, or several whose sum is watched. */
  readonly metrics: readonly Metric[];
  readonly statistic?: 'Sum' | 'Maximum';
  readonly period?: number;
  readonly evaluationPeriods?: number;
  readonly threshold?: Json;
}

export interface AlarmSettings extends Pick<TriggerSettings, 'service' | 'stage' | 'eventBusName'> {
  /** The functions' metrics: POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME. */
  readonly namespace: string;
  readonly serviceName: string;
  /** param queueAgeAlarmSeconds. */
  readonly queueAgeAlarmSeconds: Json;
}

const queueMetric = (name: string, queue: string): Metric => ({
  namespace: 'AWS/SQS',
  name,
  dimensions: [{ Name: 'QueueName', Value: getAtt(queue, 'QueueName') }],
});

const functionMetric = (name: string, fn: FunctionRow): Metric => ({
  namespace: 'AWS/Lambda',
  name,
  dimensions: [{ Name: 'FunctionName', Value: ref(lambdaFunctionId(fn)) }],
});

/** A metric the functions count (embedded metric format): Powertools writes `service` and `trigger`. */
export const ownMetric = (
  { namespace, serviceName }: Pick<AlarmSettings, 'namespace' | 'serviceName'>,
  name: string,
  fn: FunctionRow,
): Metric => ({
  namespace,
  name,
  dimensions: [
    { Name: 'service', Value: serviceName },
    { Name: 'trigger', Value: fn.trigger },
  ],
  label: fn.name,
});

/**
 * Dimensions EventBridge reports a rule's metrics with: `RuleName` alone on the default bus,
 * `EventBusName` and `RuleName` on a custom bus.
 */
export const ruleDimensionsFor = (eventBusName: unknown, ruleId: string): Metric['dimensions'] => {
  const bus = String(eventBusName ?? 'default');
  const rule = { Name: 'RuleName', Value: ref(ruleId) };
  return bus === 'default' ? [rule] : [{ Name: 'EventBusName', Value: bus }, rule];
};

const errorsAfter: Record<FunctionRow['invocation'], string> = {
  'event-source': ' (crashes or timeouts, not per-record retries)',
  async: '; Lambda retries them, then sends them to the dead-letter queue',
};

/** Every alarm of the stage, in template order. */
export const alarmRows = (config: StackConfig, settings: AlarmSettings): AlarmRow[] => [
  {
    logicalId: 'DeadLetterQueueNotEmptyAlarm',
    name: 'dead-letter-queue-not-empty',
    description: 'Stop requests are waiting in the dead-letter queue; inspect them, then redrive or delete.',
    metrics: [queueMetric('ApproximateNumberOfMessagesVisible', 'DeadLetterQueue')],
    statistic: 'Maximum',
  },
  {
    logicalId: 'StopQueueOldMessageAlarm',
    name: 'stop-queue-old-message',
    description:
      'The oldest stop request on the stop queue has waited too long; stopFromQueue is failing or throttled.',
    metrics: [queueMetric('ApproximateAgeOfOldestMessage', 'StopQueue')],
    statistic: 'Maximum',
    period: 60,
    evaluationPeriods: 5,
    threshold: settings.queueAgeAlarmSeconds,
  },
  ...FUNCTIONS.map(
    (fn): AlarmRow => ({
      logicalId: functionResourceId(fn, 'ErrorsAlarm'),
      name: `${fn.name}-errors`,
      description: `${fn.name} invocations failed${errorsAfter[fn.invocation]}.`,
      metrics: [functionMetric('Errors', fn)],
    }),
  ),
  // A stop request is lost outright when neither the function nor a dead-letter queue got it.
  ...rulesFor(config, settings).map(
    (rule): AlarmRow => ({
      logicalId: `${rule.logicalId}UndeliveredAlarm`,
      name: rule.undeliveredAlarmName,
      description: `EventBridge could deliver ${rule.carries} neither to ${rule.target} nor to the dead-letter queue.`,
      metrics: [
        {
          namespace: 'AWS/Events',
          name: 'InvocationsFailedToBeSentToDlq',
          dimensions: ruleDimensionsFor(rule.eventBusName, rule.logicalId),
        },
      ],
    }),
  ),
  ...ASYNC_FUNCTIONS.map(
    (fn): AlarmRow => ({
      logicalId: functionResourceId(fn, 'DestinationFailuresAlarm'),
      name: `${fn.name}-destination-failures`,
      description: `Failed ${fn.name} invocations could not be sent to the dead-letter queue.`,
      metrics: [functionMetric('DestinationDeliveryFailures', fn)],
    }),
  ),
  ...(enabledWindows(config).length === 0
    ? []
    : [
        {
          logicalId: 'MaintenanceWindowSchedulesUndeliveredAlarm',
          name: 'maintenance-window-undelivered',
          description:
            'EventBridge Scheduler could deliver maintenance-window invocations neither to stopFromSchedule nor to the dead-letter queue.',
          metrics: [
            {
              namespace: 'AWS/Scheduler',
              name: 'InvocationsFailedToBeSentToDeadLetterCount',
              dimensions: [{ Name: 'ScheduleGroup', Value: ref(SCHEDULE_GROUP) }],
            },
          ],
        },
      ]),
  // src/runtime/stop-runtime.ts counts it when PutEvents failed at the end of an invocation.
  {
    logicalId: 'OutcomeEventsFailedAlarm',
    name: 'outcome-events-failed',
    description:
      'Outcome events could not be published to the bus: the audit trail has a gap (the stops stand). ' +
      'The functions log "outcome events not published" with the error.',
    metrics: FUNCTIONS.map((fn) => ownMetric(settings, OUTCOME_EVENTS_FAILED_METRIC, fn)),
  },
];

/** The alarm's metric properties: one metric and its statistic, or the sum of several (metric math). */
const metricProperties = (row: AlarmRow): JsonObject => {
  const statistic = row.statistic ?? 'Sum';
  const period = row.period ?? PERIOD;
  const [only, ...others] = row.metrics;
  if (!only) throw new Error(`alarm ${row.logicalId} watches no metric`);
  if (others.length === 0) {
    return {
      Namespace: only.namespace,
      MetricName: only.name,
      Dimensions: only.dimensions,
      Statistic: statistic,
      Period: period,
    };
  }
  const ids = row.metrics.map((_, index) => `m${index + 1}`);
  return {
    Metrics: [
      ...row.metrics.map((metric, index) => ({
        Id: ids[index] as string,
        ...(metric.label ? { Label: metric.label } : {}),
        MetricStat: {
          Metric: { Namespace: metric.namespace, MetricName: metric.name, Dimensions: metric.dimensions },
          Period: period,
          Stat: statistic,
        },
        ReturnData: false,
      })),
      { Id: 'total', Label: `${only.name} (sum)`, Expression: `SUM([${ids.join(', ')}])`, ReturnData: true },
    ],
  };
};

/** `AWS::CloudWatch::Alarm` resources for rows. */
export const alarmResources = (
  rows: readonly AlarmRow[],
  settings: Pick<AlarmSettings, 'service' | 'stage'>,
): Resources =>
  Object.fromEntries(
    rows.map((row) => [
      row.logicalId,
      {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: `${settings.service}-${settings.stage}-${row.name}`,
          AlarmDescription: row.description,
          ...metricProperties(row),
          EvaluationPeriods: row.evaluationPeriods ?? 1,
          Threshold: row.threshold ?? 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: [ref(ALARM_TOPIC)],
          OKActions: [ref(ALARM_TOPIC)],
        },
      },
    ]),
  );
