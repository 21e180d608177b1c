/**
 * Stop requests as the CLI takes them: from flags, from a JSON file (one request, or an array of them), or
 * from NDJSON (one request per line; `--file -` reads standard input). Each is checked with the contract
 * the functions use (`src/request/parse.ts`), and a refusal names where it came from, the field and the rule.
 */
import type { StopRequest } from '../request/contract.ts';
import { parseStopRequest, type Violation } from '../request/parse.ts';
import { UsageError } from './errors.ts';
import { type CliIo, readUserFile } from './io.ts';

/** A request as written, and where: `requests.ndjson:3`, `request.json`, `(flags)`. */
export interface RequestInput {
  readonly source: string;
  readonly value: unknown;
}

export type CheckedRequest =
  | { readonly kind: 'valid'; readonly source: string; readonly request: StopRequest }
  | { readonly kind: 'invalid'; readonly source: string; readonly violations: readonly Violation[] };

/** The request flags `send` and `plan` share. */
export interface RequestFlags {
  readonly database?: string;
  readonly table?: string;
  readonly tables?: string;
  readonly runId?: string;
  readonly catalogId?: string;
  readonly issuedAt?: string;
  readonly reason?: string;
  readonly requestedBy?: string;
  readonly idempotencyKey?: string;
  readonly dryRun?: boolean;
}

/** Flags that say which view(s): they cannot be mixed with `--file`. */
const TARGET_FLAGS = [
  'database',
  'table',
  'tables',
  'runId',
  'catalogId',
  'idempotencyKey',
  'issuedAt',
] as const;
const FLAG_NAMES: Readonly<Record<(typeof TARGET_FLAGS)[number], string>> = {
  database: '--database',
  table: '--table',
  tables: '--tables',
  runId: '--run-id',
  catalogId: '--catalog-id',
  idempotencyKey: '--idempotency-key',
  issuedAt: '--issued-at',
};

export const hasTargetFlags = (flags: RequestFlags): boolean =>
  TARGET_FLAGS.some((f) => flags[f] !== undefined);

/**
 * The request the flags describe, not yet checked: the contract decides what is wrong with it (both
 * `--table` and `--tables`, a missing `--database`), so the CLI and the functions refuse the same things.
 */
export const requestFromFlags = (flags: RequestFlags): RequestInput => ({
  source: '(flags)',
  value: {
    ...(flags.catalogId !== undefined ? { CatalogId: flags.catalogId } : {}),
    ...(flags.database !== undefined ? { DatabaseName: flags.database } : {}),
    ...(flags.table !== undefined ? { TableName: flags.table } : {}),
    ...(flags.tables !== undefined ? { TableNames: flags.tables.split(',').map((t) => t.trim()) } : {}),
    ...(flags.runId !== undefined ? { RunId: flags.runId } : {}),
    ...(flags.issuedAt !== undefined ? { IssuedAt: flags.issuedAt } : {}),
    ...(flags.dryRun ? { DryRun: true } : {}),
    ...(flags.idempotencyKey !== undefined ? { IdempotencyKey: flags.idempotencyKey } : {}),
    ...(flags.reason !== undefined ? { Reason: flags.reason } : {}),
    ...(flags.requestedBy !== undefined ? { RequestedBy: flags.requestedBy } : {}),
  },
});

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false; message: string } => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
};

/** What cannot be read as JSON at all becomes an input whose check fails with a `json` violation. */
const NOT_JSON = Symbol('not JSON');

/**
 * Reads `--file`: a `.json` file holds one request or an array of them; anything else (`.ndjson`,
 * `.jsonl`, `-` for standard input) is one request per line, blank lines skipped, unless the whole text
 * is one JSON document (a request pretty-printed over several lines).
 */
export const readRequestFile = async (io: CliIo, file: string): Promise<RequestInput[]> => {
  const text = await readUserFile(io, file);
  const name = file === '-' ? '(stdin)' : file;
  const whole = parseJson(text);
  if (/\.json$/i.test(file) || (whole.ok && text.trim() !== '')) {
    if (!whole.ok) return [{ source: name, value: { [NOT_JSON]: whole.message } }];
    if (Array.isArray(whole.value)) {
      return whole.value.map((value, i) => ({ source: `${name}[${i}]`, value }));
    }
    return [{ source: name, value: whole.value }];
  }
  const inputs: RequestInput[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    const parsed = parseJson(line);
    inputs.push({
      source: `${name}:${i + 1}`,
      value: parsed.ok ? parsed.value : { [NOT_JSON]: parsed.message },
    });
  }
  if (inputs.length === 0) throw new UsageError(`${name}: holds no request`);
  return inputs;
};

const isNotJson = (value: unknown): value is { [NOT_JSON]: string } =>
  typeof value === 'object' && value !== null && NOT_JSON in value;

/** Checks one input against the contract. */
export const checkRequest = (input: RequestInput): CheckedRequest => {
  if (isNotJson(input.value)) {
    return {
      kind: 'invalid',
      source: input.source,
      violations: [
        { field: '(body)', rule: 'json', message: `is not valid JSON (${input.value[NOT_JSON]})` },
      ],
    };
  }
  const parsed = parseStopRequest(input.value);
  return parsed.kind === 'valid'
    ? { kind: 'valid', source: input.source, request: parsed.request }
    : { kind: 'invalid', source: input.source, violations: parsed.violations };
};

/**
 * The requests a command was given: `--file`, or the flags. Metadata flags (`--reason`, `--requested-by`,
 * `--dry-run`) fill in what a file's requests leave out; target flags and `--file` exclude each other.
 */
export const gatherRequests = async (
  io: CliIo,
  flags: RequestFlags & { readonly file?: string },
): Promise<RequestInput[]> => {
  if (flags.file === undefined) {
    if (!hasTargetFlags(flags)) {
      throw new UsageError('which views? pass --database with --table or --tables, or --file <file>');
    }
    return [requestFromFlags(flags)];
  }
  const mixed = TARGET_FLAGS.filter((f) => flags[f] !== undefined).map((f) => FLAG_NAMES[f]);
  if (mixed.length > 0) throw new UsageError(`--file cannot be combined with ${mixed.join(', ')}`);
  const defaults = {
    ...(flags.reason !== undefined ? { Reason: flags.reason } : {}),
    ...(flags.requestedBy !== undefined ? { RequestedBy: flags.requestedBy } : {}),
    ...(flags.dryRun ? { DryRun: true } : {}),
  };
  return (await readRequestFile(io, flags.file)).map((input) =>
    typeof input.value === 'object' &&
    input.value !== null &&
    !Array.isArray(input.value) &&
    !isNotJson(input.value)
      ? { ...input, value: { ...defaults, ...input.value } }
      : input,
  );
};

/** The flag each field of a request comes from. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  CatalogId: '--catalog-id',
  DatabaseName: '--database',
  TableName: '--table',
  TableNames: '--tables',
  RunId: '--run-id',
  IssuedAt: '--issued-at',
  IdempotencyKey: '--idempotency-key',
  Reason: '--reason',
  RequestedBy: '--requested-by',
  DryRun: '--dry-run',
};

/**
 * `requests.ndjson:3: TableName: must be at most 255 characters (max-length)`, one line per violation; for
 * a request from flags, the flag is named too: `(flags): TableName (--table): …`.
 */
export const describeInvalid = (checked: Extract<CheckedRequest, { kind: 'invalid' }>): string[] =>
  checked.violations.map((v) => {
    const flag = checked.source === '(flags)' ? FLAG_OF_FIELD[v.field.split('.')[0] ?? ''] : undefined;
    return `${checked.source}: ${v.field}${flag ? ` (${flag})` : ''}: ${v.message} (${v.rule})`;
  });
