/**
 * The packaged CloudFormation template, checked property by property (the S3 key carries a timestamp,
 * so no whole-file snapshot). `beforeAll` builds the bundles and runs `osls package` for the `ci` stage
 * (the params under `params.ci` in serverless.yml) and for `dev` (the defaults).
 */
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  actionsOf,
  asArray,
  buildBundles,
  getAtt,
  identityStatements,
  isObject,
  type Json,
  type PackagedStack,
  packageStack,
  type Resource,
  ref,
  resourceOf,
  resourcesOfType,
  type Statement,
  subString,
  type Template,
} from './stack.ts';

const FUNCTIONS = [
  {
    name: 'stopFromQueue',
    logicalId: 'StopFromQueueLambdaFunction',
    role: 'StopFromQueueRole',
    dir: 'stop-from-queue',
  },
  {
    name: 'stopFromEvent',
    logicalId: 'StopFromEventLambdaFunction',
    role: 'StopFromEventRole',
    dir: 'stop-from-event',
  },
] as const;

/** What `params.ci` in serverless.yml sets. */
const CI = {
  databases: ['sales', 'marketing'],
  batchSize: 5,
  maximumConcurrency: 3,
  maximumBatchingWindow: 2,
  maxReceiveCount: 4,
  eventRetryAttempts: 4,
  eventMaximumAgeSeconds: 1800,
  logLevel: 'DEBUG',
  alarmEmail: 'ops@example.com',
};

const SQS_CONSUME_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ChangeMessageVisibility',
];
const DYNAMODB_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];
const STOP_ACTION = 'glue:StopMaterializedViewRefreshTaskRun';
/** `Fn::Sub` text, its `${...}` escaped so that JavaScript leaves it alone. */
const GLUE_ARN_PREFIX = `arn:\${AWS::Partition}:glue:\${AWS::Region}`;
const THIS_ACCOUNT = `\${AWS::AccountId}`;

let ci: PackagedStack;
let dev: PackagedStack;
let t: Template;

beforeAll(async () => {
  await buildBundles();
  ci = await packageStack('ci');
  dev = await packageStack('dev');
  t = ci.template;
}, 180_000);

const statementsOfRole = (template: Template, roleId: string): Statement[] =>
  identityStatements(resourceOf(template, roleId, 'AWS::IAM::Role'));

const statementWithAction = (statements: Statement[], action: string): Statement => {
  const found = statements.find((statement) => actionsOf(statement).includes(action));
  if (!found) throw new Error(`no statement allows ${action}`);
  return found;
};

const glueResourceArns = (template: Template, roleId: string): string[] =>
  asArray(statementWithAction(statementsOfRole(template, roleId), STOP_ACTION).Resource).map((value) => {
    const arn = subString(value);
    if (arn === undefined) throw new Error(`Glue resource is not an Fn::Sub ARN: ${JSON.stringify(value)}`);
    return arn;
  });

const alarms = (template: Template): Resource[] =>
  resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm);

const alarmOn = (template: Template, namespace: string, metric: string, dimension: Json): Resource => {
  const found = alarms(template).find(
    (alarm) =>
      alarm.Properties.Namespace === namespace &&
      alarm.Properties.MetricName === metric &&
      asArray(alarm.Properties.Dimensions).some(
        (d) => isObject(d) && JSON.stringify(d.Value) === JSON.stringify(dimension),
      ),
  );
  if (!found) throw new Error(`no alarm on ${namespace} ${metric} for ${JSON.stringify(dimension)}`);
  return found;
};

describe('functions', () => {
  it.each(FUNCTIONS)('$name runs nodejs24.x on arm64 with its own bundle handler', ({ logicalId, dir }) => {
    const fn = resourceOf(t, logicalId, 'AWS::Lambda::Function').Properties;
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.Handler).toBe(`dist/${dir}/index.handler`);
    expect(fn.MemorySize).toBe(256);
    expect(fn.Timeout).toBe(30);
  });

  it.each(FUNCTIONS)('$name gets the configuration its code reads at load time', ({ logicalId }) => {
    const fn = resourceOf(t, logicalId, 'AWS::Lambda::Function').Properties;
    expect(fn.Environment).toEqual({
      Variables: {
        IDEMPOTENCY_TABLE_NAME: ref('IdempotencyTable'),
        DEAD_LETTER_QUEUE_URL: ref('DeadLetterQueue'),
        IDEMPOTENCY_EXPIRY_SECONDS: '86400',
        POWERTOOLS_SERVICE_NAME: 'glue-mv-stop',
        POWERTOOLS_METRICS_NAMESPACE: 'GlueMvStop',
        POWERTOOLS_LOG_LEVEL: CI.logLevel,
      },
    });
  });

  it('each function runs under its own role, and there is no shared default role', () => {
    for (const { logicalId, role } of FUNCTIONS) {
      const fn = resourceOf(t, logicalId, 'AWS::Lambda::Function').Properties;
      expect(fn.Role).toEqual({ 'Fn::Sub': `\${${role}.Arn}` });
    }
    expect(t.Resources.IamRoleLambdaExecution).toBeUndefined();
    expect(
      resourcesOfType(t, 'AWS::IAM::Role')
        .map(([id]) => id)
        .sort(),
    ).toEqual(FUNCTIONS.map(({ role }) => role).sort());
  });

  it.each(FUNCTIONS)('$name zip holds only its bundle, without source maps', ({ name, dir }) => {
    const entries = ci.zips[name] ?? [];
    expect(entries.map((entry) => entry.name)).toEqual([`dist/${dir}/index.cjs`]);
    expect(entries[0]?.uncompressedSize).toBeGreaterThan(10_000);
  });
});

describe('stop queue and its event source mapping', () => {
  it('reports batch item failures, with batch size and concurrency from the stage params', () => {
    const mapping = resourceOf(
      t,
      'StopFromQueueEventSourceMappingSQSStopQueue',
      'AWS::Lambda::EventSourceMapping',
    );
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: getAtt('StopQueue', 'Arn'),
      FunctionName: getAtt('StopFromQueueLambdaFunction', 'Arn'),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: CI.batchSize,
      MaximumBatchingWindowInSeconds: CI.maximumBatchingWindow,
      ScalingConfig: { MaximumConcurrency: CI.maximumConcurrency },
      Enabled: true,
    });
  });

  it('the defaults apply to stages without their own params', () => {
    const mapping = resourceOf(
      dev.template,
      'StopFromQueueEventSourceMappingSQSStopQueue',
      'AWS::Lambda::EventSourceMapping',
    );
    expect(mapping.Properties).toMatchObject({
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 1,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('is encrypted, and hides a message for at least 6 x the function timeout + the batching window', () => {
    const queue = resourceOf(t, 'StopQueue', 'AWS::SQS::Queue').Properties;
    const timeout = Number(
      resourceOf(t, 'StopFromQueueLambdaFunction', 'AWS::Lambda::Function').Properties.Timeout,
    );
    expect(queue.SqsManagedSseEnabled).toBe(true);
    expect(Number(queue.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * timeout + CI.maximumBatchingWindow);
  });

  it('moves a message to the dead-letter queue after maxReceiveCount receives', () => {
    expect(resourceOf(t, 'StopQueue', 'AWS::SQS::Queue').Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt('DeadLetterQueue', 'Arn'),
      maxReceiveCount: CI.maxReceiveCount,
    });
  });

  it("lets this account's EventBridge rules, and nobody else, send to it", () => {
    const policy = resourceOf(t, 'StopQueuePolicy', 'AWS::SQS::QueuePolicy').Properties;
    expect(policy.Queues).toEqual([ref('StopQueue')]);
    const [statement, ...others] = asArray(
      isObject(policy.PolicyDocument) ? policy.PolicyDocument.Statement : [],
    );
    expect(others).toEqual([]);
    expect(statement).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'events.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: getAtt('StopQueue', 'Arn'),
      Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') } },
    });
  });
});

describe('dead-letter queue', () => {
  it('is encrypted and keeps messages for 14 days', () => {
    const dlq = resourceOf(t, 'DeadLetterQueue', 'AWS::SQS::Queue').Properties;
    expect(dlq.SqsManagedSseEnabled).toBe(true);
    expect(dlq.MessageRetentionPeriod).toBe(1_209_600);
  });

  it('accepts dead letters from the stop queue only', () => {
    const dlq = resourceOf(t, 'DeadLetterQueue', 'AWS::SQS::Queue').Properties;
    const queueName = resourceOf(t, 'StopQueue', 'AWS::SQS::Queue').Properties.QueueName;
    expect(typeof queueName).toBe('string');
    const allow = dlq.RedriveAllowPolicy;
    expect(isObject(allow) && allow.redrivePermission).toBe('byQueue');
    const sources = isObject(allow) ? asArray(allow.sourceQueueArns).map(subString) : [];
    expect(sources).toEqual([
      `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${String(queueName)}`,
    ]);
  });

  it('lets only the stop rule park undeliverable events in it', () => {
    const policy = resourceOf(t, 'DeadLetterQueuePolicy', 'AWS::SQS::QueuePolicy').Properties;
    expect(policy.Queues).toEqual([ref('DeadLetterQueue')]);
    const statements = asArray(isObject(policy.PolicyDocument) ? policy.PolicyDocument.Statement : []);
    expect(statements).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: getAtt('DeadLetterQueue', 'Arn'),
        Condition: { ArnEquals: { 'aws:SourceArn': getAtt('StopEventRule', 'Arn') } },
      }),
    ]);
  });
});

describe('idempotency table', () => {
  it('is on-demand, keyed by id, expires records on expiration, with PITR and encryption', () => {
    const table = resourceOf(t, 'IdempotencyTable', 'AWS::DynamoDB::Table').Properties;
    expect(table).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: false,
    });
  });
});

describe('EventBridge trigger', () => {
  it('matches stop events on the configured bus and sends them to stopFromEvent', () => {
    const rule = resourceOf(t, 'StopEventRule', 'AWS::Events::Rule').Properties;
    expect(rule.EventBusName).toBe('default');
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventPattern).toEqual({
      source: ['glue-mv-stop'],
      'detail-type': ['Stop Materialized View Refresh'],
    });
    expect(rule.Targets).toEqual([
      {
        Id: 'stopFromEvent',
        Arn: getAtt('StopFromEventLambdaFunction', 'Arn'),
        RetryPolicy: {
          MaximumRetryAttempts: CI.eventRetryAttempts,
          MaximumEventAgeInSeconds: CI.eventMaximumAgeSeconds,
        },
        DeadLetterConfig: { Arn: getAtt('DeadLetterQueue', 'Arn') },
      },
    ]);
  });

  it('only the stop rule may invoke stopFromEvent', () => {
    const permissions = resourcesOfType(t, 'AWS::Lambda::Permission').map(([, p]) => p.Properties);
    expect(permissions).toEqual([
      expect.objectContaining({
        Action: 'lambda:InvokeFunction',
        FunctionName: getAtt('StopFromEventLambdaFunction', 'Arn'),
        Principal: 'events.amazonaws.com',
        SourceArn: getAtt('StopEventRule', 'Arn'),
      }),
    ]);
  });

  it('keeps failed asynchronous invocations in the dead-letter queue after two retries', () => {
    const [entry, ...others] = resourcesOfType(t, 'AWS::Lambda::EventInvokeConfig');
    expect(others).toEqual([]);
    expect(entry?.[1].Properties).toEqual({
      FunctionName: ref('StopFromEventLambdaFunction'),
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: CI.eventMaximumAgeSeconds,
      DestinationConfig: { OnFailure: { Destination: getAtt('DeadLetterQueue', 'Arn') } },
    });
  });
});

describe('alarms', () => {
  it('watch the dead-letter queue depth, both functions and the age of the oldest stop request', () => {
    const dlq = alarmOn(
      t,
      'AWS/SQS',
      'ApproximateNumberOfMessagesVisible',
      getAtt('DeadLetterQueue', 'QueueName'),
    );
    expect(dlq.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    for (const { logicalId } of FUNCTIONS) {
      const errors = alarmOn(t, 'AWS/Lambda', 'Errors', ref(logicalId));
      expect(errors.Properties).toMatchObject({
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    const age = alarmOn(t, 'AWS/SQS', 'ApproximateAgeOfOldestMessage', getAtt('StopQueue', 'QueueName'));
    expect(age.Properties.ComparisonOperator).toBe('GreaterThanThreshold');
    expect(Number(age.Properties.Threshold)).toBeGreaterThan(0);
  });

  it('watch for stop requests that reached neither a function nor the dead-letter queue', () => {
    alarmOn(t, 'AWS/Events', 'InvocationsFailedToBeSentToDlq', ref('StopEventRule'));
    alarmOn(t, 'AWS/Lambda', 'DestinationDeliveryFailures', ref('StopFromEventLambdaFunction'));
  });

  it('all notify the alarm topic, which is encrypted with a key CloudWatch may use', () => {
    for (const alarm of alarms(t)) {
      expect(alarm.Properties.AlarmActions).toEqual([ref('AlarmTopic')]);
    }
    const topic = resourceOf(t, 'AlarmTopic', 'AWS::SNS::Topic').Properties;
    expect(topic.KmsMasterKeyId).toEqual(ref('AlarmTopicKey'));
    const keyPolicy = resourceOf(t, 'AlarmTopicKey', 'AWS::KMS::Key').Properties.KeyPolicy;
    const statements = asArray(isObject(keyPolicy) ? keyPolicy.Statement : []);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      }),
    );
  });

  it('e-mail the alarmEmail param when it is set, and subscribe nobody when it is empty', () => {
    expect(resourceOf(t, 'AlarmEmailSubscription', 'AWS::SNS::Subscription').Properties).toEqual({
      TopicArn: ref('AlarmTopic'),
      Protocol: 'email',
      Endpoint: CI.alarmEmail,
    });
    expect(resourcesOfType(dev.template, 'AWS::SNS::Subscription')).toEqual([]);
  });
});

describe('IAM: least privilege per function', () => {
  const identityPolicies = (template: Template): [string, Statement[]][] =>
    Object.entries(template.Resources)
      .filter(([, r]) => ['AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(r.Type))
      .map(([id, r]) => [id, identityStatements(r)]);

  it('no statement allows a wildcard action or a bare "*" resource', () => {
    const policies = identityPolicies(t);
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const [id, statements] of policies) {
      expect(statements.length, id).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(statement.NotAction, id).toBeUndefined();
        expect(statement.NotResource, id).toBeUndefined();
        const actions = actionsOf(statement);
        expect(actions.length, id).toBeGreaterThan(0);
        for (const action of actions) expect(action, id).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
        const resources = asArray(statement.Resource);
        expect(resources.length, id).toBeGreaterThan(0);
        for (const resource of resources) expect(resource, id).not.toBe('*');
      }
    }
  });

  it('only the queue function may consume the stop queue', () => {
    const consume = statementWithAction(statementsOfRole(t, 'StopFromQueueRole'), 'sqs:ReceiveMessage');
    expect(actionsOf(consume).sort()).toEqual([...SQS_CONSUME_ACTIONS].sort());
    expect(consume.Resource).toEqual(getAtt('StopQueue', 'Arn'));

    const eventActions = statementsOfRole(t, 'StopFromEventRole').flatMap(actionsOf);
    for (const action of SQS_CONSUME_ACTIONS) expect(eventActions).not.toContain(action);
  });

  it.each(FUNCTIONS)(
    '$name may write its own log group, the idempotency table and the dead-letter queue',
    ({ role, name }) => {
      const statements = statementsOfRole(t, role);
      const logs = statementWithAction(statements, 'logs:PutLogEvents');
      expect(actionsOf(logs).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs.Resource).toEqual(getAtt(`${name[0]?.toUpperCase()}${name.slice(1)}LogGroup`, 'Arn'));

      const table = statementWithAction(statements, 'dynamodb:PutItem');
      expect(actionsOf(table).sort()).toEqual([...DYNAMODB_ACTIONS].sort());
      expect(table.Resource).toEqual(getAtt('IdempotencyTable', 'Arn'));

      const park = statementWithAction(statements, 'sqs:SendMessage');
      expect(actionsOf(park)).toEqual(['sqs:SendMessage']);
      expect(park.Resource).toEqual(getAtt('DeadLetterQueue', 'Arn'));
    },
  );

  it.each(FUNCTIONS)(
    '$name may stop refresh runs only in the catalog and databases of the stage params',
    ({ role }) => {
      const statement = statementWithAction(statementsOfRole(t, role), STOP_ACTION);
      expect(actionsOf(statement)).toEqual([STOP_ACTION]);
      const prefix = `${GLUE_ARN_PREFIX}:${THIS_ACCOUNT}`;
      expect(glueResourceArns(t, role).sort()).toEqual(
        [
          `${prefix}:catalog`,
          ...CI.databases.map((db) => `${prefix}:database/${db}`),
          ...CI.databases.map((db) => `${prefix}:table/${db}/*`),
        ].sort(),
      );
    },
  );

  it('glueDatabases "*" (the default) grants every database of the catalog, still by ARN', () => {
    const arns = glueResourceArns(dev.template, 'StopFromQueueRole');
    expect(arns).toContain(`${GLUE_ARN_PREFIX}:${THIS_ACCOUNT}:database/*`);
    expect(arns).toContain(`${GLUE_ARN_PREFIX}:${THIS_ACCOUNT}:table/*/*`);
  });
});

describe('outputs', () => {
  it('publish the queues, the table, the rule and the alarm topic', () => {
    expect(t.Outputs).toMatchObject({
      StopQueueUrl: { Value: ref('StopQueue') },
      StopQueueArn: { Value: getAtt('StopQueue', 'Arn') },
      DeadLetterQueueUrl: { Value: ref('DeadLetterQueue') },
      DeadLetterQueueArn: { Value: getAtt('DeadLetterQueue', 'Arn') },
      IdempotencyTableName: { Value: ref('IdempotencyTable') },
      StopEventRuleName: { Value: ref('StopEventRule') },
      AlarmTopicArn: { Value: ref('AlarmTopic') },
    });
  });
});

describe('deploy/ variable resolvers', () => {
  const require = createRequire(import.meta.url);
  const glue = require('../../deploy/glue-resources.cjs') as {
    glueStopResources: (params: { catalogId?: unknown; databases: unknown }) => { 'Fn::Sub': string }[];
  };
  const queue = require('../../deploy/queue-settings.cjs') as {
    visibilityTimeoutFor: (settings: { functionTimeout: unknown; maximumBatchingWindow: unknown }) => number;
  };
  const email = require('../../deploy/alarm-email.cjs') as {
    alarmEmailResources: (value: unknown) => object;
  };

  it('glue ARNs: an explicit catalog account, trimmed and de-duplicated names', () => {
    expect(glue.glueStopResources({ catalogId: '111122223333', databases: ' sales, ,sales,hr_2 ' })).toEqual([
      { 'Fn::Sub': `${GLUE_ARN_PREFIX}:111122223333:catalog` },
      { 'Fn::Sub': `${GLUE_ARN_PREFIX}:111122223333:database/sales` },
      { 'Fn::Sub': `${GLUE_ARN_PREFIX}:111122223333:database/hr_2` },
      { 'Fn::Sub': `${GLUE_ARN_PREFIX}:111122223333:table/sales/*` },
      { 'Fn::Sub': `${GLUE_ARN_PREFIX}:111122223333:table/hr_2/*` },
    ]);
  });

  it.each([
    ['a wildcard inside a name', { databases: 'sales*' }],
    ['"*" mixed with names', { databases: '*,sales' }],
    ['a name with a slash', { databases: 'a/b' }],
    ['no database at all', { databases: ' , ' }],
    ['a catalog that is not an account ID', { catalogId: 'arn:aws:glue', databases: 'sales' }],
  ])('glue ARNs: refuses %s', (_label, params) => {
    expect(() => glue.glueStopResources(params)).toThrow(/param glue/);
  });

  it('visibility timeout is 6 x function timeout + batching window', () => {
    expect(queue.visibilityTimeoutFor({ functionTimeout: 30, maximumBatchingWindow: 1 })).toBe(181);
    expect(() => queue.visibilityTimeoutFor({ functionTimeout: 'x', maximumBatchingWindow: 1 })).toThrow();
  });

  it('alarm e-mail: nothing when empty, refuses what is not an address', () => {
    expect(email.alarmEmailResources('')).toEqual({});
    expect(email.alarmEmailResources(undefined)).toEqual({});
    expect(() => email.alarmEmailResources('not-an-address')).toThrow(/alarmEmail/);
  });
});
