/**
 * The run guard: a request that names the run it means (RunId) or the time it was issued (IssuedAt) must
 * not stop a different run, or one that started after it was issued. Pure: the current runs in, a verdict out.
 */
import type { ActiveRun } from './ports.ts';

export interface RunGuard {
  readonly runId?: string;
  readonly issuedAt?: string;
}

export type GuardVerdict =
  | { readonly kind: 'proceed'; readonly run: ActiveRun }
  | { readonly kind: 'not-running' }
  | { readonly kind: 'skip'; readonly run: ActiveRun; readonly detail: string };

const startOf = (run: ActiveRun): number =>
  run.startedAt ? Date.parse(run.startedAt) : Number.NEGATIVE_INFINITY;

/** The table's current run: the one that started last (Glue runs one refresh per view at a time). */
export const currentRun = (runs: readonly ActiveRun[]): ActiveRun | undefined =>
  runs.reduce<ActiveRun | undefined>(
    (latest, run) => (!latest || startOf(run) > startOf(latest) ? run : latest),
    undefined,
  );

export const checkRunGuard = (guard: RunGuard, runs: readonly ActiveRun[]): GuardVerdict => {
  const run = currentRun(runs);
  if (!run) return { kind: 'not-running' };
  if (guard.runId !== undefined && run.runId.toLowerCase() !== guard.runId.toLowerCase()) {
    return {
      kind: 'skip',
      run,
      detail: `newer run, skipped: the current run is ${run.runId}, not ${guard.runId} named by the request`,
    };
  }
  if (
    guard.issuedAt !== undefined &&
    run.startedAt !== undefined &&
    Date.parse(run.startedAt) > Date.parse(guard.issuedAt)
  ) {
    return {
      kind: 'skip',
      run,
      detail: `newer run, skipped: run ${run.runId} started at ${run.startedAt}, after the request was issued at ${guard.issuedAt}`,
    };
  }
  return { kind: 'proceed', run };
};
