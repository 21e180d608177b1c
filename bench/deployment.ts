/**
 * The deployed settings the benchmark runs the functions with, read from serverless.yml: memory, timeout,
 * the stop queue's event source (batch size) and redrive (`maxReceiveCount`), the event function's
 * reserved concurrency.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../scripts/build.ts';
import { deployedSettings, deployedVisibilityTimeoutSeconds } from '../test/chaos/settings.ts';

export interface Deployment {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly batchSize: number;
  /** The stop queue's `maximumConcurrency` in the default stage. */
  readonly maximumConcurrency: number;
  readonly eventConcurrency: number;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
}

const scalar = (yml: string, pattern: RegExp, what: string): number => {
  const raw = pattern.exec(yml)?.[1];
  const value = Number(raw);
  if (raw === undefined || !Number.isSafeInteger(value)) throw new Error(`serverless.yml: no ${what}`);
  return value;
};

export const readDeployment = async (): Promise<Deployment> => {
  const yml = await readFile(path.join(projectRoot, 'serverless.yml'), 'utf8');
  const settings = deployedSettings(yml);
  return {
    memoryMb: scalar(yml, /^ {2}memorySize:\s*(\d+)/m, 'provider.memorySize'),
    timeoutSeconds: settings.functionTimeoutSeconds,
    batchSize: settings.batchSize,
    maximumConcurrency: settings.maximumConcurrency,
    eventConcurrency: scalar(yml, /^ {4}eventConcurrency:\s*(\d+)/m, 'params.default.eventConcurrency'),
    maxReceiveCount: settings.maxReceiveCount,
    visibilityTimeoutSeconds: deployedVisibilityTimeoutSeconds(settings),
  };
};
