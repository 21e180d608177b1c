/**
 * `npm start`: runs the stop pipeline end to end on this machine, never touching AWS.
 *
 * Starts the project's Glue emulator (seeded from events/local-glue-seed.json), dynalite, fauxqs and an
 * EventBridge emulator on loopback, points the SDK at them with the standard AWS_ENDPOINT_URL_* variables,
 * applies the stage configuration config/local.json (allow-list, cost guard, maintenance window), sends
 * the sample events through the real trigger code and prints one line per request with its outcome.
 * Exact requests that scope requests expand into are drained from the local stop queue the way Lambda's
 * event source mapping would.
 *
 *   npm start                         # the embedded sample run
 *   npm start -- events/my-event.json # your own files: an SQS event, a stop event, an alarm state
 *                                     # change, a scheduler delivery or a bare request
 *   npm start -- --logs               # also show the functions' structured logs
 *   npm start -- --help               # usage
 *
 * Relative paths are read from the directory npm was run in (npm runs scripts in the package root and
 * says where it was run in INIT_CWD). A file that cannot be used is one line, before anything starts.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { EventBridgeEvent, SQSEvent } from 'aws-lambda';
import { checkStackConfig, formatProblem } from '../src/policy/config-check.ts';
import { runtimePolicyOf } from '../src/policy/stack-config.ts';
import { createStopRuntime } from '../src/runtime/stop-runtime.ts';
import { reasonOf, type StopOutcome } from '../src/stop/outcome.ts';
import { createStopAlarmHandler } from '../src/triggers/stop-alarm.ts';
import { createStopEventHandler } from '../src/triggers/stop-event.ts';
import { createStopQueueHandler } from '../src/triggers/stop-queue.ts';
import { createStopScheduleHandler } from '../src/triggers/stop-schedule.ts';
import { drainQueue } from './event-source.ts';
import { sqsEvent, sqsRecord } from './events.ts';
import type { SeedRunInput } from './glue-emulator.ts';
import { lambdaContext } from './lambda-context.ts';
import { startLocalAws } from './local-aws.ts';

const root = path.resolve(import.meta.dirname, '..');
const DEFAULT_EVENTS = [
  'events/sqs-batch.json',
  'events/eventbridge-stop.json',
  'events/eventbridge-stop.json',
  'events/eventbridge-stop-stopping.json',
  'events/eventbridge-stop-invalid.json',
  'events/scope-request.json',
  'events/eventbridge-dry-run.json',
  'events/eventbridge-not-allowed.json',
  'events/alarm-state-change.json',
  'events/scheduler-delivery.json',
];
/** The stack's default redrive policy. */
const MAX_RECEIVE_COUNT = 5;

const USAGE = `Usage: npm start -- [options] [event.json ...]

Runs the stop pipeline on this machine, against emulators of Glue, DynamoDB, SQS and EventBridge (no AWS
account is used), with the stage configuration config/local.json. Without files it sends the samples in
events/; a file may hold an SQS event, a stop event, a CloudWatch alarm state change, a scheduler delivery
or a bare stop request. Relative paths are read from the directory npm was run in.

Options:
  --logs      also show the functions' structured logs
  -h, --help  show this help and exit

Exit status: 0 when the run completed, 1 when it failed, 2 for a usage error (an unknown option, or a
file that is missing, a directory or not JSON); nothing is run after a usage error.
`;

/** A problem with what the command line names: one line, exit status 2, nothing run. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

const parseCommandLine = (): { logs: boolean; help: boolean; files: string[] } => {
  try {
    const { values, positionals } = parseArgs({
      args: process.argv.slice(2),
      options: { logs: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    return { logs: values.logs === true, help: values.help === true, files: positionals };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = error instanceof Error ? error.message : String(error);
    const option = /'([^']+)'/.exec(message)?.[1];
    throw new UsageError(
      code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option
        ? `unknown option "${option}" (npm start -- --help lists the options)`
        : `${message.split('. ')[0]} (npm start -- --help lists the options)`,
    );
  }
};

/**
 * Where relative paths on the command line start: the directory npm was run in. npm runs scripts in the
 * package root and names the caller's directory in INIT_CWD; run directly (or below another npm command
 * that left INIT_CWD behind), the working directory is the caller's.
 */
const callerDirectory = (): string => {
  const initCwd = process.env.INIT_CWD;
  return initCwd && path.resolve(process.cwd()) === root ? initCwd : process.cwd();
};

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, not an event file',
  EACCES: 'permission denied',
  ENOTDIR: 'a part of the path is not a directory',
};

/**
 * Reads a JSON file; what goes wrong is one line naming the file as `shown`: a `UsageError` for a file the
 * caller named, a plain `Error` (the run failed) for one of the project's own.
 */
const readJsonFile = async (
  file: string,
  shown: string,
  Problem: new (message: string) => Error = UsageError,
): Promise<unknown> => {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new Problem(`${shown}: ${ERRNO_TEXT[code] ?? `cannot be read (${code || String(error)})`}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Problem(`${shown}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
};

/** A file of the project itself (seed, configuration, samples), relative to its root. */
const readJson = (file: string): Promise<unknown> => readJsonFile(path.resolve(root, file), file, Error);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const describeOutcome = (o: StopOutcome): string => {
  const target = o.target
    ? `${o.target.DatabaseName}.${o.target.TableName}`
    : o.scope
      ? `${o.scope.DatabaseName}.{${o.scope.TableNames.join(',')}}`
      : '(no valid target)';
  const notes = [
    o.replayed ? 'replayed from the idempotency record, no Glue call' : '',
    reasonOf(o) ? `${reasonOf(o)}${o.detail ? `: ${o.detail}` : ''}` : (o.detail ?? ''),
    o.requestedBy ? `requested by ${o.requestedBy}` : '',
  ].filter(Boolean);
  const indent = o.parentIdempotencyKey ? '    ↳ ' : '  ';
  return `${indent}${o.trigger.padEnd(11)} ${o.outcome.padEnd(16)} ${target.padEnd(30)} ${notes.join('; ')}`;
};

/** The events to send, each read before anything starts: the caller's files, or the samples. */
const eventsToSend = async (files: readonly string[]): Promise<{ file: string; payload: unknown }[]> => {
  if (files.length === 0) {
    return Promise.all(DEFAULT_EVENTS.map(async (file) => ({ file, payload: await readJson(file) })));
  }
  const from = callerDirectory();
  const events = [];
  for (const file of files) {
    events.push({ file, payload: await readJsonFile(path.resolve(from, file), file) });
  }
  return events;
};

const main = async (files: readonly string[]): Promise<void> => {
  const events = await eventsToSend(files);
  const seed = (await readJson('events/local-glue-seed.json')) as {
    runs: (SeedRunInput & { startTime?: string })[];
  };
  const checked = checkStackConfig(await readJson('config/local.json'), 'config/local.json');
  for (const problem of checked.problems) console.error(formatProblem(problem));
  if (!checked.config) throw new Error('config/local.json has errors (listed above)');
  const local = await startLocalAws({ policy: runtimePolicyOf(checked.config) });
  try {
    for (const { startTime, ...run } of seed.runs) {
      local.glue.seedRun({ ...run, ...(startTime ? { startTime: new Date(startTime) } : {}) });
    }
    console.log(
      'glue-mv-stop local run: Glue emulator, DynamoDB (dynalite), SQS (fauxqs) and EventBridge emulator on loopback; no AWS account is used.',
    );
    console.log(
      `Seeded ${seed.runs.length} refresh runs from events/local-glue-seed.json; configuration config/local.json.\n`,
    );

    let queued = 0;
    const print = (outcome: StopOutcome) => {
      if (outcome.outcome === 'expanded' && !outcome.replayed) queued += outcome.queued ?? 0;
      console.log(describeOutcome(outcome));
    };
    // The real trigger code, wired exactly as in Lambda (configuration and endpoints from the environment),
    // plus one observer that prints each outcome.
    const runtime = (trigger: 'sqs' | 'eventbridge' | 'alarm' | 'schedule') =>
      createStopRuntime({ trigger, onOutcome: print });
    const queueHandler = createStopQueueHandler(runtime('sqs'));
    const eventHandler = createStopEventHandler(runtime('eventbridge'));
    const alarmHandler = createStopAlarmHandler(runtime('alarm'));
    const scheduleHandler = createStopScheduleHandler(runtime('schedule'));
    const context = (name: string) => lambdaContext({ functionName: `glue-mv-stop-local-${name}` });

    // Like SQS: records reported as batch item failures come back in a later batch (after the visibility
    // timeout in AWS; at once here), until they succeed or reach the redrive policy's maxReceiveCount.
    const sendBatch = async (event: SQSEvent, receiveCount = 1): Promise<void> => {
      const response = await queueHandler(event, context('stopFromQueue'));
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      console.log(`  → batchItemFailures: ${failed.size === 0 ? 'none' : [...failed].join(', ')}`);
      if (failed.size === 0 || receiveCount >= MAX_RECEIVE_COUNT) {
        if (failed.size > 0)
          console.log('  → maxReceiveCount reached: SQS moves these records to the dead-letter queue');
        return;
      }
      console.log(`  SQS redelivers ${failed.size} record(s) (receive count ${receiveCount + 1}):`);
      const again = event.Records.filter((r) => failed.has(r.messageId)).map((r) => ({
        ...r,
        attributes: { ...r.attributes, ApproximateReceiveCount: String(receiveCount + 1) },
      }));
      await sendBatch({ Records: again }, receiveCount + 1);
    };
    const invoke = async (run: () => Promise<unknown>) => {
      try {
        const result = await run();
        if (isObject(result) && result.outcome === 'alarm-ignored')
          console.log(`  alarm ignored: ${String(result.why)}`);
        console.log('  → invocation succeeded');
      } catch (error) {
        console.log(`  → invocation failed, Lambda would retry it: ${String(error)}`);
      }
    };

    for (const { file, payload } of events) {
      queued = 0;
      if (isObject(payload) && Array.isArray(payload.Records)) {
        console.log(`${file}: SQS batch of ${payload.Records.length} records`);
        await sendBatch(payload as unknown as SQSEvent);
      } else if (isObject(payload) && payload.source === 'aws.cloudwatch') {
        console.log(`${file}: CloudWatch alarm state change (cost guard)`);
        await invoke(() => alarmHandler(payload, context('stopFromAlarm')));
      } else if (isObject(payload) && 'detail-type' in payload) {
        console.log(`${file}: EventBridge stop event ${String(payload.id)}`);
        await invoke(() =>
          eventHandler(payload as unknown as EventBridgeEvent<string, unknown>, context('stopFromEvent')),
        );
      } else if (isObject(payload) && 'window' in payload && 'scheduledTime' in payload) {
        console.log(`${file}: EventBridge Scheduler delivery (maintenance window ${String(payload.window)})`);
        await invoke(() => scheduleHandler(payload, context('stopFromSchedule')));
      } else {
        console.log(`${file}: bare stop request, sent as a one-record SQS batch`);
        await sendBatch(sqsEvent(sqsRecord(payload)));
      }
      if (queued > 0) {
        console.log(
          `  the stop queue now holds ${queued} derived request(s); the SQS event source delivers them:`,
        );
        await drainQueue({
          queueUrl: local.stopQueueUrl,
          sqsEndpoint: local.sqsEndpoint,
          deadLetterQueueUrl: local.deadLetterQueueUrl,
          handlerFor: () => queueHandler,
          maximumConcurrency: 2,
          visibilityTimeoutSeconds: 30,
          idleMs: 200,
        });
      }
      console.log('');
    }

    const sqs = new SQSClient({});
    const parked = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: local.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    sqs.destroy();
    console.log(`Glue received ${local.glue.callCount('StopMaterializedViewRefreshTaskRun')} stop calls.`);
    console.log(`EventBridge received ${local.eventBridge.events.length} outcome events.`);
    console.log(`Dead-letter queue holds ${parked.Messages?.length ?? 0} parked request(s):`);
    for (const message of parked.Messages ?? []) {
      const attributes = message.MessageAttributes ?? {};
      console.log(
        `  ${attributes['glue-mv-stop.outcome']?.StringValue} ${attributes['glue-mv-stop.reason']?.StringValue}: ${attributes['glue-mv-stop.detail']?.StringValue}`,
      );
    }
    console.log('Refresh runs now:');
    for (const run of seed.runs) {
      const latest = local.glue.runsOf(run).at(-1);
      console.log(
        `  ${`${run.databaseName}.${run.tableName}`.padEnd(30)} ${latest?.status ?? 'unknown'}${latest?.stopping ? ' (being stopped)' : ''}`,
      );
    }
  } finally {
    await local.close();
  }
};

try {
  const { logs, help, files } = parseCommandLine();
  if (help) {
    process.stdout.write(USAGE);
  } else {
    process.env.POWERTOOLS_LOG_LEVEL ??= logs ? 'INFO' : 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    await main(files);
  }
} catch (error) {
  // One line, no stack trace: what went wrong is in the message.
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  console.error(`npm start: ${message}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
