import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqsEvent, sqsRecord } from '../../local/events.ts';
import { type LocalAws, startLocalAws } from '../../local/local-aws.ts';
import { build, projectRoot } from '../../scripts/build.ts';

const run = promisify(execFile);
const fixture = fileURLToPath(new URL('./fixtures/invoke-stop-queue.ts', import.meta.url));
let local: LocalAws;
let outRoot: string;
let bundle: string;

beforeAll(async () => {
  outRoot = await mkdtemp(path.join(os.tmpdir(), 'glue-mv-stop-bundle-'));
  const results = await build({ root: outRoot, handlersDir: path.join(projectRoot, 'handlers'), log: false });
  const queueBundle = results.find((r) => r.function.name === 'stopFromQueue');
  if (!queueBundle) throw new Error('no stopFromQueue bundle');
  bundle = queueBundle.outfile;
  local = await startLocalAws({ exportEnv: false });
}, 120_000);
afterAll(async () => {
  await local?.close();
  await rm(outRoot, { recursive: true, force: true });
});

describe('the built Lambda bundle', () => {
  it('runs on its own with credentials from the environment, as in Lambda', async () => {
    const runId = local.glue.seedRun({ databaseName: 'sales', tableName: 'daily_mv' });
    const event = sqsEvent(
      sqsRecord({ DatabaseName: 'sales', TableName: 'daily_mv' }),
      sqsRecord({ TableName: 'x' }),
    );

    const { stdout } = await run(process.execPath, [fixture], {
      env: {
        PATH: process.env.PATH ?? '',
        ...local.env,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
        GLUE_MV_STOP_HANDLER_MODULE: bundle,
        GLUE_MV_STOP_EVENT: JSON.stringify(event),
      },
    });

    expect(JSON.parse(stdout)).toEqual({ batchItemFailures: [] });
    expect(local.glue.getRun(runId)?.status).toBe('STOPPED');
    expect(local.glue.callCount('StopMaterializedViewRefreshTaskRun')).toBe(1);
  });
});
