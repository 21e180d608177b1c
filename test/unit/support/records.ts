/** Record factories for unit tests: plain, real-shaped data with no dependency on the local AWS stand-ins. */
import type { Context } from 'aws-lambda';
import type { ScopeTarget, StopTarget } from '../../../src/request/contract.ts';
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../../../src/request/events.ts';
import type { ScopeStopRequest, TableStopRequest } from '../../../src/request/types.ts';
import type { GlueFailure } from '../../../src/stop/errors.ts';
import type { ActiveRun } from '../../../src/stop/ports.ts';

/** The function's own account in these tests; deliberately different from any event's `account`. */
export const FUNCTION_ACCOUNT_ID = '123456789012';
/** The publisher's account as EventBridge puts it in `account`: must never become the CatalogId. */
export const PUBLISHER_ACCOUNT_ID = '210987654321';
/** Another account whose catalog is shared with this one (a foreign catalog). */
export const FOREIGN_ACCOUNT_ID = '444455556666';

/** Refresh task run ids as Glue returns them (UUIDs). */
export const RUN_ID = '6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f';
export const OTHER_RUN_ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** A request for one view. */
export const stopRequest = (overrides: Partial<TableStopRequest> = {}): TableStopRequest => ({
  DatabaseName: 'sales',
  TableName: 'daily_revenue_mv',
  ...overrides,
});

/** A scope request: the views of a database matching `TableNames`. */
export const scopeRequest = (overrides: Partial<ScopeStopRequest> = {}): ScopeStopRequest => ({
  DatabaseName: 'sales',
  TableNames: ['*'],
  ...overrides,
});

export const stopTarget = (overrides: Partial<StopTarget> = {}): StopTarget => ({
  CatalogId: FUNCTION_ACCOUNT_ID,
  DatabaseName: 'sales',
  TableName: 'daily_revenue_mv',
  ...overrides,
});

export const scopeTarget = (overrides: Partial<ScopeTarget> = {}): ScopeTarget => ({
  CatalogId: FUNCTION_ACCOUNT_ID,
  DatabaseName: 'sales',
  TableNames: ['*'],
  ...overrides,
});

/** Overrides of `activeRun`: the run's own fields, and its view's fields flat, for short fixtures. */
export type ActiveRunOverrides = Partial<Omit<ActiveRun, 'target'>> & Partial<StopTarget>;

/** A STARTING or RUNNING refresh task run, as the Glue adapter reports it. */
export const activeRun = (overrides: ActiveRunOverrides = {}): ActiveRun => {
  const { CatalogId, DatabaseName, TableName, ...run } = overrides;
  return {
    runId: RUN_ID,
    status: 'RUNNING',
    startedAt: '2026-11-29T01:30:00.000Z',
    ...run,
    target: stopTarget({
      ...(CatalogId !== undefined ? { CatalogId } : {}),
      ...(DatabaseName !== undefined ? { DatabaseName } : {}),
      ...(TableName !== undefined ? { TableName } : {}),
    }),
  };
};

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

interface AlarmState {
  readonly value: string;
  readonly reason?: string;
  readonly reasonData?: string;
  readonly timestamp?: string;
}

/**
 * A CloudWatch "Alarm State Change" event as EventBridge delivers it, with the fields AWS documents
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html).
 * Note CloudWatch's own timestamp form in `state.timestamp`: `+0000`, no colon.
 */
export const alarmStateChange = (
  options: {
    readonly alarmName?: string;
    readonly state?: AlarmState;
    readonly previousState?: AlarmState | undefined;
    readonly time?: string;
    readonly id?: string;
  } = {},
): Record<string, unknown> => {
  const alarmName = options.alarmName ?? 'glue-dpu-spend-too-high';
  const previousState =
    'previousState' in options
      ? options.previousState
      : {
          value: 'OK',
          reason:
            'Threshold Crossed: 1 out of the last 1 datapoints [12.0 (29/11/26 01:55:00)] was not greater than ' +
            'the threshold (400.0) (minimum 1 datapoint for ALARM -> OK transition).',
          timestamp: '2026-11-28T22:10:40.985+0000',
        };
  return {
    version: '0',
    id: options.id ?? 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: FUNCTION_ACCOUNT_ID,
    time: options.time ?? '2026-11-29T02:00:41Z',
    region: 'us-east-1',
    resources: [`arn:aws:cloudwatch:us-east-1:${FUNCTION_ACCOUNT_ID}:alarm:${alarmName}`],
    detail: {
      alarmName,
      configuration: {
        description: 'Estimated Glue charges are above the monthly budget',
        metrics: [
          {
            id: 'm1',
            metricStat: {
              metric: {
                namespace: 'AWS/Billing',
                name: 'EstimatedCharges',
                dimensions: { ServiceName: 'AWSGlue', Currency: 'USD' },
              },
              period: 21600,
              stat: 'Maximum',
            },
            returnData: true,
          },
        ],
      },
      ...(previousState !== undefined ? { previousState } : {}),
      state: options.state ?? {
        value: 'ALARM',
        reason:
          'Threshold Crossed: 1 out of the last 1 datapoints [512.0 (29/11/26 01:55:00)] was greater than ' +
          'the threshold (400.0) (minimum 1 datapoint for OK -> ALARM transition).',
        reasonData: '{"version":"1.0","queryDate":"2026-11-29T02:00:40.985+0000"}',
        timestamp: '2026-11-29T02:00:40.989+0000',
      },
    },
  };
};

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

/** What the promise rejected with; fails the test if it resolved. */
export const rejectionOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, but the promise resolved');
};

/** What the function threw; fails the test if it returned. */
export const thrownBy = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw, but the function returned');
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
