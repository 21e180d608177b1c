/**
 * Where the CLI reads and writes. `run(argv, io)` takes it as an argument, so tests drive every command in
 * process and read what it printed; the bin passes the real process streams.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from './errors.ts';

export interface TextSink {
  write(text: string): unknown;
  /** A terminal: progress bars are drawn only there. */
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Read by `--file -`. */
  readonly stdin?: AsyncIterable<string | Uint8Array>;
  /** Where relative paths (`--file`, `--config`, `config/<stage>.json`) are read from. */
  readonly cwd?: string;
  readonly now?: () => Date;
  /** Aborted on Ctrl-C: long operations stop between batches and hand back what they hold. */
  readonly signal?: AbortSignal;
}

export const processIo = (signal?: AbortSignal): CliIo => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  cwd: process.cwd(),
  ...(signal ? { signal } : {}),
});

/** Everything `io` prints, collected: for tests. */
export interface CapturedIo extends CliIo {
  readonly out: () => string;
  readonly err: () => string;
}

export const captureIo = (
  options: Omit<CliIo, 'stdout' | 'stderr'> & { readonly tty?: boolean } = {},
): CapturedIo => {
  let out = '';
  let err = '';
  const { tty, ...rest } = options;
  return {
    ...rest,
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text), isTTY: tty ?? false, columns: 100 },
    out: () => out,
    err: () => err,
  };
};

export const resolvePath = (io: CliIo, file: string): string => path.resolve(io.cwd ?? process.cwd(), file);

/** Reads a file the user named; a missing or unreadable file is a usage error in one line. */
export const readUserFile = async (io: CliIo, file: string): Promise<string> => {
  if (file === '-') {
    if (!io.stdin) throw new UsageError('--file -: no standard input to read');
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin)
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return Buffer.concat(chunks).toString('utf8');
  }
  try {
    return await readFile(resolvePath(io, file), 'utf8');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : code;
    throw new UsageError(`cannot read ${file}: ${why}`);
  }
};
