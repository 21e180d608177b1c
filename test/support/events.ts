/** Record factories for the triggers' event shapes (real-shaped, as in `events/`). */
import type { EventBridgeEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../../src/request/events.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './local-aws.ts';

export const sqsRecord = (body: unknown, overrides: Partial<SQSRecord> = {}): SQSRecord => ({
  messageId: crypto.randomUUID(),
  receiptHandle: `AQEB${crypto.randomUUID()}`,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: String(Date.now()),
    SenderId: 'AIDAEXAMPLEPRODUCER',
    ApproximateFirstReceiveTimestamp: String(Date.now()),
  },
  messageAttributes: {},
  md5OfBody: '0'.repeat(32),
  eventSource: 'aws:sqs',
  eventSourceARN: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:glue-mv-stop-requests`,
  awsRegion: LOCAL_REGION,
  ...overrides,
});

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
