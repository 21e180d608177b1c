/** Record factories for unit tests: plain, real-shaped data with no dependency on the local AWS stand-ins. */
import type { Context } from 'aws-lambda';
import type { StopTarget } from '../../../src/request/contract.ts';
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../../../src/request/events.ts';
import type { StopRequest } from '../../../src/request/types.ts';
import type { GlueFailure } from '../../../src/stop/errors.ts';

/** The function's own account in these tests; deliberately different from any event's `account`. */
export const FUNCTION_ACCOUNT_ID = '123456789012';
/** The publisher's account as EventBridge puts it in `account`: must never become the CatalogId. */
export const PUBLISHER_ACCOUNT_ID = '210987654321';

export const stopRequest = (overrides: Partial<StopRequest> = {}): StopRequest => ({
  DatabaseName: 'sales',
  TableName: 'daily_revenue_mv',
  ...overrides,
});

export const stopTarget = (overrides: Partial<StopTarget> = {}): StopTarget => ({
  CatalogId: FUNCTION_ACCOUNT_ID,
  DatabaseName: 'sales',
  TableName: 'daily_revenue_mv',
  ...overrides,
});

/** An EventBridge event as a rule delivers it (to the function, or as an SQS body). */
export const eventBridgeEnvelope = (
  detail: unknown,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> => ({
  version: '0',
  id: '9b2d4f6a-1c3e-4a5b-8d7f-0e1a2b3c4d5e',
  'detail-type': STOP_EVENT_DETAIL_TYPE,
  source: STOP_EVENT_SOURCE,
  account: PUBLISHER_ACCOUNT_ID,
  time: '2026-11-29T02:00:05Z',
  region: 'us-east-1',
  resources: [],
  detail,
  ...overrides,
});

export const glueFailure = (code: string, httpStatusCode?: number): GlueFailure => ({
  code,
  message: `${code} from the service`,
  ...(httpStatusCode !== undefined ? { httpStatusCode } : {}),
});

/** Freezes a value and everything reachable from it, so that any mutation by the code under test throws. */
export const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
};

/** A Lambda context as the runtime builds it, with a fixed remaining time (no clock involved). */
export const lambdaContext = (remainingMs = 30_000): Context => ({
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'glue-mv-stop-dev-stopFromQueue',
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:${FUNCTION_ACCOUNT_ID}:function:glue-mv-stop-dev-stopFromQueue`,
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/glue-mv-stop-dev-stopFromQueue',
  logStreamName: '2026/11/29/[$LATEST]0123456789abcdef',
  getRemainingTimeInMillis: () => remainingMs,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

/**
 * A Lambda asynchronous-invocation record, as the EventBridge function's on-failure destination writes it
 * to the dead-letter queue (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
 */
export const invocationRecord = (requestPayload: unknown): Record<string, unknown> => ({
  version: '1.0',
  timestamp: '2026-11-29T02:10:05.568Z',
  requestContext: {
    requestId: 'e4b46cbf-b738-xmpl-8880-a18cdf61200e',
    functionArn: `arn:aws:lambda:us-east-1:${FUNCTION_ACCOUNT_ID}:function:glue-mv-stop-dev-stopFromEvent:$LATEST`,
    condition: 'RetriesExhausted',
    approximateInvokeCount: 3,
  },
  requestPayload,
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  responsePayload: { errorType: 'StopRetryError', errorMessage: 'stop will be retried: glue-throttled' },
});
