/**
 * AWS SDK clients, created once per execution environment. Endpoints come from the SDK's standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables (that is how local runs and tests reach the emulators).
 *
 * Retries and timeouts (settings and the worst case they add up to: `budget.ts`):
 * - The standard mode's attempts and back-off, without its retry budget (`retry-strategy.ts`). A request
 *   that still fails is not lost: the SQS path redelivers it after the
 *   visibility timeout, the asynchronous triggers fail the invocation so Lambda's retries take over.
 * - Every attempt is cut off after `requestTimeout`: `throwOnRequestTimeout` turns the HTTP handler's
 *   warning into a `TimeoutError`, and `socketTimeout` ends a socket that goes quiet mid-response.
 * - Every call also carries the invocation's deadline as its abort signal (`DeadlineHttpHandler`), so no
 *   call outlives the time the function has to answer its trigger.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GlueClient } from '@aws-sdk/client-glue';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, NodeHttpHandlerOptions } from '@smithy/types';
import { type CallSettings, SDK_CALL_SETTINGS } from './budget.ts';
import { AttemptsRetryStrategy, type RetryOn, THROTTLING_ONLY } from './retry-strategy.ts';

export interface AwsClients {
  readonly glue: GlueClient;
  /** For StopMaterializedViewRefreshTaskRun: retries throttled calls only (`THROTTLING_ONLY`). */
  readonly glueStop: GlueClient;
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly eventBridge: EventBridgeClient;
}

/** The abort signal of the invocation under way, if any. */
export type CurrentSignal = () => AbortSignal | undefined;

type HandlerRequest = Parameters<NodeHttpHandler['handle']>[0];
type HandlerResult = ReturnType<NodeHttpHandler['handle']>;

/**
 * Hands every request the invocation's abort signal (combined with the caller's own, if any), then lets
 * the SDK's Node handler do the rest.
 */
export class DeadlineHttpHandler {
  readonly #inner: NodeHttpHandler;
  readonly #signal: CurrentSignal;

  constructor(inner: NodeHttpHandler, signal: CurrentSignal) {
    this.#inner = inner;
    this.#signal = signal;
  }

  handle(request: HandlerRequest, options: HttpHandlerOptions = {}): HandlerResult {
    const deadline = this.#signal();
    const own = options.abortSignal as AbortSignal | undefined;
    const abortSignal = deadline && own ? AbortSignal.any([deadline, own]) : (deadline ?? own);
    return this.#inner.handle(request, { ...options, ...(abortSignal ? { abortSignal } : {}) });
  }

  updateHttpClientConfig(
    key: keyof NodeHttpHandlerOptions,
    value: NodeHttpHandlerOptions[keyof NodeHttpHandlerOptions],
  ): void {
    this.#inner.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs(): NodeHttpHandlerOptions {
    return this.#inner.httpHandlerConfigs();
  }

  destroy(): void {
    this.#inner.destroy();
  }
}

export const clientConfig = (
  settings: CallSettings,
  signal: CurrentSignal = () => undefined,
  retryOn?: RetryOn,
) => ({
  retryStrategy: new AttemptsRetryStrategy(settings.maxAttempts, Math.random, retryOn),
  requestHandler: new DeadlineHttpHandler(
    new NodeHttpHandler({
      connectionTimeout: settings.connectionTimeout,
      requestTimeout: settings.requestTimeout,
      throwOnRequestTimeout: true,
      socketTimeout: settings.requestTimeout,
    }),
    signal,
  ),
});

/** Settings per client; the Stop client shares the Glue client's. */
export type CallSettingsByClient = Record<Exclude<keyof AwsClients, 'glueStop'>, CallSettings>;

/**
 * `signal` gives the abort signal of the invocation under way (the runtime's deadline); `settings` are the
 * production ones unless a test that runs the emulators in its own process needs more patience.
 */
export const createAwsClients = (
  signal: CurrentSignal = () => undefined,
  settings: CallSettingsByClient = SDK_CALL_SETTINGS,
): AwsClients => ({
  glue: new GlueClient(clientConfig(settings.glue, signal)),
  glueStop: new GlueClient(clientConfig(settings.glue, signal, THROTTLING_ONLY)),
  dynamoDb: new DynamoDBClient(clientConfig(settings.dynamoDb, signal)),
  sqs: new SQSClient(clientConfig(settings.sqs, signal)),
  eventBridge: new EventBridgeClient(clientConfig(settings.eventBridge, signal)),
});
