/** Plain-text output: aligned tables, durations, ages. */

/** `3h 05m`, `4m 10s`, `12s`: how long something has run, to the precision a person reads. */
export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const seconds = Math.floor(ms / 1000);
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (days > 0) return `${days}d ${two(hours)}h`;
  if (hours > 0) return `${hours}h ${two(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${two(rest)}s`;
  return `${rest}s`;
};

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Reads `90s`, `15m`, `2h`, `1h30m`, `7d` into milliseconds; `undefined` for anything else.
 * @example parseDuration('1h30m') // 5_400_000
 */
export const parseDuration = (text: string): number | undefined => {
  const parts = [...text.trim().matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) return undefined;
  return parts.reduce((sum, [, value, unit]) => sum + Number(value) * (DURATION_UNITS[unit ?? ''] ?? 0), 0);
};

/** Columns padded to their widest cell; the last column is not padded. */
export const formatTable = (headers: readonly string[], rows: readonly (readonly string[])[]): string => {
  const widths = headers.map((header, i) =>
    Math.max([...header].length, ...rows.map((row) => [...(row[i] ?? '')].length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - [...cell].length),
      )
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`;
};

/** Control characters, U+FFFE/U+FFFF and lone surrogates, which a terminal would not show as they are. */
const UNPRINTABLE = new RegExp(
  [
    '[\\u0000-\\u001f\\u007f-\\u009f\\ufffe\\uffff]',
    '[\\ud800-\\udbff](?![\\udc00-\\udfff])',
    '(?<![\\ud800-\\udbff])[\\udc00-\\udfff]',
  ].join('|'),
  'g',
);

/** Text from a message or an API, made safe to print: what a terminal would not show becomes a `\u` escape with four hex digits. */
export const printable = (text: string): string =>
  text.replace(UNPRINTABLE, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);

/** `sales.orders_mv`, or `sales.{daily_*,orders_mv}` for a scope. */
export const formatTarget = (database: string, tables: string | readonly string[]): string =>
  printable(typeof tables === 'string' ? `${database}.${tables}` : `${database}.{${tables.join(',')}}`);

export const plural = (count: number, one: string, many = `${one}s`): string =>
  `${count} ${count === 1 ? one : many}`;
