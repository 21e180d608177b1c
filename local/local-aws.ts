/**
 * Local stand-ins for every AWS service the functions talk to, all on loopback and in-process:
 * the project's Glue emulator, dynalite (DynamoDB) and fauxqs (SQS). Used by integration tests and by
 * `npm start`. The functions reach them through the SDK's standard `AWS_ENDPOINT_URL_<SERVICE>` variables.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';
import { DEFAULT_GLUE_BURST_SECONDS, type RuntimePolicy } from '../src/policy/stack-config.ts';
import { type CallSettings, SDK_CALL_SETTINGS } from '../src/runtime/budget.ts';
import type { CallSettingsByClient } from '../src/runtime/clients.ts';
import type { GlueBudgetMode, StopConfig } from '../src/runtime/config.ts';
import { type EventBridgeEmulator, startEventBridgeEmulator } from './eventbridge-emulator.ts';
import { type GlueEmulator, type GlueEmulatorOptions, startGlueEmulator } from './glue-emulator.ts';

export const LOCAL_ACCOUNT_ID = '123456789012';

/**
 * The production call settings with five times the patience per attempt. In-process tests run the
 * emulators on the same event loop as the code under test, on a shared two-core machine: a DynamoDB write
 * that dynalite answers after the production timeout would be retried, find its own first attempt's
 * record and end as `duplicate-in-progress` (safe, but it turns a timing accident into a failed test).
 * Tests of the timeouts themselves use `SDK_CALL_SETTINGS` as they are.
 */
const patient = (settings: CallSettings): CallSettings => ({
  ...settings,
  requestTimeout: settings.requestTimeout * 5,
});
export const IN_PROCESS_CALL_SETTINGS: CallSettingsByClient = {
  glue: patient(SDK_CALL_SETTINGS.glue),
  dynamoDb: patient(SDK_CALL_SETTINGS.dynamoDb),
  sqs: patient(SDK_CALL_SETTINGS.sqs),
  eventBridge: patient(SDK_CALL_SETTINGS.eventBridge),
};
export const LOCAL_REGION = 'us-east-1';
const IDEMPOTENCY_TABLE = 'glue-mv-stop-idempotency';

/** Tests default to allowing every database of the local account; guardrail tests pass their own. */
export const ALLOW_ALL_LOCAL: RuntimePolicy = {
  allow: [{ database: '*', tables: ['*'] }],
  dryRun: false,
  costGuards: [],
};

export interface LocalAws {
  readonly glue: GlueEmulator;
  readonly eventBridge: EventBridgeEmulator;
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly stopQueueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** The functions' configuration, pointing at the local table and queue. */
  readonly config: StopConfig;
  /** `AWS_ENDPOINT_URL_*`, region and dummy credentials: what a function's environment would hold. */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

const listen = async (server: ReturnType<typeof dynalite>): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
};

export const createIdempotencyTable = async (client: DynamoDBClient, tableName: string): Promise<void> => {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
};

export interface LocalAwsOptions {
  readonly glue?: GlueEmulatorOptions;
  /** The functions' allow-list, dry-run and cost guards. Default: everything in the local account. */
  readonly policy?: RuntimePolicy;
  readonly glueMaxRequestsPerSecond?: number;
  /** `shared` (default): one budget for List and Stop; `per-operation`: one each. */
  readonly glueBudgetMode?: GlueBudgetMode;
  /** Seconds of its Glue share an instance may catch up on; default `DEFAULT_GLUE_BURST_SECONDS`. */
  readonly glueBurstSeconds?: number;
  /** Also export the endpoints and credentials into `process.env` (default true). */
  readonly exportEnv?: boolean;
}

/**
 * fauxqs 2.4 refuses astral characters (U+10000–U+10FFFF, emoji among them) in message bodies: its check
 * is a regex without the `u` flag, so it sees their surrogate halves. SQS accepts them
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html), so the
 * check is given SQS's own rule, in this process. Fails loudly if fauxqs changes under it.
 */
const makeFauxqsAcceptWhatSqsAccepts = async (): Promise<void> => {
  const file = fileURLToPath(new URL('../node_modules/fauxqs/dist/sqs/sqsTypes.js', import.meta.url));
  const module: { INVALID_MESSAGE_BODY_CHAR?: unknown } = await import(pathToFileURL(file).href);
  const check = module.INVALID_MESSAGE_BODY_CHAR;
  if (!(check instanceof RegExp)) throw new Error(`fauxqs changed: no INVALID_MESSAGE_BODY_CHAR in ${file}`);
  const sqsRule = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
  Object.defineProperty(check, 'test', { value: (text: string) => sqsRule.test(text), configurable: true });
};

export const startLocalAws = async (options: LocalAwsOptions = {}): Promise<LocalAws> => {
  await makeFauxqsAcceptWhatSqsAccepts();
  const glue = await startGlueEmulator({ accountId: LOCAL_ACCOUNT_ID, ...options.glue });
  const eventBridge = await startEventBridgeEmulator({ host: '127.0.0.1' });
  const policy = options.policy ?? ALLOW_ALL_LOCAL;
  const dynamoServer = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamoDbEndpoint = await listen(dynamoServer);
  const sqs = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false, defaultRegion: LOCAL_REGION });
  // fauxqs names queues by a virtual host that does not resolve here; the path-style URL on the
  // listening address reaches the same queue.
  const queueUrl = (name: string) => sqs.createQueue(name).queueUrl.replace(/^https?:\/\/[^/]+/, sqs.address);
  const stopQueueUrl = queueUrl('glue-mv-stop-requests');
  const deadLetterQueueUrl = queueUrl('glue-mv-stop-dead-letter');

  const env = {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_GLUE: glue.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: sqs.address,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
    IDEMPOTENCY_TABLE_NAME: IDEMPOTENCY_TABLE,
    DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl,
    STOP_QUEUE_URL: stopQueueUrl,
    OUTCOME_EVENT_BUS_NAME: 'default',
    STOP_POLICY: JSON.stringify(policy),
    ...(options.glueMaxRequestsPerSecond
      ? { GLUE_MAX_REQUESTS_PER_SECOND: String(options.glueMaxRequestsPerSecond) }
      : {}),
    GLUE_BUDGET_MODE: options.glueBudgetMode ?? 'shared',
    GLUE_BURST_SECONDS: String(options.glueBurstSeconds ?? DEFAULT_GLUE_BURST_SECONDS),
  };
  if (options.exportEnv ?? true) Object.assign(process.env, env);

  const setupClient = new DynamoDBClient({
    endpoint: dynamoDbEndpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await createIdempotencyTable(setupClient, IDEMPOTENCY_TABLE);
  setupClient.destroy();

  return {
    glue,
    eventBridge,
    dynamoDbEndpoint,
    sqsEndpoint: sqs.address,
    stopQueueUrl,
    deadLetterQueueUrl,
    config: {
      idempotencyTableName: IDEMPOTENCY_TABLE,
      deadLetterQueueUrl,
      idempotencyExpirySeconds: 3600,
      serviceName: 'glue-mv-stop',
      metricsNamespace: 'GlueMvStop',
      stopQueueUrl,
      outcomeEventBusName: 'default',
      ...(options.glueMaxRequestsPerSecond
        ? { glueMaxRequestsPerSecond: options.glueMaxRequestsPerSecond }
        : {}),
      glueBudgetMode: options.glueBudgetMode ?? 'shared',
      glueBurstSeconds: options.glueBurstSeconds ?? DEFAULT_GLUE_BURST_SECONDS,
      policy,
    },
    env,
    async close() {
      await Promise.all([
        glue.close(),
        eventBridge.close(),
        sqs.stop(),
        new Promise<void>((resolve) => {
          dynamoServer.close(() => resolve());
          dynamoServer.closeAllConnections();
        }),
      ]);
    },
  };
};
