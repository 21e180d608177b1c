/**
 * One Lambda execution environment of the chaos suite, as a child process: it loads the built bundle once
 * (the cold start, configuration from the environment only), then runs one invocation at a time as the
 * parent sends them over IPC, and answers with the handler's result. The parent owns the function timeout
 * and the kills; this process only builds the context Lambda would give the handler.
 *
 * Environment: CHAOS_BUNDLE (the bundle's path), CHAOS_FUNCTION_NAME, CHAOS_FUNCTION_TIMEOUT_MS, plus what
 * the function itself reads (endpoints, table, queues, STOP_POLICY, …).
 */
import { createRequire } from 'node:module';
import type { Context } from 'aws-lambda';
import type { FromEnvironment, ToEnvironment } from './environments.ts';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const send = (message: FromEnvironment): void => {
  process.send?.(message);
};

const ACCOUNT_ID = '123456789012';
const REGION = process.env.AWS_REGION ?? 'us-east-1';
const functionName = process.env.CHAOS_FUNCTION_NAME ?? 'glue-mv-stop-chaos-stopFromQueue';
const timeoutMs = Number(process.env.CHAOS_FUNCTION_TIMEOUT_MS ?? '30000');

const contextFor = (requestId: string): Context => {
  // Lambda's clock starts when the invocation starts: the remaining time counts down from the timeout.
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `chaos/[$LATEST]${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

// The parent going away ends the environment too: no orphans.
process.on('disconnect', () => process.exit(0));

let handler: Handler;
try {
  const modulePath = process.env.CHAOS_BUNDLE;
  if (!modulePath) throw new Error('CHAOS_BUNDLE is not set');
  const loaded: unknown = createRequire(import.meta.url)(modulePath);
  const candidate =
    typeof loaded === 'object' && loaded !== null && 'handler' in loaded ? loaded.handler : undefined;
  if (typeof candidate !== 'function') throw new Error(`${modulePath} exports no handler`);
  handler = candidate as Handler;
} catch (error) {
  send({ type: 'init-error', message: describe(error) });
  process.exit(1);
}
send({ type: 'ready' });

process.on('message', (message: ToEnvironment) => {
  if (message.type !== 'invoke') return;
  const { id, event } = message;
  handler(event, contextFor(id)).then(
    (response) => send({ type: 'result', id, response: response ?? null }),
    (error: unknown) => send({ type: 'error', id, message: describe(error) }),
  );
});
