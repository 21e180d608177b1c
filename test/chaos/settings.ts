/**
 * The deployed settings the chaos suite simulates, read from serverless.yml: the function timeout
 * (`provider.timeout`) and the stop queue's event source and redrive settings (the `default` stage
 * parameters). A line-based reader for these few scalars; it fails loudly if one is missing.
 */

export interface DeployedSettings {
  readonly functionTimeoutSeconds: number;
  readonly batchSize: number;
  readonly maximumConcurrency: number;
  readonly maximumBatchingWindow: number;
  readonly maxReceiveCount: number;
}

/** The scalar `key: value` lines directly under the block at `path` (e.g. `['params', 'default']`). */
const blockScalars = (lines: readonly string[], path: readonly string[]): Map<string, string> => {
  let depth = 0;
  const values = new Map<string, string>();
  for (const line of lines) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    const match = /^\s*([A-Za-z0-9_]+):\s*(.*?)\s*(#.*)?$/.exec(line);
    if (depth < path.length) {
      if (indent === depth * 2 && match && match[1] === path[depth] && (match[2] ?? '') === '') depth += 1;
      continue;
    }
    if (indent < depth * 2) break;
    if (indent === depth * 2 && match?.[1] !== undefined) values.set(match[1], match[2] ?? '');
  }
  return values;
};

const wholeNumber = (values: Map<string, string>, key: string, where: string): number => {
  const raw = values.get(key)?.replace(/^["']|["']$/g, '');
  const value = Number(raw);
  if (raw === undefined || !/^\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new Error(`serverless.yml: ${where}.${key} is not a whole number (got ${JSON.stringify(raw)})`);
  }
  return value;
};

export const deployedSettings = (serverlessYml: string): DeployedSettings => {
  const lines = serverlessYml.split(/\r?\n/);
  const provider = blockScalars(lines, ['provider']);
  const params = blockScalars(lines, ['params', 'default']);
  return {
    functionTimeoutSeconds: wholeNumber(provider, 'timeout', 'provider'),
    batchSize: wholeNumber(params, 'batchSize', 'params.default'),
    maximumConcurrency: wholeNumber(params, 'maximumConcurrency', 'params.default'),
    maximumBatchingWindow: wholeNumber(params, 'maximumBatchingWindow', 'params.default'),
    maxReceiveCount: wholeNumber(params, 'maxReceiveCount', 'params.default'),
  };
};

/** The stop queue's deployed visibility timeout: 6 × the function timeout + the batching window. */
export const deployedVisibilityTimeoutSeconds = (settings: DeployedSettings): number =>
  6 * settings.functionTimeoutSeconds + settings.maximumBatchingWindow;

/**
 * The visibility timeout the simulation uses: scaled down from the deployed one to keep the run short, but
 * still longer than the function timeout (a record is never handed out again while an invocation may
 * still hold it, and a killed invocation's in-progress idempotency record has expired when it returns).
 */
export const simulatedVisibilityTimeoutSeconds = (settings: DeployedSettings, marginSeconds = 5): number =>
  settings.functionTimeoutSeconds + marginSeconds;
