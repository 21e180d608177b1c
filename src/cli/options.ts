/** Option definitions that several commands share, and their parsers. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseDuration } from './format.ts';

/** Drops the keys whose value is undefined: for option objects under `exactOptionalPropertyTypes`. */
export const compact = <T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };

export const positiveInteger =
  (name: string) =>
  (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new InvalidArgumentError(`${name} must be a whole number of at least 1`);
    return value;
  };

export const visibilitySeconds = (text: string): number => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 43_200) {
    throw new InvalidArgumentError('must be whole seconds from 1 to 43200 (SQS limits)');
  }
  return value;
};

export const duration = (text: string): number => {
  const value = parseDuration(text);
  if (value === undefined)
    throw new InvalidArgumentError('must be a duration such as 90s, 15m, 2h, 1h30m or 7d');
  return value;
};

/** The flags of a stop request (send, plan). */
export const addRequestOptions = (command: Command): Command =>
  command
    .option('--database <name>', 'database of the view(s) (DatabaseName)')
    .option('--table <name>', 'one materialized view (TableName)')
    .option(
      '--tables <list>',
      'a scope: comma-separated names or globs, * any characters, ? one (TableNames)',
    )
    .option('--run-id <uuid>', 'run guard: only if this is still the view’s current run (RunId)')
    .option('--issued-at <iso-time>', 'run guard: only a run that started at or before this time (IssuedAt)')
    .option('--catalog-id <id>', 'Data Catalog (account ID); default: the stack’s account (CatalogId)')
    .option('--idempotency-key <key>', 'requests with the same key are acted on once (IdempotencyKey)')
    .option('--reason <text>', 'why, kept in logs and outcome events (Reason)')
    .option('--requested-by <who>', 'who asks, kept in logs and outcome events (RequestedBy)')
    .option(
      '-f, --file <file>',
      'requests from a file: .json (one or an array), NDJSON (one per line), - for stdin',
    );

export const jsonOption = () => new Option('--json', 'print JSON instead of text');
