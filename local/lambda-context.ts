import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './local-aws.ts';

/** A Lambda context as the runtime builds it; `remainingMs` drives idempotency's in-progress expiry. */
export const lambdaContext = (
  options: { functionName?: string; remainingMs?: number; requestId?: string } = {},
): Context => {
  const functionName = options.functionName ?? 'glue-mv-stop-dev-stopFromQueue';
  // The deployed function timeout (serverless.yml provider.timeout) by default.
  const deadline = Date.now() + (options.remainingMs ?? 60_000);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: options.requestId ?? crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/11/29/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};
