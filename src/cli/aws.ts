/**
 * The AWS side of the CLI: SDK clients as aws-cli users expect them (the SDK's default credential chain,
 * `--profile` for credentials and region, `--region`; `AWS_ENDPOINT_URL_<SERVICE>` honoured by the SDK),
 * and the stack a stage deployed (`glue-mv-stop-<stage>`), read from its CloudFormation outputs.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GlueClient } from '@aws-sdk/client-glue';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { CliFailure, UsageError } from './errors.ts';

export interface AwsOptions {
  readonly region?: string;
  readonly profile?: string;
}

/** Generous for a person waiting, but a hung endpoint still ends in an error rather than a hang. */
const CALL_SETTINGS = { connectionTimeout: 5_000, requestTimeout: 30_000, maxAttempts: 4 } as const;

/** The one Glue operation the CLI calls. */
export const GLUE_READ_OPERATION = 'ListMaterializedViewRefreshTaskRunsCommand';

/** Refused by the CLI's Glue client before it is sent: the CLI only ever reads. */
export class ReadOnlyViolationError extends Error {
  override readonly name = 'ReadOnlyViolationError';
}

export interface AwsClients {
  /** Read-only: it refuses every command but `ListMaterializedViewRefreshTaskRuns`, before sending it. */
  glue(): GlueClient;
  sqs(): SQSClient;
  eventBridge(): EventBridgeClient;
  cloudFormation(): CloudFormationClient;
  /** Closes the sockets of every client made, so the process can end. */
  destroy(): void;
}

const configured = (name: string): boolean =>
  (process.env[`AWS_ENDPOINT_URL_${name}`] ?? process.env.AWS_ENDPOINT_URL ?? '') !== '';

/**
 * The SDK's own warnings go nowhere unless GLUE_MV_STOP_DEBUG=1: one of them fires whenever --profile is
 * given while AWS_ACCESS_KEY_ID is set, and --profile winning over the environment is what aws-cli does.
 */
const sdkLogger = {
  debug() {},
  info() {},
  warn(...args: unknown[]) {
    if (process.env.GLUE_MV_STOP_DEBUG === '1') process.stderr.write(`${args.map(String).join(' ')}\n`);
  },
  error(...args: unknown[]) {
    if (process.env.GLUE_MV_STOP_DEBUG === '1') process.stderr.write(`${args.map(String).join(' ')}\n`);
  },
};

export const createAwsClients = ({ region, profile }: AwsOptions): AwsClients => {
  const made: { destroy(): void }[] = [];
  const common = () => ({
    logger: sdkLogger,
    ...(region !== undefined ? { region } : {}),
    ...(profile !== undefined ? { profile } : {}),
    maxAttempts: CALL_SETTINGS.maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: CALL_SETTINGS.connectionTimeout,
      requestTimeout: CALL_SETTINGS.requestTimeout,
      throwOnRequestTimeout: true,
    }),
  });
  const once = <T extends { destroy(): void }>(make: () => T): (() => T) => {
    let client: T | undefined;
    return () => {
      if (!client) {
        client = make();
        made.push(client);
      }
      return client;
    };
  };
  return {
    glue: once(() => {
      const glue = new GlueClient(common());
      glue.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== GLUE_READ_OPERATION) {
            throw new ReadOnlyViolationError(`the CLI only lists refreshes; refused ${context.commandName}`);
          }
          return next(args);
        },
        { step: 'initialize', name: 'glueMvStopReadOnly', priority: 'high' },
      );
      return glue;
    }),
    // With an endpoint configured (a local emulator, a VPC endpoint), requests go there even when a queue
    // URL names another host: as aws-cli does with --endpoint-url.
    sqs: once(
      () => new SQSClient({ ...common(), ...(configured('SQS') ? { useQueueUrlAsEndpoint: false } : {}) }),
    ),
    eventBridge: once(() => new EventBridgeClient(common())),
    cloudFormation: once(() => new CloudFormationClient(common())),
    destroy() {
      for (const client of made.splice(0)) client.destroy();
    },
  };
};

/** Stage names that can name a stack (`glue-mv-stop-<stage>`) and a configuration file. */
const STAGE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export const checkStageName = (stage: string): string => {
  if (!STAGE_NAME.test(stage)) {
    throw new UsageError(`--stage ${JSON.stringify(stage)}: a stage is 1–64 letters, digits, "-" or "_"`);
  }
  return stage;
};

/** The stack `osls deploy --stage <stage>` creates (serverless.yml `service` + stage). */
export const stackNameOf = (stage: string): string => `glue-mv-stop-${checkStageName(stage)}`;

/** The stack outputs the CLI uses (serverless.yml `Outputs`). */
export type StackOutputs = Readonly<Record<string, string>>;

export const readStackOutputs = async (
  cloudFormation: CloudFormationClient,
  stage: string,
): Promise<StackOutputs> => {
  const stackName = stackNameOf(stage);
  try {
    const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = Stacks[0]?.Outputs ?? [];
    return Object.fromEntries(
      outputs.flatMap((o) =>
        o.OutputKey && o.OutputValue !== undefined ? [[o.OutputKey, o.OutputValue]] : [],
      ),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'ValidationError' && /does not exist/.test(error.message)) {
      const region = await cloudFormation.config.region().catch(() => 'this region');
      throw new CliFailure(
        `stage ${stage}: stack ${stackName} not found in ${region} (check --stage, --region and --profile)`,
      );
    }
    throw error;
  }
};

interface SqsArn {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
}

const parseSqsArn = (arn: string): SqsArn | undefined => {
  const match = /^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]+)$/.exec(arn);
  if (!match) return undefined;
  const [, partition = '', region = '', account = '', name = ''] = match;
  return { partition, region, account, name };
};

/**
 * A queue given as a URL is used as it is; as an ARN it becomes the queue's URL.
 * @example queueUrlOf('arn:aws:sqs:eu-west-1:123456789012:stop') // 'https://sqs.eu-west-1.amazonaws.com/123456789012/stop'
 */
export const queueUrlOf = (urlOrArn: string, flag: string): string => {
  if (/^https?:\/\//.test(urlOrArn)) return urlOrArn;
  const arn = parseSqsArn(urlOrArn);
  if (!arn) throw new UsageError(`${flag} ${urlOrArn}: not an SQS queue URL or ARN`);
  const domain = arn.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${arn.region}.${domain}/${arn.account}/${arn.name}`;
};

/** The account a queue belongs to, from its URL (`…/<account>/<name>`) or ARN. */
export const accountOfQueue = (urlOrArn: string): string | undefined => {
  const arn = parseSqsArn(urlOrArn);
  if (arn) return arn.account;
  const match = /^https?:\/\/[^/]+\/(\d{12})\/[^/]+$/.exec(urlOrArn);
  return match?.[1];
};

/**
 * The bus of the stack's stop rule, from the rule's ARN: `…:rule/<name>` is on the default bus,
 * `…:rule/<bus>/<name>` on a custom one.
 */
export const eventBusOfRuleArn = (ruleArn: string): string | undefined => {
  const match = /^arn:[^:]+:events:[^:]*:\d{12}:rule\/(?:([^/]+)\/)?[^/]+$/.exec(ruleArn);
  if (!match) return undefined;
  return match[1] ?? 'default';
};

export interface StackOptions {
  readonly stage?: string;
  readonly queueUrl?: string;
  readonly dlqUrl?: string;
  readonly eventBus?: string;
  readonly accountId?: string;
}

/** What a command needs of the stack: given by flags, or read (once) from the stage's stack outputs. */
export interface StackLocator {
  stopQueueUrl(): Promise<string>;
  deadLetterQueueUrl(): Promise<string>;
  eventBusName(): Promise<string>;
  /** The stack's account: the catalog a request without CatalogId means, and whose allow rules need no catalogId. */
  accountId(): Promise<string>;
}

export const createStackLocator = (options: StackOptions, clients: AwsClients): StackLocator => {
  let outputs: Promise<StackOutputs> | undefined;
  const fromStack = async (key: string, what: string, flag: string): Promise<string> => {
    if (options.stage === undefined) throw new UsageError(`which ${what}? pass --stage <stage> or ${flag}`);
    outputs ??= readStackOutputs(clients.cloudFormation(), options.stage);
    const value = (await outputs)[key];
    if (value === undefined) {
      throw new CliFailure(
        `stage ${options.stage}: stack ${stackNameOf(options.stage)} has no output ${key}`,
      );
    }
    return value;
  };
  return {
    async stopQueueUrl() {
      if (options.queueUrl !== undefined) return queueUrlOf(options.queueUrl, '--queue-url');
      return fromStack('StopQueueUrl', 'stop queue', '--queue-url <url>');
    },
    async deadLetterQueueUrl() {
      if (options.dlqUrl !== undefined) return queueUrlOf(options.dlqUrl, '--dlq-url');
      return fromStack('DeadLetterQueueUrl', 'dead-letter queue', '--dlq-url <url>');
    },
    async eventBusName() {
      if (options.eventBus !== undefined) return options.eventBus;
      const ruleArn = await fromStack('StopEventRuleArn', 'event bus', '--event-bus <name-or-arn>');
      const bus = eventBusOfRuleArn(ruleArn);
      if (bus === undefined)
        throw new CliFailure(`stage ${options.stage}: cannot read the bus from ${ruleArn}`);
      return bus;
    },
    async accountId() {
      if (options.accountId !== undefined) {
        if (!/^\d{12}$/.test(options.accountId)) {
          throw new UsageError(`--account-id ${options.accountId}: must be a 12-digit AWS account ID`);
        }
        return options.accountId;
      }
      const explicit = options.queueUrl ?? options.dlqUrl;
      const fromExplicit = explicit !== undefined ? accountOfQueue(explicit) : undefined;
      if (fromExplicit !== undefined) return fromExplicit;
      const arn = await fromStack('StopQueueArn', 'account', '--account-id <12 digits>');
      const account = accountOfQueue(arn);
      if (account === undefined)
        throw new CliFailure(`stage ${options.stage}: cannot read the account from ${arn}`);
      return account;
    },
  };
};
