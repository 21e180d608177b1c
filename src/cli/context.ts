/** What every command gets: where to print, the clock, the AWS clients, the stack, and its exit code. */
import type { Command } from 'commander';
import {
  type AwsClients,
  createAwsClients,
  createStackLocator,
  type StackLocator,
  type StackOptions,
} from './aws.ts';
import type { ExitCode } from './errors.ts';
import type { CliIo } from './io.ts';

/** Options every command takes (program-level, so they may stand before or after the command's name). */
export interface GlobalOptions {
  readonly region?: string;
  readonly profile?: string;
  readonly stage?: string;
}

export interface CommandContext {
  readonly io: CliIo;
  now(): Date;
  /** The global options merged with the command's own. */
  options<T>(command: Command): T & GlobalOptions;
  /** Clients for the region and profile of the command line, made on first use. */
  aws(command: Command): AwsClients;
  stack(command: Command, options: StackOptions): StackLocator;
  /** Prints a line to stdout, or JSON when the command was given `--json`. */
  print(text: string): void;
  printJson(value: unknown): void;
  warn(text: string): void;
  setExitCode(code: ExitCode): void;
}

export interface ContextState {
  readonly context: CommandContext;
  exitCode(): ExitCode;
  close(): void;
}

export const createContext = (io: CliIo): ContextState => {
  let code: ExitCode = 0;
  let clients: AwsClients | undefined;
  const context: CommandContext = {
    io,
    now: () => io.now?.() ?? new Date(),
    options: <T>(command: Command) => command.optsWithGlobals<T & GlobalOptions>(),
    aws(command) {
      if (!clients) {
        const { region, profile } = command.optsWithGlobals<GlobalOptions>();
        clients = createAwsClients({
          ...(region !== undefined ? { region } : {}),
          ...(profile !== undefined ? { profile } : {}),
        });
      }
      return clients;
    },
    stack(command, options) {
      const { stage } = command.optsWithGlobals<GlobalOptions>();
      return createStackLocator(
        { ...options, ...(stage !== undefined ? { stage } : {}) },
        context.aws(command),
      );
    },
    print: (text) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    printJson: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    warn: (text) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    setExitCode(next) {
      if (next > code) code = next;
    },
  };
  return {
    context,
    exitCode: () => code,
    close: () => clients?.destroy(),
  };
};
