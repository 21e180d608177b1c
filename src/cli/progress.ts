/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (never in pipes, logs or CI),
 * redrawn at most ten times a second and erased when done.
 */
import type { TextSink } from './io.ts';

export interface Progress {
  /** `done` items of `total` are finished. */
  update(done: number): void;
  finish(): void;
}

const SILENT: Progress = { update() {}, finish() {} };
const REDRAW_MS = 100;

export const createProgress = (
  sink: TextSink,
  label: string,
  total: number,
  clock: () => number = Date.now,
): Progress => {
  if (!sink.isTTY || total <= 1) return SILENT;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const draw = (done: number) => {
    const width = Math.max(10, Math.min(40, (sink.columns ?? 80) - label.length - 20));
    const filled = Math.round((Math.min(done, total) / total) * width);
    sink.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    drawn = true;
  };
  return {
    update(done) {
      const now = clock();
      if (done < total && now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      draw(done);
    },
    finish() {
      if (drawn) sink.write('\r\u001b[2K');
    },
  };
};
