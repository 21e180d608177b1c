/**
 * The `glue-mv-stop` command line: `run(argv, io)` parses the arguments, runs one command and answers its
 * exit code (0 ok, 1 something failed or was invalid, 2 the command line cannot be acted on). It never
 * throws and never exits the process, so tests drive it in process.
 * @example process.exitCode = await run(['runs', '--stage', 'prod', '--database', 'sales'], processIo());
 */
import { Command, CommanderError, Option } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import { registerConfigCheck } from './commands/config-check.ts';
import { registerDlq } from './commands/dlq.ts';
import { registerPlan } from './commands/plan.ts';
import { registerRuns } from './commands/runs.ts';
import { registerSend } from './commands/send.ts';
import { createContext } from './context.ts';
import { CliFailure, describeAwsError, EXIT, type ExitCode, UsageError } from './errors.ts';
import { type CliIo, processIo } from './io.ts';

export const CLI_VERSION: string = packageJson.version;

/** Commander's codes for a command line it cannot read. */
const USAGE_CODES = new Set([
  'commander.unknownOption',
  'commander.unknownCommand',
  'commander.missingArgument',
  'commander.optionMissingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.invalidArgument',
  'commander.excessArguments',
  'commander.conflictingOption',
  'commander.help',
]);

export const buildProgram = (io: CliIo, context: ReturnType<typeof createContext>['context']): Command => {
  const program = new Command('glue-mv-stop')
    .description(
      'Plan, send and follow stops of AWS Glue materialized-view refreshes through a glue-mv-stop stack, and ' +
        'read and redrive its dead-letter queue.',
    )
    .version(CLI_VERSION, '--version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .addOption(new Option('--stage <stage>', 'the stack glue-mv-stop-<stage> and config/<stage>.json'))
    .addOption(new Option('--region <region>', 'AWS region (default: AWS_REGION, then the profile’s region)'))
    .addOption(new Option('--profile <profile>', 'AWS profile for credentials and region (as aws --profile)'))
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Credentials and region come from the AWS SDK's default chain, as for aws-cli (environment, --profile or
AWS_PROFILE, SSO, roles). AWS_ENDPOINT_URL_<SERVICE> points a service at another endpoint.
Exit codes: 0 ok, 1 something failed or was invalid, 2 the command line cannot be acted on.
Reference: docs/cli.md`,
    );
  registerPlan(program, context);
  registerSend(program, context);
  registerRuns(program, context);
  registerDlq(program, context);
  registerConfigCheck(program, context);
  return program;
};

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim();

/** Runs the command line `argv` (without `node` and the script) and answers the exit code. */
export const run = async (argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> => {
  const state = createContext(io);
  const program = buildProgram(io, state.context);
  const debug = process.env.GLUE_MV_STOP_DEBUG === '1';
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return state.exitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      // Commander has printed its message already.
      return USAGE_CODES.has(error.code) ? EXIT.usage : EXIT.failed;
    }
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${oneLine(error.message)}\n`);
      return EXIT.usage;
    }
    if (error instanceof CliFailure) {
      io.stderr.write(`error: ${oneLine(error.message)}\n`);
      return EXIT.failed;
    }
    const aws = describeAwsError(error);
    if (aws !== undefined) {
      const profile = program.opts<{ profile?: string }>().profile;
      const forProfile =
        profile !== undefined && aws.startsWith('no AWS credentials')
          ? `no AWS credentials for profile ${profile} (is it in ~/.aws/config or ~/.aws/credentials, and logged in?)`
          : aws;
      io.stderr.write(`error: ${oneLine(forProfile)}\n`);
      if (debug && error instanceof Error) io.stderr.write(`${error.stack}\n`);
      return EXIT.failed;
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    io.stderr.write(`error: ${oneLine(message)}\n`);
    if (debug && error instanceof Error) io.stderr.write(`${error.stack}\n`);
    else io.stderr.write('(set GLUE_MV_STOP_DEBUG=1 to see where it happened)\n');
    return EXIT.failed;
  } finally {
    state.close();
  }
};
