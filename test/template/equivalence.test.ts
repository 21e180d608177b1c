/**
 * The packaged template against its baseline, resource by resource and output by output. The baselines
 * (test/template/baseline/<stage>.json) are the templates the hand-written serverless.yml produced before
 * roles, rules, schedules, alarms and the dashboard were generated from the tables in deploy/: Resources
 * and Outputs, with the package timestamp in the S3 keys replaced (baseline.ts).
 *
 * Every difference must be one of `INTENDED_CHANGES`, each named and justified: the test applies them to
 * the baseline and expects exactly the result. Anything else fails: a property lost or changed, a
 * resource added or removed, a logical ID renamed (CloudFormation would replace the resource instead of
 * updating it in place), an output changed. Dashboard bodies are compared as parsed JSON.
 *
 * To record an intended change: add an entry here. To start over from the current template (after the
 * lead has accepted the changes), rewrite the baselines with `writeBaseline` from baseline.ts and empty
 * the list.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type ComparableTemplate, comparableTemplate, readBaseline } from './baseline.ts';
import { isObject, type Json, type JsonObject, type PackagedStacks, packagedStacks } from './stack.ts';

type Stage = keyof PackagedStacks;
const STAGES: readonly Stage[] = ['ci', 'dev'];

/** A template being edited: the baseline, deep-copied. */
type Editable = { Resources: Record<string, Record<string, Json>>; Outputs: Record<string, JsonObject> };

interface IntendedChange {
  /** The resource it changes or adds. */
  readonly logicalId: string;
  readonly what: string;
  readonly why: string;
  /** Turns the baseline into what the template must now be. */
  readonly apply: (template: Editable, stage: Stage) => void;
}

const LIST_ACTION = 'glue:ListMaterializedViewRefreshTaskRuns';

const properties = (template: Editable, logicalId: string): Record<string, Json> => {
  const resource = template.Resources[logicalId];
  if (!resource || !isObject(resource.Properties)) throw new Error(`baseline has no ${logicalId}`);
  return resource.Properties as Record<string, Json>;
};

/** The statement `sid` of a role's (first) inline policy in the baseline. */
const statementOf = (template: Editable, role: string, sid: string): Record<string, Json> => {
  const [policy] = properties(template, role).Policies as JsonObject[];
  const document = policy?.PolicyDocument as JsonObject | undefined;
  const statements = (document?.Statement ?? []) as Record<string, Json>[];
  const statement = statements.find((candidate) => candidate.Sid === sid);
  if (!statement) throw new Error(`baseline ${role} has no statement ${sid}`);
  return statement;
};

/** The dashboard's body, parsed (`decoded`, below). */
const dashboardBody = (template: Editable) =>
  properties(template, 'Dashboard').DashboardBody as { 'Fn::Sub': { widgets: JsonObject[] } };

/** The metric line Powertools' dimensions give a counter of one function, as the dashboard graphs it. */
const ownLine = (metric: string, trigger: string, label: string): Json => [
  'GlueMvStop',
  metric,
  'service',
  'glue-mv-stop',
  'trigger',
  trigger,
  { label },
];

const FUNCTION_TRIGGERS = [
  ['stopFromQueue', 'sqs'],
  ['stopFromEvent', 'eventbridge'],
  ['stopFromAlarm', 'alarm'],
  ['stopFromSchedule', 'schedule'],
] as const;

/** A new dashboard panel: one line per function of a metric every function counts. */
const perFunctionPanel = (x: number, title: string, metric: string): JsonObject => ({
  type: 'metric',
  x,
  y: 20,
  width: 12,
  height: 6,
  properties: {
    title,
    region: `\${AWS::Region}`,
    view: 'timeSeries',
    period: 300,
    metrics: FUNCTION_TRIGGERS.map(([name, trigger]) => ownLine(metric, trigger, name)),
    stat: 'Sum',
  },
});

const INTENDED_CHANGES: readonly IntendedChange[] = [
  {
    logicalId: 'StopFromQueueLambdaFunction',
    what:
      'the queue function gets STOP_QUEUE_MAX_RECEIVE_COUNT, the redrive policy maxReceiveCount, and ' +
      'STOP_QUEUE_BATCH_SIZE, the event source batch size',
    why:
      'on that receive a request that would be retried is parked with reason retries-exhausted, so it ' +
      'reaches the dead-letter queue with its reason instead of being moved there by SQS without one',
    apply: (template, stage) => {
      const environment = properties(template, 'StopFromQueueLambdaFunction').Environment as JsonObject;
      const variables = environment.Variables as Record<string, Json>;
      // serverless.yml params: maxReceiveCount 5 by default, 4 in ci.
      variables.STOP_QUEUE_MAX_RECEIVE_COUNT = stage === 'ci' ? '4' : '5';
      // The event source's batchSize (10 by default, 5 in ci): stop tasks are sized to fit a batch.
      variables.STOP_QUEUE_BATCH_SIZE = stage === 'ci' ? '5' : '10';
    },
  },
  {
    logicalId: 'StopFromScheduleRole',
    what: 'the schedule function may list refresh runs, no longer stop them',
    why:
      'least privilege: a window only lists the running refreshes of its scope and queues one request ' +
      'per view; stopFromQueue stops them (as for stopFromAlarm, whose role already had List only)',
    apply: (template) => {
      statementOf(template, 'StopFromScheduleRole', 'MaterializedViewRefreshRuns').Action = LIST_ACTION;
    },
  },
  ...['StopFromQueue', 'StopFromEvent', 'StopFromAlarm', 'StopFromSchedule'].map(
    (fn): IntendedChange => ({
      logicalId: `${fn}LambdaFunction`,
      what:
        'GLUE_MAX_REQUESTS_PER_SECOND is the share of one budget for all Glue calls; GLUE_BUDGET_MODE shared; ' +
        'GLUE_BURST_SECONDS 0.25',
      why:
        "glue.requestsPerSecond is the stack's budget for List and Stop together, divided by every instance " +
        "that can call Glue at once: maximumConcurrency plus the event function's eventConcurrency (1); " +
        'glue.burstSeconds (default 0.25) lets an instance catch up on the share it left unused between calls',
      apply: (template, stage) => {
        const environment = properties(template, `${fn}LambdaFunction`).Environment as JsonObject;
        const variables = environment.Variables as Record<string, Json>;
        // ci: 20 / (3 + 1); dev: 10 / (5 + 1), rounded down to 2 decimals.
        variables.GLUE_MAX_REQUESTS_PER_SECOND = stage === 'ci' ? '5' : '1.66';
        variables.GLUE_BUDGET_MODE = 'shared';
        variables.GLUE_BURST_SECONDS = '0.25';
      },
    }),
  ),
  {
    logicalId: 'StopFromEventLambdaFunction',
    what: 'reserved concurrency eventConcurrency (1)',
    why: "its instances share the Glue budget with the queue function's, so their number must be bounded",
    apply: (template) => {
      properties(template, 'StopFromEventLambdaFunction').ReservedConcurrentExecutions = 1;
    },
  },
  ...['StopFromAlarmRole', 'StopFromScheduleRole'].map(
    (role): IntendedChange => ({
      logicalId: role,
      what: 'no Glue permission at all',
      why:
        'least privilege: the alarm and schedule functions now hand scopes to the stop queue, where ' +
        'stopFromQueue lists and stops them; they make no Glue call',
      apply: (template) => {
        const [policy] = properties(template, role).Policies as JsonObject[];
        const document = policy?.PolicyDocument as JsonObject | undefined;
        if (!document) throw new Error(`baseline ${role} has no policy`);
        document.Statement = ((document.Statement ?? []) as Record<string, Json>[]).filter(
          (statement) => statement.Sid !== 'MaterializedViewRefreshRuns',
        );
        // Without a Glue action, cfn-lint has no unknown action to be told about.
        delete template.Resources[role]?.Metadata;
      },
    }),
  ),
  {
    logicalId: 'StopFromQueueRole',
    what: 'dynamodb:BatchGetItem and dynamodb:BatchWriteItem on the idempotency table',
    why:
      'a stop task reads what was recorded of its views in one call and records what it settled in one, ' +
      'instead of two writes per view (src/adapters/view-ledger.ts); only the queue function runs stop tasks',
    apply: (template) => {
      const records = statementOf(template, 'StopFromQueueRole', 'IdempotencyRecords');
      if (!Array.isArray(records.Action)) throw new Error('baseline IdempotencyRecords has no Action list');
      records.Action = [...records.Action, 'dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'];
    },
  },
  {
    logicalId: 'OutcomeEventsFailedAlarm',
    what: 'a new alarm on OutcomeEventsFailed, the sum over the four functions',
    why:
      'no alarm watched it: outcome events that could not be published leave a gap in the audit trail ' +
      'that nothing else reports (the stops themselves stand)',
    apply: (template, stage) => {
      template.Resources.OutcomeEventsFailedAlarm = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: `glue-mv-stop-${stage}-outcome-events-failed`,
          AlarmDescription:
            'Outcome events could not be published to the bus: the audit trail has a gap (the stops stand). ' +
            'The functions log "outcome events not published" with the error.',
          Metrics: [
            ...FUNCTION_TRIGGERS.map(([name, trigger], index) => ({
              Id: `m${index + 1}`,
              Label: name,
              MetricStat: {
                Metric: {
                  Namespace: 'GlueMvStop',
                  MetricName: 'OutcomeEventsFailed',
                  Dimensions: [
                    { Name: 'service', Value: 'glue-mv-stop' },
                    { Name: 'trigger', Value: trigger },
                  ],
                },
                Period: 300,
                Stat: 'Sum',
              },
              ReturnData: false,
            })),
            {
              Id: 'total',
              Label: 'OutcomeEventsFailed (sum)',
              Expression: 'SUM([m1, m2, m3, m4])',
              ReturnData: true,
            },
          ],
          EvaluationPeriods: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
          AlarmActions: [{ Ref: 'AlarmTopic' }],
          OKActions: [{ Ref: 'AlarmTopic' }],
        },
      };
    },
  },
  {
    logicalId: 'Dashboard',
    what:
      'two new panels after "Function errors": OutcomeEventsFailed and AlarmIgnored per function; ' +
      'the cost-guard alarm widget (ci) moves down a row',
    why:
      'the dashboard graphed neither metric although the functions count both; the panels come from the ' +
      'table in deploy/dashboard.ts, which lays panels out in rows',
    apply: (template) => {
      const body = dashboardBody(template);
      const widgets = body['Fn::Sub'].widgets;
      const errors = widgets.findIndex(
        (widget) => (widget.properties as JsonObject).title === 'Function errors',
      );
      if (errors < 0) throw new Error('baseline dashboard has no "Function errors" panel');
      const later = widgets.slice(errors + 1).map((widget) => ({ ...widget, y: Number(widget.y) + 6 }));
      body['Fn::Sub'].widgets = [
        ...widgets.slice(0, errors + 1),
        perFunctionPanel(0, 'Outcome events not published (OutcomeEventsFailed)', 'OutcomeEventsFailed'),
        perFunctionPanel(12, 'Alarm state changes ignored (AlarmIgnored)', 'AlarmIgnored'),
        ...later,
      ];
    },
  },
  {
    logicalId: 'Dashboard',
    what: 'every outcome graph gains a HandedOn line after Replayed; the heading text names it',
    why:
      'a stop task handed on unstarted is counted as HandedOn instead of Expanded, so that Expanded counts ' +
      'expansions and task runs only',
    apply: (template) => {
      let graphs = 0;
      for (const widget of dashboardBody(template)['Fn::Sub'].widgets) {
        const props = widget.properties as JsonObject;
        if (props.markdown !== undefined) {
          props.markdown = String(props.markdown).replace(
            'answered from the idempotency table.',
            'answered from the idempotency table; `HandedOn` stop tasks sent back unstarted for an ' +
              'instance with Glue budget to spare.',
          );
        }
        if (!String(props.title ?? '').startsWith('Outcomes: ')) continue;
        const metrics = props.metrics as Json[][];
        const replayed = metrics.find((line) => line[1] === 'Replayed');
        if (!replayed) throw new Error(`baseline graph ${String(props.title)} has no Replayed line`);
        const handedOn = replayed.map((part) =>
          part === 'Replayed' ? 'HandedOn' : isObject(part) ? { ...part, label: 'HandedOn' } : part,
        );
        metrics.splice(metrics.indexOf(replayed) + 1, 0, handedOn);
        graphs += 1;
      }
      if (graphs !== 4) throw new Error(`baseline dashboard has ${graphs} outcome graphs, expected 4`);
    },
  },
];

/** Dashboard bodies as parsed JSON, so that a difference shows as a widget, not as one long string. */
const decoded = (template: ComparableTemplate): Editable => {
  const copy = structuredClone(template) as unknown as Editable;
  for (const resource of Object.values(copy.Resources)) {
    if (resource.Type !== 'AWS::CloudWatch::Dashboard' || !isObject(resource.Properties)) continue;
    const body = (resource.Properties as Record<string, Json>).DashboardBody;
    if (isObject(body) && typeof body['Fn::Sub'] === 'string') {
      (resource.Properties as Record<string, Json>).DashboardBody = {
        'Fn::Sub': JSON.parse(body['Fn::Sub']),
      };
    }
  }
  return copy;
};

const expectedFrom = (baseline: ComparableTemplate, stage: Stage): Editable => {
  const expected = decoded(baseline);
  for (const change of INTENDED_CHANGES) change.apply(expected, stage);
  return expected;
};

const stacks: Partial<Record<Stage, { fresh: Editable; baseline: ComparableTemplate }>> = {};

beforeAll(async () => {
  const packaged = await packagedStacks();
  for (const stage of STAGES) {
    stacks[stage] = {
      fresh: decoded(comparableTemplate(packaged[stage].template)),
      baseline: await readBaseline(stage),
    };
  }
}, 180_000);

const stackOf = (stage: Stage): { fresh: Editable; baseline: ComparableTemplate } => {
  const stack = stacks[stage];
  if (!stack) throw new Error(`${stage} not packaged`);
  return stack;
};

describe.each(STAGES)('stage %s: the template is the baseline plus the intended changes', (stage) => {
  it('has the same logical IDs, plus only the resources an intended change adds', () => {
    const { fresh, baseline } = stackOf(stage);
    expect(Object.keys(fresh.Resources).sort()).toEqual(
      Object.keys(expectedFrom(baseline, stage).Resources).sort(),
    );
    for (const id of Object.keys(baseline.Resources)) expect(fresh.Resources, id).toHaveProperty([id]);
  });

  it('every resource equals its baseline, after the intended changes', () => {
    const { fresh, baseline } = stackOf(stage);
    const expected = expectedFrom(baseline, stage);
    for (const [id, resource] of Object.entries(expected.Resources)) {
      expect(fresh.Resources[id], id).toEqual(resource);
    }
  });

  it('has the same outputs', () => {
    const { fresh, baseline } = stackOf(stage);
    expect(fresh.Outputs).toEqual(baseline.Outputs);
  });

  it.each(INTENDED_CHANGES)('the intended change to $logicalId is still a change', ({ logicalId, apply }) => {
    const { baseline } = stackOf(stage);
    const before = decoded(baseline);
    const after = decoded(baseline);
    apply(after, stage);
    expect(after.Resources[logicalId]).not.toEqual(before.Resources[logicalId]);
  });
});
