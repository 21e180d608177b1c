/** `config check`: every problem of a stage configuration, one line each. */
import type { Command } from 'commander';
import { checkStackConfig, formatProblem } from '../../policy/config-check.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../errors.ts';
import { plural } from '../format.ts';
import { compact, jsonOption } from '../options.ts';
import { chooseConfigFile, readConfigJson } from '../stage-config.ts';

export const registerConfigCheck = (program: Command, context: CommandContext): void => {
  const config = program
    .command('config')
    .summary('check a stage configuration')
    .description('Commands about the stage configuration, config/<stage>.json.');
  config
    .command('check')
    .summary('check config/<stage>.json (or --config) and list every problem')
    .description(
      'Checks a stage configuration as packaging would and prints one line per problem. Exit 1 if any is an ' +
        'error; warnings alone exit 0. Reads only the file: no AWS call.',
    )
    .option('--config <file>', 'the file to check (default: config/<stage>.json, else config/default.json)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  glue-mv-stop config check --stage prod
  glue-mv-stop config check --config config/new-stage.json --json`,
    )
    .action(async (_options: unknown, self: Command) => {
      const options = context.options<{ config?: string; json?: boolean }>(self);
      const choice = chooseConfigFile(context.io, compact({ stage: options.stage, config: options.config }));
      if (choice.note) context.warn(`note: ${choice.note}`);
      const { problems } = checkStackConfig(await readConfigJson(context.io, choice.file), choice.file);
      const errors = problems.filter((p) => p.severity === 'error').length;
      const warnings = problems.length - errors;
      if (options.json) {
        context.printJson({ file: choice.file, errors, warnings, problems });
      } else {
        for (const problem of problems) context.print(formatProblem(problem));
        context.print(
          problems.length === 0
            ? `${choice.file}: no problems`
            : `${choice.file}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`,
        );
      }
      context.setExitCode(errors > 0 ? EXIT.failed : EXIT.ok);
    });
};
