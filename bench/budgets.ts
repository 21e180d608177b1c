/**
 * The size and cold-import budgets `npm run bench` enforces: it exits with code 1 when a function's zip
 * passes ZIP_LIMIT_BYTES, or its cold-import ratio to a bare `node` (CPU time, measured in the same run)
 * grows more than IMPORT_GROWTH_LIMIT above the figure recorded here.
 *
 * Recorded by `BENCH_RECORD_BUDGETS=1 npm run bench` (`BENCH_ONLY=size` for the size part alone), which
 * rewrites this file from the run's figures. Record again after a change meant to make a bundle larger or
 * slower to load.
 */
export const ZIP_LIMIT_BYTES = 150_000;
export const IMPORT_GROWTH_LIMIT = 1.1;
export const RECORDED_ON = '2026-12-02';

export interface RecordedFigures {
  readonly zipBytes: number;
  /** Cold import CPU time ÷ bare node CPU time (each the mean of the five least runs), median of 3 rounds. */
  readonly cpuRatio: number;
  /** Cold import wall time ÷ bare node wall time (reported; too noisy on a shared machine to enforce). */
  readonly wallRatio: number;
}

export const RECORDED: Readonly<Record<string, RecordedFigures>> = {
  stopFromQueue: { zipBytes: 140716, cpuRatio: 2.88, wallRatio: 2.48 },
  stopFromEvent: { zipBytes: 137031, cpuRatio: 2.85, wallRatio: 2.39 },
  stopFromAlarm: { zipBytes: 137285, cpuRatio: 2.84, wallRatio: 2.45 },
  stopFromSchedule: { zipBytes: 137034, cpuRatio: 2.86, wallRatio: 2.42 },
};
