/**
 * The body of the stack's CloudWatch dashboard, generated from one table of panels (`panelsFor`), laid
 * out left to right in rows 24 units wide. Metric names are imported from src/, where they are counted.
 *
 * Panels: outcomes over time, one graph per function (the functions' embedded-metric-format counters in
 * the POWERTOOLS_METRICS_NAMESPACE namespace, dimensions `service` and `trigger`); dead-letter queue depth,
 * age of the oldest stop request, errors of the four functions; outcome events that could not be
 * published and alarm state changes that were ignored, per function; and, when the stage has cost guards,
 * the state of their alarms. The body is JSON inside `Fn::Sub`, so that region, function and queue names
 * are filled in by CloudFormation: no AWS credentials at package time.
 */
import {
  ALARM_IGNORED_METRIC,
  HANDED_ON_METRIC,
  OUTCOME_EVENTS_FAILED_METRIC,
  OUTCOME_METRICS,
  REPLAYED_METRIC,
} from '../src/runtime/metrics.ts';
import { ACCOUNT, type Json, type JsonObject, PARTITION, REGION, subLiteral } from './cfn.ts';
import { FUNCTIONS, type FunctionRow, lambdaFunctionId } from './functions.ts';

/** The outcome graphs: every outcome, plus replays (counted on top of the outcome). */
export const OUTCOME_GRAPH_METRICS: readonly string[] = [
  ...Object.values(OUTCOME_METRICS),
  REPLAYED_METRIC,
  HANDED_ON_METRIC,
];

const WIDTH = 24;
const METRIC_HEIGHT = 6;
const PERIOD = 300;

export interface DashboardSettings {
  /** POWERTOOLS_METRICS_NAMESPACE and POWERTOOLS_SERVICE_NAME. */
  readonly namespace: string;
  readonly service: string;
  readonly costGuardAlarms?: readonly string[];
}

/** A line of a graph: a metric the functions count (for one function), or an AWS metric of a resource. */
export type Line =
  | { readonly metric: string; readonly fn: FunctionRow; readonly label: string }
  | {
      readonly namespace: string;
      readonly metric: string;
      readonly dimension: string;
      /** `Fn::Sub` reference to the dimension's value: `DeadLetterQueue.QueueName`, a function's ID. */
      readonly of: string;
      readonly label: string;
    };

export type Panel =
  | { readonly kind: 'text'; readonly width: number; readonly height: number; readonly markdown: string }
  | {
      readonly kind: 'graph';
      readonly title: string;
      readonly width: number;
      readonly stat: 'Sum' | 'Maximum';
      readonly stacked?: boolean;
      readonly lines: readonly Line[];
    }
  | { readonly kind: 'alarms'; readonly title: string; readonly alarmNames: readonly string[] };

/** One line per function of a metric every function counts. */
const perFunction = (metric: string): Line[] => FUNCTIONS.map((fn) => ({ metric, fn, label: fn.name }));

/** The dashboard's panels, in reading order. */
export const panelsFor = ({ namespace, service, costGuardAlarms = [] }: DashboardSettings): Panel[] => [
  {
    kind: 'text',
    width: WIDTH,
    height: 2,
    markdown:
      `## ${subLiteral(service)}: stop outcomes\n` +
      `Counts per 5 minutes from the functions' metrics (namespace \`${subLiteral(namespace)}\`), ` +
      'one graph per trigger. `NotAllowed`, `Rejected` and `Retried` deserve a look; ' +
      '`Replayed` counts redeliveries answered from the idempotency table; `HandedOn` stop tasks sent back ' +
      'unstarted for an instance with Glue budget to spare.',
  },
  ...FUNCTIONS.map(
    (fn): Panel => ({
      kind: 'graph',
      title: `Outcomes: ${fn.source} (${fn.name})`,
      width: 12,
      stat: 'Sum',
      stacked: true,
      lines: OUTCOME_GRAPH_METRICS.map((metric) => ({ metric, fn, label: metric })),
    }),
  ),
  {
    kind: 'graph',
    title: 'Dead-letter queue depth',
    width: 8,
    stat: 'Maximum',
    lines: [
      {
        namespace: 'AWS/SQS',
        metric: 'ApproximateNumberOfMessagesVisible',
        dimension: 'QueueName',
        of: 'DeadLetterQueue.QueueName',
        label: 'messages',
      },
    ],
  },
  {
    kind: 'graph',
    title: 'Stop queue: age of the oldest request (s)',
    width: 8,
    stat: 'Maximum',
    lines: [
      {
        namespace: 'AWS/SQS',
        metric: 'ApproximateAgeOfOldestMessage',
        dimension: 'QueueName',
        of: 'StopQueue.QueueName',
        label: 'oldest message',
      },
    ],
  },
  {
    kind: 'graph',
    title: 'Function errors',
    width: 8,
    stat: 'Sum',
    lines: FUNCTIONS.map((fn) => ({
      namespace: 'AWS/Lambda',
      metric: 'Errors',
      dimension: 'FunctionName',
      of: lambdaFunctionId(fn),
      label: fn.name,
    })),
  },
  {
    // The audit trail has a gap; the stops stand (alarm OutcomeEventsFailedAlarm).
    kind: 'graph',
    title: `Outcome events not published (${OUTCOME_EVENTS_FAILED_METRIC})`,
    width: 12,
    stat: 'Sum',
    lines: perFunction(OUTCOME_EVENTS_FAILED_METRIC),
  },
  {
    // Cost-guard alarm changes that are not a transition into ALARM (also redriven through the queue).
    kind: 'graph',
    title: `Alarm state changes ignored (${ALARM_IGNORED_METRIC})`,
    width: 12,
    stat: 'Sum',
    lines: perFunction(ALARM_IGNORED_METRIC),
  },
  ...(costGuardAlarms.length === 0
    ? []
    : [
        {
          kind: 'alarms' as const,
          title: 'Cost-guard alarms (a transition to ALARM stops their scope)',
          alarmNames: costGuardAlarms,
        },
      ]),
];

const metricLine = (line: Line, { namespace, service }: DashboardSettings): Json[] =>
  'fn' in line
    ? [
        subLiteral(namespace),
        line.metric,
        'service',
        subLiteral(service),
        'trigger',
        line.fn.trigger,
        { label: line.label },
      ]
    : [line.namespace, line.metric, line.dimension, `\${${line.of}}`, { label: line.label }];

/** A panel as a widget, without its position. */
interface Sized {
  readonly type: string;
  readonly width: number;
  readonly height: number;
  readonly properties: JsonObject;
}

const sized = (panel: Panel, settings: DashboardSettings): Sized => {
  switch (panel.kind) {
    case 'text':
      return {
        type: 'text',
        width: panel.width,
        height: panel.height,
        properties: { markdown: panel.markdown },
      };
    case 'graph':
      return {
        type: 'metric',
        width: panel.width,
        height: METRIC_HEIGHT,
        properties: {
          title: panel.title,
          region: REGION,
          view: 'timeSeries',
          period: PERIOD,
          metrics: panel.lines.map((line) => metricLine(line, settings)),
          stat: panel.stat,
          ...(panel.stacked ? { stacked: true } : {}),
        },
      };
    case 'alarms':
      return {
        type: 'alarm',
        width: WIDTH,
        height: 3,
        properties: {
          title: panel.title,
          alarms: panel.alarmNames.map(
            (name) => `arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:${subLiteral(name)}`,
          ),
        },
      };
  }
};

/** The dashboard as an object (CloudWatch dashboard body structure), with `${...}` references for `Fn::Sub`. */
export const dashboardBodyObject = (settings: DashboardSettings): { widgets: JsonObject[] } => {
  const widgets: JsonObject[] = [];
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  for (const panel of panelsFor(settings)) {
    const { type, width, height, properties } = sized(panel, settings);
    if (x + width > WIDTH) {
      y += rowHeight;
      x = 0;
      rowHeight = 0;
    }
    widgets.push({ type, x, y, width, height, properties });
    x += width;
    rowHeight = Math.max(rowHeight, height);
  }
  return { widgets };
};

/** The `DashboardBody` value: `{ "Fn::Sub": "<JSON>" }`. */
export const dashboardBody = (settings: DashboardSettings): JsonObject => ({
  'Fn::Sub': JSON.stringify(dashboardBodyObject(settings)),
});
