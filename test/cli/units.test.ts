/**
 * The CLI's parts that need no AWS: durations, queue URLs and ARNs, how a dead letter is read, the
 * progress bar, and the SDK clients honouring --profile and --region as aws-cli does.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { accountOfQueue, createAwsClients, eventBusOfRuleArn, queueUrlOf } from '../../src/cli/aws.ts';
import { classifyDeadLetter } from '../../src/cli/dead-letters.ts';
import { formatDuration, formatTable, parseDuration, printable } from '../../src/cli/format.ts';
import { createProgress } from '../../src/cli/progress.ts';

describe('durations', () => {
  it('reads the durations the filters take', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('7d')).toBe(604_800_000);
    expect(parseDuration('2 hours')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
    expect(parseDuration('h')).toBeUndefined();
  });

  it('prints how long something has run to the precision a person reads', () => {
    expect(formatDuration(12_400)).toBe('12s');
    expect(formatDuration(250_000)).toBe('4m 10s');
    expect(formatDuration(3_720_000)).toBe('1h 02m');
    expect(formatDuration(90_000_000)).toBe('1d 01h');
    expect(formatDuration(-1)).toBe('?');
  });

  it('aligns table columns and escapes what a terminal would not show', () => {
    expect(formatTable(['A', 'LONG'], [['wide cell', 'x']])).toBe('A          LONG\nwide cell  x\n');
    expect(printable('a\u0007b\uffff\ud800 😀')).toBe('a\\u0007b\\uffff\\ud800 😀');
  });
});

describe('queues, buses and accounts', () => {
  it('turns a queue ARN into its URL and reads the account of either', () => {
    expect(queueUrlOf('arn:aws:sqs:eu-west-1:123456789012:glue-mv-stop-prod-stop', '--queue-url')).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/glue-mv-stop-prod-stop',
    );
    expect(queueUrlOf('arn:aws-cn:sqs:cn-north-1:123456789012:q', '--queue-url')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q',
    );
    expect(() => queueUrlOf('glue-mv-stop-prod-stop', '--queue-url')).toThrow(/not an SQS queue URL or ARN/);
    expect(accountOfQueue('https://sqs.eu-west-1.amazonaws.com/123456789012/q')).toBe('123456789012');
    expect(accountOfQueue('arn:aws:sqs:eu-west-1:210987654321:q')).toBe('210987654321');
  });

  it('reads the bus from the stop rule’s ARN', () => {
    expect(eventBusOfRuleArn('arn:aws:events:eu-west-1:123456789012:rule/glue-mv-stop-prod-stop')).toBe(
      'default',
    );
    expect(
      eventBusOfRuleArn('arn:aws:events:eu-west-1:123456789012:rule/ops-bus/glue-mv-stop-prod-stop'),
    ).toBe('ops-bus');
  });
});

describe('reading a dead letter', () => {
  it('reads a stop event inside an invocation record of the event function', () => {
    const letter = classifyDeadLetter({
      MessageId: 'm',
      Body: JSON.stringify({
        requestContext: {
          functionArn: 'arn:aws:lambda:us-east-1:1:function:glue-mv-stop-prod-stopFromEvent',
          condition: 'EventAgeExceeded',
        },
        requestPayload: {
          id: 'e',
          source: 'glue-mv-stop',
          'detail-type': 'Stop Materialized View Refresh',
          detail: { DatabaseName: 'sales', TableNames: ['a*', 'b'] },
        },
        responsePayload: { errorType: 'TimeoutError' },
      }),
      Attributes: { SentTimestamp: '1796200000000', ApproximateReceiveCount: '2' },
    });

    expect(letter).toMatchObject({
      kind: 'invocation-record',
      outcome: 'failed-invocation',
      reason: 'EventAgeExceeded',
      trigger: 'eventbridge',
      target: 'sales.{a*,b}',
      detail: 'TimeoutError',
      sentAt: new Date(1796200000000).toISOString(),
      receiveCount: 2,
      redrive: { kind: 'send' },
    });
  });

  it('reads a window payload Scheduler could not deliver, and the stack’s own scope tasks', () => {
    const window = classifyDeadLetter({
      MessageId: 'w',
      Body: JSON.stringify({
        window: 'nightly',
        scope: { database: 'finance', tables: ['*'] },
        scheduledTime: 'x',
      }),
      MessageAttributes: { ERROR_CODE: { StringValue: 'AWS.Lambda.ServiceException', DataType: 'String' } },
    });
    const task = classifyDeadLetter({
      MessageId: 't',
      Body: JSON.stringify({
        ScopeTask: { Kind: 'stop', DatabaseName: 'sales', Views: [{ TableName: 'a' }, { TableName: 'b' }] },
      }),
    });

    expect(window).toMatchObject({ kind: 'undelivered-event', trigger: 'schedule', target: 'finance.{*}' });
    expect(task).toMatchObject({ kind: 'stop-queue-give-up', target: 'sales.{a,b}' });
  });

  it('never throws on a body it cannot read', () => {
    expect(classifyDeadLetter({ MessageId: 'x', Body: 'not json' })).toMatchObject({
      target: '?',
      redrive: { kind: 'send' },
    });
    expect(
      classifyDeadLetter({
        MessageId: 'y',
        Body: '"unterminated',
        MessageAttributes: {
          'glue-mv-stop.outcome': { StringValue: 'rejected' },
          'glue-mv-stop.body': { StringValue: 'json-string' },
        },
      }).redrive,
    ).toMatchObject({ kind: 'keep', why: expect.stringMatching(/cannot be restored/) });
  });
});

describe('progress bar', () => {
  it('draws on a terminal only, and erases itself when done', () => {
    let tty = '';
    let pipe = '';
    const onTty = createProgress(
      { write: (t: string) => (tty += t), isTTY: true, columns: 80 },
      'sending',
      20,
      () => 0,
    );
    const onPipe = createProgress({ write: (t: string) => (pipe += t), isTTY: false }, 'sending', 20);

    for (const p of [onTty, onPipe]) {
      p.update(20);
      p.finish();
    }

    expect(tty).toContain('sending [');
    expect(tty).toContain('20/20');
    expect(tty.endsWith('\r\u001b[2K')).toBe(true);
    expect(pipe).toBe('');
  });
});

describe('AWS clients as aws-cli users expect them', () => {
  const saved = { ...process.env };
  let dir: string | undefined;
  afterEach(async () => {
    for (const key of ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_REGION', 'AWS_PROFILE']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const profileFiles = async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'glue-mv-stop-profile-'));
    const credentials = path.join(dir, 'credentials');
    const config = path.join(dir, 'config');
    await writeFile(
      credentials,
      '[cli-test]\naws_access_key_id = AKIAPROFILEKEY\naws_secret_access_key = secret\n',
    );
    await writeFile(config, '[profile cli-test]\nregion = eu-central-1\n');
    process.env.AWS_SHARED_CREDENTIALS_FILE = credentials;
    process.env.AWS_CONFIG_FILE = config;
  };

  it('takes credentials and region from --profile, over the environment’s keys', async () => {
    await profileFiles();
    delete process.env.AWS_REGION;
    const clients = createAwsClients({ profile: 'cli-test' });

    const credentials = await clients.sqs().config.credentials();
    const region = await clients.glue().config.region();
    clients.destroy();

    expect(credentials.accessKeyId).toBe('AKIAPROFILEKEY');
    expect(region).toBe('eu-central-1');
  });

  it('lets --region win over the profile’s region', async () => {
    await profileFiles();
    const clients = createAwsClients({ profile: 'cli-test', region: 'ap-southeast-2' });

    const region = await clients.cloudFormation().config.region();
    clients.destroy();

    expect(region).toBe('ap-southeast-2');
  });

  it('uses the default chain without --profile (here: the environment’s keys)', async () => {
    const clients = createAwsClients({});

    const credentials = await clients.eventBridge().config.credentials();
    clients.destroy();

    expect(credentials.accessKeyId).toBe(process.env.AWS_ACCESS_KEY_ID);
  });
});
