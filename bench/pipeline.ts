/**
 * The SQS trigger code in this process (from source) against the local services in theirs: how a batch's
 * wall time grows with its size at 50 ms Glue latency, and the calls one request makes.
 */
import { sqsEvent, sqsRecord } from '../local/events.ts';
import { lambdaContext } from '../local/lambda-context.ts';
import { createAwsClients } from '../src/runtime/clients.ts';
import { loadConfig } from '../src/runtime/config.ts';
import { createStopRuntime } from '../src/runtime/stop-runtime.ts';
import { createStopQueueHandler } from '../src/triggers/stop-queue.ts';
import { median } from './format.ts';
import { startServices } from './services.ts';

export interface CallsPerRequest {
  readonly glue: number;
  readonly dynamoDb: number;
  /** e.g. `1 × PutItem, 1 × UpdateItem`. */
  readonly detail: string;
}

/** How long the Glue emulator takes to answer while the batch latency is measured. */
export const PIPELINE_GLUE_LATENCY_MS = 50;

export interface Pipeline {
  readonly one: number;
  readonly ten: number;
  readonly cpuOne: number;
  readonly cpuTen: number;
  readonly fresh: CallsPerRequest;
  readonly duplicate: CallsPerRequest;
}

/** DynamoDB commands sent, counted by a middleware on the client the functions use. */
const countCommands = (client: ReturnType<typeof createAwsClients>['dynamoDb']): Map<string, number> => {
  const counts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCommandCounter' },
  );
  return counts;
};

export const measurePipeline = async (runs: number): Promise<Pipeline> => {
  const services = await startServices({
    glueLatencyMs: PIPELINE_GLUE_LATENCY_MS,
    dynamoDbProcess: 'shared',
  });
  const saved = { ...process.env };
  try {
    Object.assign(process.env, services.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      STOP_POLICY: JSON.stringify({
        allow: [{ database: 'bench', tables: ['*'] }],
        dryRun: false,
        costGuards: [],
      }),
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const config = loadConfig();
    const clients = createAwsClients();
    const dynamoCalls = countCommands(clients.dynamoDb);
    const handler = createStopQueueHandler(createStopRuntime({ trigger: 'sqs', config, clients }));
    let table = 0;
    const freshRecords = async (count: number) => {
      const tables = Array.from({ length: count }, () => `view_${table++}_mv`);
      await services.seedRuns(tables.map((tableName) => ({ databaseName: 'bench', tableName })));
      return tables.map((TableName) => sqsRecord({ DatabaseName: 'bench', TableName }));
    };
    const cpu = { 1: [] as number[], 10: [] as number[] };
    const timeBatch = async (count: 1 | 10): Promise<number> => {
      const event = sqsEvent(...(await freshRecords(count)));
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      const response = await handler(event, lambdaContext());
      const elapsed = performance.now() - start;
      const used = process.cpuUsage(cpuBefore);
      cpu[count].push((used.user + used.system) / 1000);
      if (response.batchItemFailures.length > 0) throw new Error('benchmark batch had failures');
      return elapsed;
    };
    await timeBatch(10); // the first calls pay for connection setup
    const one: number[] = [];
    const ten: number[] = [];
    cpu[1].length = 0;
    cpu[10].length = 0;
    for (let i = 0; i < runs; i++) {
      one.push(await timeBatch(1));
      ten.push(await timeBatch(10));
    }

    const callsFor = async (record: ReturnType<typeof sqsRecord>): Promise<CallsPerRequest> => {
      dynamoCalls.clear();
      const glueBefore = await services.glueCalls();
      await handler(sqsEvent(record), lambdaContext());
      return {
        glue: (await services.glueCalls()) - glueBefore,
        dynamoDb: [...dynamoCalls.values()].reduce((a, b) => a + b, 0),
        detail: [...dynamoCalls.entries()]
          .map(([name, n]) => `${n} × ${name.replace('Command', '')}`)
          .join(', '),
      };
    };
    const [record] = await freshRecords(1);
    if (!record) throw new Error('no record');
    const fresh = await callsFor(record);
    const duplicate = await callsFor(record);
    for (const client of Object.values(clients)) client.destroy();
    return {
      one: median(one),
      ten: median(ten),
      cpuOne: median(cpu[1]),
      cpuTen: median(cpu[10]),
      fresh,
      duplicate,
    };
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    await services.close();
  }
};
