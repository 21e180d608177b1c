/**
 * Figures as tables: one shape for the console (aligned columns) and for docs/benchmarks.md (Markdown).
 */

export interface Table {
  readonly title: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

export const max = (values: readonly number[]): number =>
  values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);

export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

export const ms = (value: number): string => `${value.toFixed(1)} ms`;
export const seconds = (valueMs: number): string => `${(valueMs / 1000).toFixed(1)} s`;
/** Kilobytes of 1,000 bytes, as the size targets are stated. */
export const kb = (bytes: number): string => `${(bytes / 1000).toFixed(1)} KB`;
export const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
export const ratio = (value: number): string => `${value.toFixed(2)} ×`;
export const count = (value: number): string => value.toLocaleString('en-US');
export const fixed = (value: number, digits = 2): string => value.toFixed(digits);
export const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');

/** Dollars with enough significant digits for tiny amounts ($0.000000467). */
export const dollars = (value: number): string => {
  if (value === 0) return '$0';
  if (value >= 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toPrecision(3)}`;
};

const plain = (cell: string): string => cell.replaceAll('**', '').replaceAll('`', '');

/** The table as aligned text for the console (Markdown emphasis and code marks removed). */
export const consoleTable = (table: Table): string => {
  const cells = [table.headers, ...table.rows].map((row) => row.map(plain));
  const widths = table.headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const [head, ...body] = cells;
  return [
    plain(table.title),
    line(head ?? []),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
  ].join('\n');
};

/** The table in Markdown. */
export const markdownTable = (table: Table): string =>
  [
    `| ${table.headers.join(' | ')} |`,
    `| ${table.headers.map(() => '---').join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
