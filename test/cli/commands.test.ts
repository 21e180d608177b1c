/**
 * The CLI's commands in process (`run(argv, io)`) against local AWS: plan, send, runs and config check,
 * and the mistakes a user makes (unknown flag, missing file, invalid request, unknown stage).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StopMaterializedViewRefreshTaskRunCommand } from '@aws-sdk/client-glue';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAwsClients, ReadOnlyViolationError } from '../../src/cli/aws.ts';
import { type CliWorld, STAGE, startCliWorld } from './world.ts';

let world: CliWorld;
const MINUTE = 60_000;

beforeAll(async () => {
  world = await startCliWorld();
});
afterAll(async () => {
  await world.close();
});
beforeEach(async () => {
  world.local.glue.reset();
  world.local.eventBridge.reset();
  await world.drain(world.local.stopQueueUrl);
});

const seed = (
  databaseName: string,
  tableName: string,
  minutesAgo: number,
  status: 'RUNNING' | 'STARTING' = 'RUNNING',
) =>
  world.local.glue.seedRun({
    databaseName,
    tableName,
    status,
    startTime: new Date(Date.now() - minutesAgo * MINUTE),
  });

const glueOperations = () => new Set(world.local.glue.calls.map((c) => c.operation));

const noStackTrace = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+/);

describe('runs', () => {
  it('lists the running refreshes of a database with status and how long each has run', async () => {
    const orders = seed('sales', 'orders_mv', 62);
    seed('sales', 'returns_mv', 1, 'STARTING');
    seed('marketing', 'campaign_a', 5);
    const finished = seed('sales', 'old_mv', 90);
    world.local.glue.finishRun(finished, 'SUCCEEDED');

    const { code, out } = await world.cli(['runs', '--stage', STAGE, '--database', 'sales']);

    expect(code).toBe(0);
    expect(out).toMatch(/VIEW\s+RUN ID\s+STATUS\s+STARTED\s+RUNNING FOR/);
    expect(out).toMatch(new RegExp(`sales\\.orders_mv\\s+${orders}\\s+RUNNING\\s+\\S+\\s+1h 02m`));
    expect(out).toMatch(/sales\.returns_mv\s+\S+\s+STARTING/);
    expect(out).not.toContain('old_mv');
    expect(out).not.toContain('campaign_a');
    expect(out).toContain('2 running refreshes in catalog 123456789012');
  });

  it('filters by globs and prints JSON', async () => {
    seed('sales', 'daily_orders_mv', 3);
    seed('sales', 'daily_returns_mv', 4);
    seed('sales', 'weekly_mv', 5);

    const { code, out } = await world.cli([
      'runs',
      '--stage',
      STAGE,
      '--database',
      'sales',
      '--tables',
      'daily_*',
      '--json',
    ]);

    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json.catalogId).toBe('123456789012');
    expect(json.runs.map((r: { view: string }) => r.view)).toEqual([
      'sales.daily_orders_mv',
      'sales.daily_returns_mv',
    ]);
    expect(json.runs[0]).toMatchObject({ status: 'RUNNING', runningForMs: expect.any(Number) });
  });

  it('takes --stage, --region and --profile before the command’s name too', async () => {
    seed('sales', 'orders_mv', 3);

    const { code, out } = await world.cli([
      '--stage',
      STAGE,
      '--region',
      'us-east-1',
      'runs',
      '--database',
      'sales',
    ]);

    expect(code).toBe(0);
    expect(out).toContain('sales.orders_mv');
  });

  it('takes the catalog from --catalog-id without any stack', async () => {
    seed('sales', 'orders_mv', 3);

    const { code, out } = await world.cli(['runs', '--catalog-id', '123456789012', '--database', 'sales']);

    expect(code).toBe(0);
    expect(out).toContain('sales.orders_mv');
    expect(world.cloudFormation.calls.filter((c) => c.includes('nope'))).toEqual([]);
  });

  it('says in one line that a database is needed (exit 2)', async () => {
    const { code, err } = await world.cli(['runs', '--stage', STAGE]);

    expect(code).toBe(2);
    expect(err).toBe('error: which database? pass --database <name>\n');
  });
});

describe('plan', () => {
  it('shows what a scope would stop, and what the allow-list leaves alone, with List calls only', async () => {
    const campaign = seed('marketing', 'campaign_spring', 10);
    const revenue = seed('marketing', 'revenue_mv', 20);

    const { code, out } = await world.cli([
      'plan',
      '--stage',
      STAGE,
      '--database',
      'marketing',
      '--tables',
      '*',
    ]);

    expect(code).toBe(0);
    expect(out).toContain(
      'plan for request: marketing.{*} in catalog 123456789012 (allow-list from config/local.json)',
    );
    expect(out).toContain('would stop 1 running refresh:');
    expect(out).toMatch(
      new RegExp(`marketing\\.campaign_spring\\s+${campaign}\\s+RUNNING\\s+\\S+\\s+10m 00s`),
    );
    expect(out).toContain('left alone (1):');
    expect(out).toMatch(new RegExp(`marketing\\.revenue_mv\\s+${revenue}.*outside the allow-list`));
    expect(out).toContain('nothing was stopped');
    expect(glueOperations()).toEqual(new Set(['ListMaterializedViewRefreshTaskRuns']));
    expect(world.local.glue.getRun(campaign)?.status).toBe('RUNNING');
  });

  it('plans a cost guard of the stage as if its alarm went into ALARM now', async () => {
    seed('sales', 'orders_mv', 30);
    seed('sales', 'returns_mv', 2);
    seed('finance', 'risk_mv', 2);

    const { code, out } = await world.cli([
      'plan',
      '--stage',
      STAGE,
      '--alarm',
      'sales-glue-dpu-spend',
      '--json',
    ]);

    expect(code).toBe(0);
    const [plan] = JSON.parse(out).plans;
    expect(plan.origin).toBe('cost guard sales-glue-dpu-spend');
    expect(plan.request).toMatchObject({
      DatabaseName: 'sales',
      TableNames: ['*'],
      RequestedBy: 'cloudwatch-alarm:sales-glue-dpu-spend',
    });
    expect(plan.stops.map((s: { view: string }) => s.view)).toEqual(['sales.orders_mv', 'sales.returns_mv']);
    expect(glueOperations()).toEqual(new Set(['ListMaterializedViewRefreshTaskRuns']));
  });

  it('plans a maintenance window of the stage as if its schedule fired now', async () => {
    seed('finance', 'positions_mv', 7);
    seed('sales', 'orders_mv', 7);

    const { code, out } = await world.cli(['plan', '--stage', STAGE, '--window', 'finance-nightly']);

    expect(code).toBe(0);
    expect(out).toContain('plan for maintenance window finance-nightly: finance.{*}');
    expect(out).toMatch(/finance\.positions_mv\s+\S+\s+RUNNING/);
    expect(out).not.toContain('sales.orders_mv');
  });

  it('shows the run guard: a run that is not the one named is left alone', async () => {
    const current = seed('sales', 'orders_mv', 3);

    const { out } = await world.cli([
      'plan',
      '--stage',
      STAGE,
      '--database',
      'sales',
      '--table',
      'orders_mv',
      '--run-id',
      '00000000-0000-4000-8000-000000000000',
    ]);

    expect(out).toContain('would stop nothing');
    expect(out).toMatch(new RegExp(`sales\\.orders_mv\\s+${current}.*run guard: newer run, skipped`));
  });

  it('says when the stack would refuse the request as a whole, and when it would be a dry run', async () => {
    seed('hr', 'salaries_mv', 3);
    const config = path.join(world.dir, 'dry.json');
    await writeFile(config, JSON.stringify({ allow: [{ database: 'sales' }], dryRun: true }));

    const refused = await world.cli(['plan', '--stage', STAGE, '--database', 'hr', '--table', 'salaries_mv']);
    const dry = await world.cli([
      'plan',
      '--config',
      config,
      '--account-id',
      '123456789012',
      '--database',
      'sales',
      '--tables',
      '*',
    ]);

    expect(refused.out).toContain('the stack would refuse the request as database-not-allowed');
    expect(refused.out).toMatch(/hr\.salaries_mv.*outside the allow-list/);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('dry run: the stage is in dry-run');
  });

  it('never calls Stop: its Glue client refuses every command but List before sending it', async () => {
    const run = seed('sales', 'orders_mv', 3);
    const clients = createAwsClients({});

    await expect(
      clients.glue().send(
        new StopMaterializedViewRefreshTaskRunCommand({
          CatalogId: '123456789012',
          DatabaseName: 'sales',
          TableName: 'orders_mv',
        }),
      ),
    ).rejects.toBeInstanceOf(ReadOnlyViolationError);
    clients.destroy();

    for (const argv of [
      ['plan', '--stage', STAGE, '--database', 'sales', '--tables', '*'],
      ['plan', '--stage', STAGE, '--database', 'sales', '--table', 'orders_mv'],
      ['plan', '--stage', STAGE, '--alarm', 'sales-glue-dpu-spend'],
      ['plan', '--stage', STAGE, '--window', 'finance-nightly'],
    ]) {
      expect((await world.cli(argv)).code).toBe(0);
    }
    expect(world.local.glue.callCount('StopMaterializedViewRefreshTaskRun')).toBe(0);
    expect(world.local.glue.callCount()).toBe(
      world.local.glue.callCount('ListMaterializedViewRefreshTaskRuns'),
    );
    expect(world.local.glue.getRun(run)?.status).toBe('RUNNING');
  });

  it('refuses to plan with a broken configuration, naming its first problem in one line (exit 1)', async () => {
    const file = path.join(world.dir, 'typo.json');
    await writeFile(file, JSON.stringify({ allow: [{ database: 'sales', table: ['x'] }] }));

    const { code, err } = await world.cli([
      'plan',
      '--config',
      file,
      '--account-id',
      '123456789012',
      '--alarm',
      'a',
    ]);

    expect(code).toBe(1);
    expect(err).toMatch(/^error: .*typo\.json: allow\.0\.table: unknown field "table".*\(unknown-field\)\n$/);
  });

  it('names the cost guards there are when --alarm names none of them (exit 1)', async () => {
    const { code, err } = await world.cli(['plan', '--stage', STAGE, '--alarm', 'no-such-alarm']);

    expect(code).toBe(1);
    expect(err).toBe(
      'error: --alarm no-such-alarm: no cost guard of the stage watches this alarm (it has: sales-glue-dpu-spend)\n',
    );
  });

  it('wants one thing to plan (exit 2)', async () => {
    const none = await world.cli(['plan', '--stage', STAGE]);
    const two = await world.cli(['plan', '--stage', STAGE, '--alarm', 'a', '--window', 'b']);

    expect(none.code).toBe(2);
    expect(none.err).toMatch(/^error: what to plan\?/);
    expect(two.code).toBe(2);
    expect(two.err).toBe('error: plan one thing at a time, not --alarm and --window\n');
  });
});

describe('send', () => {
  it('sends a request from flags to the stop queue of the stage', async () => {
    const { code, out } = await world.cli([
      'send',
      '--stage',
      STAGE,
      '--database',
      'sales',
      '--table',
      'orders_mv',
      '--reason',
      'runaway cost',
      '--requested-by',
      'ops',
      '--idempotency-key',
      'ops-2026-12-02',
    ]);

    expect(code).toBe(0);
    expect(out).toMatch(/^sent sales\.orders_mv by SQS \(message [0-9a-f-]+\)\n$/);
    const [message] = await world.drain(world.local.stopQueueUrl);
    expect(JSON.parse(message?.Body ?? '')).toEqual({
      DatabaseName: 'sales',
      TableName: 'orders_mv',
      Reason: 'runaway cost',
      RequestedBy: 'ops',
      IdempotencyKey: 'ops-2026-12-02',
    });
  });

  it('sends NDJSON, reports invalid lines with line number, field and rule, and exits 1', async () => {
    const lines = [
      JSON.stringify({ DatabaseName: 'sales', TableName: 'orders_mv' }),
      '',
      JSON.stringify({ DatabaseName: 'sales', TableName: 'x'.repeat(256) }),
      '{"DatabaseName": "sales", ',
      JSON.stringify({ DatabaseName: 'sales', TableNames: ['daily_*'], Tablename: 'typo' }),
      JSON.stringify({ DatabaseName: 'finance', TableNames: ['*'] }),
    ];
    await writeFile(path.join(world.dir, 'requests.ndjson'), `${lines.join('\n')}\n`);

    const { code, out, err } = await world.cli(
      ['send', '--stage', STAGE, '--file', 'requests.ndjson', '--requested-by', 'ops'],
      { cwd: world.dir },
    );

    expect(code).toBe(1);
    expect(err).toContain(
      'invalid: requests.ndjson:3: TableName: must be at most 255 characters (max-length)\n',
    );
    expect(err).toMatch(/invalid: requests\.ndjson:4: \(body\): is not valid JSON .*\(json\)\n/);
    expect(err).toContain(
      'invalid: requests.ndjson:5: Tablename: is not a field of the stop request (unknown-field)\n',
    );
    expect(out).toBe('sent 2 of 5 requests by SQS; 3 invalid\n');
    const bodies = (await world.drain(world.local.stopQueueUrl)).map((m) => JSON.parse(m.Body ?? ''));
    expect(bodies).toEqual(
      expect.arrayContaining([
        { DatabaseName: 'sales', TableName: 'orders_mv', RequestedBy: 'ops' },
        { DatabaseName: 'finance', TableNames: ['*'], RequestedBy: 'ops' },
      ]),
    );
    expect(bodies).toHaveLength(2);
    noStackTrace(err);
  });

  it('reads NDJSON from standard input and draws a progress bar on a terminal', async () => {
    const requests = Array.from({ length: 25 }, (_, i) =>
      JSON.stringify({ DatabaseName: 'sales', TableName: `v${i}_mv` }),
    );

    const { code, out, err } = await world.cli(['send', '--stage', STAGE, '--file', '-', '--json'], {
      stdin: `${requests.join('\n')}\n`,
      tty: true,
    });

    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json).toMatchObject({ via: 'sqs', sent: 25, invalid: 0, failed: 0 });
    expect(json.results[3]).toMatchObject({
      source: '(stdin):4',
      kind: 'sent',
      messageId: expect.any(String),
    });
    expect(err).toContain('sending [');
    expect(err).toContain('25/25');
    expect(await world.drain(world.local.stopQueueUrl)).toHaveLength(25);
  });

  it('draws no progress bar when stderr is not a terminal', async () => {
    const requests = Array.from({ length: 3 }, (_, i) =>
      JSON.stringify({ DatabaseName: 'sales', TableName: `v${i}` }),
    );

    const { err } = await world.cli(['send', '--stage', STAGE, '--file', '-'], {
      stdin: requests.join('\n'),
    });

    expect(err).toBe('');
  });

  it('sends by EventBridge to the bus of the stack’s stop rule', async () => {
    const { code, out } = await world.cli([
      'send',
      '--stage',
      STAGE,
      '--via',
      'eventbridge',
      '--database',
      'sales',
      '--tables',
      'daily_*,orders_mv',
      '--dry-run',
    ]);

    expect(code).toBe(0);
    expect(out).toMatch(/^sent sales\.\{daily_\*,orders_mv\} by EventBridge \(event [0-9a-f-]+\)\n$/);
    expect(world.local.eventBridge.events).toEqual([
      expect.objectContaining({
        source: 'glue-mv-stop',
        detailType: 'Stop Materialized View Refresh',
        eventBusName: 'default',
        detail: { DatabaseName: 'sales', TableNames: ['daily_*', 'orders_mv'], DryRun: true },
      }),
    ]);
  });

  it('reads a .json file holding one request or an array', async () => {
    await writeFile(
      path.join(world.dir, 'many.json'),
      JSON.stringify([{ DatabaseName: 'sales', TableName: 'a' }, { DatabaseName: 'sales' }]),
    );

    const { code, err } = await world.cli(['send', '--stage', STAGE, '--file', 'many.json'], {
      cwd: world.dir,
    });

    expect(code).toBe(1);
    expect(err).toBe(
      'invalid: many.json[1]: TableName: is required (or TableNames, for a scope) (required)\n',
    );
    expect(await world.drain(world.local.stopQueueUrl)).toHaveLength(1);
  });

  it('refuses an invalid request from flags naming the flag, and sends nothing', async () => {
    const { code, out, err } = await world.cli([
      'send',
      '--stage',
      STAGE,
      '--database',
      'sales',
      '--table',
      'orders_mv',
      '--tables',
      'a,b',
    ]);

    expect(code).toBe(1);
    expect(err).toBe(
      'invalid: (flags): TableNames (--tables): must not be given together with TableName (value)\n',
    );
    expect(out).toBe('sent 0 of 1 request; 1 invalid\n');
    expect(await world.drain(world.local.stopQueueUrl)).toHaveLength(0);
  });

  it('checks without sending with --check-only', async () => {
    const { code, out } = await world.cli(['send', '--database', 'sales', '--table', 'x', '--check-only']);

    expect(code).toBe(0);
    expect(out).toBe('1 valid request, 0 invalid; nothing sent (--check-only)\n');
    expect(world.cloudFormation.calls).not.toContain('DescribeStacks glue-mv-stop-undefined');
  });

  it('sends to a queue given by --queue-url, as URL or ARN', async () => {
    const byUrl = await world.cli([
      'send',
      '--queue-url',
      world.local.stopQueueUrl,
      '--database',
      'sales',
      '--table',
      'a',
    ]);
    const queueName = world.local.stopQueueUrl.split('/').at(-1);
    const byArn = await world.cli([
      'send',
      '--queue-url',
      `arn:aws:sqs:us-east-1:000000000000:${queueName}`,
      '--database',
      'sales',
      '--table',
      'b',
    ]);

    expect([byUrl.code, byArn.code]).toEqual([0, 0]);
    expect(
      (await world.drain(world.local.stopQueueUrl)).map((m) => JSON.parse(m.Body ?? '').TableName).sort(),
    ).toEqual(['a', 'b']);
  });
});

describe('config check', () => {
  it('passes a good stage configuration', async () => {
    const { code, out } = await world.cli(['config', 'check', '--stage', STAGE]);

    expect(code).toBe(0);
    expect(out).toBe('config/local.json: no problems\n');
  });

  it('prints one line per problem and exits 1 on errors', async () => {
    const file = path.join(world.dir, 'broken.json');
    await writeFile(
      file,
      JSON.stringify({
        allow: [{ database: 'sales', table: ['x'] }],
        maintenanceWindows: [{ name: 'w', schedule: 'cron(75 2 * * ? *)', scope: { database: 'sales' } }],
      }),
    );

    const { code, out } = await world.cli(['config', 'check', '--config', file]);

    expect(code).toBe(1);
    const lines = out.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^.*broken\.json: \d+ errors?, 0 warnings$/);
    expect(lines.some((l) => l.includes('allow.0.table') && l.endsWith('(unknown-field)'))).toBe(true);
    expect(lines.some((l) => l.includes('maintenanceWindows.0.schedule'))).toBe(true);
  });

  it('exits 0 with only warnings', async () => {
    const file = path.join(world.dir, 'warnings.json');
    await writeFile(
      file,
      JSON.stringify({
        allow: [{ database: 'sales' }],
        costGuards: [{ alarmName: 'hr-spend', scope: { database: 'hr' } }],
      }),
    );

    const { code, out } = await world.cli(['config', 'check', '--config', file, '--json']);

    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json).toMatchObject({ errors: 0, warnings: 1 });
    expect(json.problems[0]).toMatchObject({
      severity: 'warning',
      path: 'costGuards.0.scope',
      rule: 'outside-allow-list',
    });
  });

  it('reads config/default.json for a stage without a file, as the deployment does, and says so', async () => {
    const { code, err } = await world.cli(['config', 'check', '--stage', 'no-such-stage']);

    expect(code).toBe(0);
    expect(err).toBe(
      'note: stage no-such-stage has no config/no-such-stage.json: using config/default.json, as the deployment does\n',
    );
  });
});

describe('mistakes', () => {
  it('exits 2 on an unknown flag, with commander’s one-line message', async () => {
    const { code, err } = await world.cli(['send', '--databse', 'sales']);

    expect(code).toBe(2);
    expect(err).toMatch(/^error: unknown option '--databse'\n\(Did you mean --database\?\)\n/);
  });

  it('exits 2 on an unknown command and on a bad option value', async () => {
    const unknown = await world.cli(['stop']);
    const badLimit = await world.cli(['dlq', 'list', '--stage', STAGE, '--limit', '0']);
    const badVia = await world.cli(['send', '--via', 'carrier-pigeon']);

    expect([unknown.code, badLimit.code, badVia.code]).toEqual([2, 2, 2]);
    expect(badLimit.err).toContain('--limit must be a whole number of at least 1');
  });

  it('names a missing file in one line (exit 2)', async () => {
    const { code, err } = await world.cli(['send', '--stage', STAGE, '--file', 'nope.ndjson'], {
      cwd: world.dir,
    });

    expect(code).toBe(2);
    expect(err).toBe('error: cannot read nope.ndjson: no such file\n');
  });

  it('refuses --file together with target flags (exit 2)', async () => {
    const { code, err } = await world.cli(['send', '--file', 'x.ndjson', '--database', 'sales']);

    expect(code).toBe(2);
    expect(err).toBe('error: --file cannot be combined with --database\n');
  });

  it('says in one line that the stack of an unknown stage does not exist (exit 1)', async () => {
    const { code, err } = await world.cli(['send', '--stage', 'nope', '--database', 'sales', '--table', 'a']);

    expect(code).toBe(1);
    expect(err).toBe(
      'error: stage nope: stack glue-mv-stop-nope not found in us-east-1 (check --stage, --region and --profile)\n',
    );
  });

  it('says which flag would name the queue when there is no stage (exit 2)', async () => {
    const { code, err } = await world.cli(['send', '--database', 'sales', '--table', 'a']);

    expect(code).toBe(2);
    expect(err).toBe('error: which stop queue? pass --stage <stage> or --queue-url <url>\n');
  });

  it('refuses a stage that cannot name a stack (exit 2)', async () => {
    const { code, err } = await world.cli(['runs', '--stage', 'prod/eu', '--database', 'sales']);

    expect(code).toBe(2);
    expect(err).toBe('error: --stage "prod/eu": a stage is 1–64 letters, digits, "-" or "_"\n');
  });

  it('prints help for every command and exits 0', async () => {
    for (const argv of [
      ['--help'],
      ['plan', '--help'],
      ['send', '--help'],
      ['runs', '--help'],
      ['dlq', '--help'],
      ['dlq', 'list', '--help'],
      ['dlq', 'show', '--help'],
      ['dlq', 'redrive', '--help'],
      ['config', '--help'],
      ['config', 'check', '--help'],
    ]) {
      const { code, out } = await world.cli(argv);
      expect(code, argv.join(' ')).toBe(0);
      expect(out, argv.join(' ')).toMatch(/^Usage: glue-mv-stop /);
      expect(out, argv.join(' ')).toContain('--region <region>');
    }
  });
});
