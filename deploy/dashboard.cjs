'use strict';
/**
 * Variable resolver for serverless.yml: the body of the stack's CloudWatch dashboard.
 *
 *   Dashboard … DashboardBody: ${file(./deploy/dashboard.cjs):body}
 *
 * Rows: outcomes over time, one graph per trigger (the functions' embedded-metric-format counters in
 * the POWERTOOLS_METRICS_NAMESPACE namespace, dimensions `service` and `trigger`); then dead-letter queue
 * depth, age of the oldest stop request, and errors of the four functions; then, when the stage has cost
 * guards, the state of their alarms. The body is JSON inside `Fn::Sub`, so that region, function and
 * queue names are filled in by CloudFormation: no AWS credentials at package time.
 */
const { stageConfigOf } = require('./stage-config.cjs');

/** Every metric the functions count per outcome (src/adapters/outcome-reporter.ts), plus replays. */
const OUTCOME_METRICS = [
  'StopRequested',
  'AlreadyStopping',
  'NotRunning',
  'Skipped',
  'DryRun',
  'Expanded',
  'NotAllowed',
  'Rejected',
  'Retried',
  'Replayed',
];

/** The `trigger` dimension values, with the function each one belongs to. */
const TRIGGERS = [
  { trigger: 'sqs', title: 'stop queue (stopFromQueue)' },
  { trigger: 'eventbridge', title: 'stop events (stopFromEvent)' },
  { trigger: 'alarm', title: 'cost guards (stopFromAlarm)' },
  { trigger: 'schedule', title: 'maintenance windows (stopFromSchedule)' },
];

/** Logical IDs of the functions (their `Ref` is the function name). */
const FUNCTIONS = [
  { label: 'stopFromQueue', logicalId: 'StopFromQueueLambdaFunction' },
  { label: 'stopFromEvent', logicalId: 'StopFromEventLambdaFunction' },
  { label: 'stopFromAlarm', logicalId: 'StopFromAlarmLambdaFunction' },
  { label: 'stopFromSchedule', logicalId: 'StopFromScheduleLambdaFunction' },
];

const REGION = `\${AWS::Region}`;
const PERIOD = 300;

/** Text that `Fn::Sub` must keep as it is: `${` would start a reference, `${!` is its escape. */
const subLiteral = (text) => String(text).replaceAll('${', '${!');

const metricWidget = (x, y, width, title, metrics, properties = {}) => ({
  type: 'metric',
  x,
  y,
  width,
  height: 6,
  properties: { title, region: REGION, view: 'timeSeries', period: PERIOD, metrics, ...properties },
});

/**
 * The dashboard as an object (CloudWatch dashboard body structure), with `${...}` references for
 * `Fn::Sub`.
 * @param {{ namespace: string, service: string, costGuardAlarms?: readonly string[] }} settings
 */
function dashboardBodyObject({ namespace, service, costGuardAlarms = [] }) {
  const widgets = [
    {
      type: 'text',
      x: 0,
      y: 0,
      width: 24,
      height: 2,
      properties: {
        markdown:
          `## ${subLiteral(service)}: stop outcomes\n` +
          `Counts per 5 minutes from the functions' metrics (namespace \`${subLiteral(namespace)}\`), ` +
          'one graph per trigger. `NotAllowed`, `Rejected` and `Retried` deserve a look; ' +
          '`Replayed` counts redeliveries answered from the idempotency table.',
      },
    },
  ];
  TRIGGERS.forEach(({ trigger, title }, index) => {
    const metrics = OUTCOME_METRICS.map((metric) => [
      subLiteral(namespace),
      metric,
      'service',
      subLiteral(service),
      'trigger',
      trigger,
      { label: metric },
    ]);
    widgets.push(
      metricWidget((index % 2) * 12, 2 + Math.floor(index / 2) * 6, 12, `Outcomes: ${title}`, metrics, {
        stat: 'Sum',
        stacked: true,
      }),
    );
  });
  const row = 14;
  widgets.push(
    metricWidget(
      0,
      row,
      8,
      'Dead-letter queue depth',
      [
        [
          'AWS/SQS',
          'ApproximateNumberOfMessagesVisible',
          'QueueName',
          `\${DeadLetterQueue.QueueName}`,
          { label: 'messages' },
        ],
      ],
      { stat: 'Maximum' },
    ),
    metricWidget(
      8,
      row,
      8,
      'Stop queue: age of the oldest request (s)',
      [
        [
          'AWS/SQS',
          'ApproximateAgeOfOldestMessage',
          'QueueName',
          `\${StopQueue.QueueName}`,
          { label: 'oldest message' },
        ],
      ],
      { stat: 'Maximum' },
    ),
    metricWidget(
      16,
      row,
      8,
      'Function errors',
      FUNCTIONS.map(({ label, logicalId }) => [
        'AWS/Lambda',
        'Errors',
        'FunctionName',
        `\${${logicalId}}`,
        { label },
      ]),
      { stat: 'Sum' },
    ),
  );
  if (costGuardAlarms.length > 0) {
    widgets.push({
      type: 'alarm',
      x: 0,
      y: row + 6,
      width: 24,
      height: 3,
      properties: {
        title: 'Cost-guard alarms (a transition to ALARM stops their scope)',
        alarms: costGuardAlarms.map(
          (name) =>
            `arn:\${AWS::Partition}:cloudwatch:${REGION}:\${AWS::AccountId}:alarm:${subLiteral(name)}`,
        ),
      },
    });
  }
  return { widgets };
}

/** The `DashboardBody` value: `{ "Fn::Sub": "<JSON>" }`. */
function dashboardBody(settings) {
  return { 'Fn::Sub': JSON.stringify(dashboardBodyObject(settings)) };
}

module.exports = {
  OUTCOME_METRICS,
  TRIGGERS,
  dashboardBodyObject,
  dashboardBody,
  /** Serverless variable source: `${file(./deploy/dashboard.cjs):body}`. */
  body: async ({ resolveVariable }) => {
    const { config } = await stageConfigOf(resolveVariable);
    return dashboardBody({
      namespace: await resolveVariable('self:provider.environment.POWERTOOLS_METRICS_NAMESPACE'),
      service: await resolveVariable('self:provider.environment.POWERTOOLS_SERVICE_NAME'),
      costGuardAlarms: [...new Set(config.costGuards.map((guard) => guard.alarmName))],
    });
  },
};
