/**
 * The stage configuration the CLI plans with: `--config <file>`, else `config/<stage>.json`, else (as the
 * deployment does for a stage without a file of its own) `config/default.json`, relative to the working
 * folder. Checked as packaging checks it (`src/policy/config-check.ts`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { checkStackConfig, formatProblem } from '../policy/config-check.ts';
import type { StackConfig } from '../policy/stack-config.ts';
import { checkStageName } from './aws.ts';
import { CliFailure, UsageError } from './errors.ts';
import { type CliIo, readUserFile, resolvePath } from './io.ts';

export interface ConfigChoice {
  /** As the user would write it: `config/prod.json`, or the `--config` argument. */
  readonly file: string;
  /** Set when the stage has no file of its own and the default one stands in. */
  readonly note?: string;
}

/** Which file holds the stage's configuration. */
export const chooseConfigFile = (io: CliIo, options: { stage?: string; config?: string }): ConfigChoice => {
  if (options.config !== undefined) return { file: options.config };
  if (options.stage === undefined) {
    throw new UsageError(
      'which configuration? pass --stage <stage> (reads config/<stage>.json) or --config <file>',
    );
  }
  const stage = checkStageName(options.stage);
  const own = path.join('config', `${stage}.json`);
  if (existsSync(resolvePath(io, own))) return { file: own };
  const fallback = path.join('config', 'default.json');
  if (existsSync(resolvePath(io, fallback))) {
    return {
      file: fallback,
      note: `stage ${stage} has no ${own}: using ${fallback}, as the deployment does`,
    };
  }
  throw new UsageError(
    `no ${own} or ${fallback} in ${io.cwd ?? process.cwd()}: run from the project folder or pass --config <file>`,
  );
};

/** The file's JSON; a file that is not JSON fails in one line naming it. */
export const readConfigJson = async (io: CliIo, file: string): Promise<unknown> => {
  const text = await readUserFile(io, file);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliFailure(
      `${file}: not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
};

export interface LoadedConfig {
  readonly file: string;
  readonly config: StackConfig;
}

/** Reads and validates the stage configuration; a note about a fallback goes to stderr. */
export const loadStageConfig = async (
  io: CliIo,
  options: { stage?: string; config?: string },
): Promise<LoadedConfig> => {
  const choice = chooseConfigFile(io, options);
  if (choice.note) io.stderr.write(`note: ${choice.note}\n`);
  const { config, problems } = checkStackConfig(await readConfigJson(io, choice.file), choice.file);
  const [first] = problems;
  if (!config) {
    const more =
      problems.length > 1 ? ` (and ${problems.length - 1} more: glue-mv-stop config check lists them)` : '';
    throw new CliFailure(
      `${first ? formatProblem(first) : `${choice.file}: not a valid configuration`}${more}`,
    );
  }
  for (const warning of problems) io.stderr.write(`${formatProblem(warning)}\n`);
  return { file: choice.file, config };
};
