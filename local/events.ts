/** Record factories for the triggers' event shapes (real-shaped, as in `events/`). */
import type { EventBridgeEvent, SQSEvent, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../src/request/events.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './local-aws.ts';

/** Record fields to override; `attributes` are merged into the defaults (e.g. only `SentTimestamp`). */
export type SqsRecordOverrides = Partial<Omit<SQSRecord, 'attributes'>> & {
  attributes?: Partial<SQSRecordAttributes>;
};

/** An SQS record as Lambda delivers it, sent and first received now unless `attributes` say otherwise. */
export const sqsRecord = (body: unknown, overrides: SqsRecordOverrides = {}): SQSRecord => {
  const { attributes, ...fields } = overrides;
  return {
    messageId: crypto.randomUUID(),
    receiptHandle: `AQEB${crypto.randomUUID()}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    messageAttributes: {},
    md5OfBody: '0'.repeat(32),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:glue-mv-stop-requests`,
    awsRegion: LOCAL_REGION,
    ...fields,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLEPRODUCER',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      ...attributes,
    },
  };
};

export const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

export const stopEvent = (
  detail: unknown,
  overrides: Partial<EventBridgeEvent<string, unknown>> = {},
): EventBridgeEvent<string, unknown> => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': STOP_EVENT_DETAIL_TYPE,
  source: STOP_EVENT_SOURCE,
  // The publisher's account: deliberately not ours, the default CatalogId must not come from here.
  account: '210987654321',
  time: new Date().toISOString(),
  region: LOCAL_REGION,
  resources: [],
  detail,
  ...overrides,
});

/** A CloudWatch "Alarm State Change" event as EventBridge delivers it. */
export const alarmStateChange = (
  alarmName: string,
  change: { from: string; to: string; reason?: string; at?: Date },
  overrides: { id?: string } = {},
) => {
  const at = change.at ?? new Date();
  // CloudWatch writes state timestamps with a +0000 offset.
  const timestamp = at.toISOString().replace('Z', '+0000');
  return {
    version: '0',
    id: overrides.id ?? crypto.randomUUID(),
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: LOCAL_ACCOUNT_ID,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [`arn:aws:cloudwatch:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:alarm:${alarmName}`],
    detail: {
      alarmName,
      configuration: {
        description: 'DPU-hours spent on refreshes',
        metrics: [
          {
            id: 'm1',
            metricStat: {
              metric: { namespace: 'Glue', name: 'glue.driver.aggregate.elapsedTime', dimensions: {} },
              period: 300,
              stat: 'Sum',
            },
            returnData: true,
          },
        ],
      },
      previousState: {
        reason: 'Threshold Crossed: 1 datapoint was not greater than the threshold',
        timestamp: new Date(at.getTime() - 600_000).toISOString().replace('Z', '+0000'),
        value: change.from,
      },
      state: {
        reason:
          change.reason ?? 'Threshold Crossed: 1 datapoint [812.0] was greater than the threshold (500.0).',
        timestamp,
        value: change.to,
      },
    },
  };
};

/** What an EventBridge Scheduler schedule of a window delivers, placeholders filled in. */
export const scheduleDelivery = (
  template: string,
  context: { scheduledTime: string; executionId?: string; attemptNumber?: number },
): unknown =>
  JSON.parse(
    template
      .replace('<aws.scheduler.scheduled-time>', context.scheduledTime)
      .replace('<aws.scheduler.execution-id>', context.executionId ?? crypto.randomUUID().slice(0, 16))
      .replace(
        '<aws.scheduler.schedule-arn>',
        `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:schedule/default/window`,
      )
      .replace('<aws.scheduler.attempt-number>', String(context.attemptNumber ?? 1)),
  );
