/**
 * AWS SDK clients, created once per execution environment. Endpoints come from the SDK's standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables (that is how local runs and tests reach the emulators).
 *
 * Retry and timeout choices, per service:
 * - Every client: standard retry mode, 3 attempts. A request that still fails is not lost: the SQS path
 *   redelivers it after the visibility timeout, the EventBridge path fails the invocation so Lambda's async
 *   retries take over. Longer in-process retries would only hold a batch's other records back.
 * - Socket timeouts bound the worst case well inside the 30 s function timeout, so an invocation never
 *   dies mid-call from a hung connection (3 Glue attempts × 6 s + backoff ≈ 20 s).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GlueClient } from '@aws-sdk/client-glue';
import { SQSClient } from '@aws-sdk/client-sqs';

export interface AwsClients {
  readonly glue: GlueClient;
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly eventBridge: EventBridgeClient;
}

export const RETRY_SETTINGS = {
  glue: { maxAttempts: 3, connectionTimeout: 2_000, requestTimeout: 6_000 },
  dynamoDb: { maxAttempts: 3, connectionTimeout: 1_000, requestTimeout: 3_000 },
  sqs: { maxAttempts: 3, connectionTimeout: 2_000, requestTimeout: 5_000 },
  eventBridge: { maxAttempts: 3, connectionTimeout: 2_000, requestTimeout: 5_000 },
} as const;

const clientConfig = (settings: {
  maxAttempts: number;
  connectionTimeout: number;
  requestTimeout: number;
}) => ({
  retryMode: 'standard',
  maxAttempts: settings.maxAttempts,
  requestHandler: { connectionTimeout: settings.connectionTimeout, requestTimeout: settings.requestTimeout },
});

export const createAwsClients = (): AwsClients => ({
  glue: new GlueClient(clientConfig(RETRY_SETTINGS.glue)),
  dynamoDb: new DynamoDBClient(clientConfig(RETRY_SETTINGS.dynamoDb)),
  sqs: new SQSClient(clientConfig(RETRY_SETTINGS.sqs)),
  eventBridge: new EventBridgeClient(clientConfig(RETRY_SETTINGS.eventBridge)),
});
