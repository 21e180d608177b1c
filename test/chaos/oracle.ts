/**
 * The chaos suite's oracle: from what the emulators recorded (runs, accepted stops) and what the
 * dead-letter queue holds, how each request ended, and whether the suite's targets were met. Pure data in,
 * pure data out.
 *
 * - **stopped**: the view's run (the one running when the request was issued) was stopped.
 * - **not-running**: that run is no longer running, though no stop was accepted for it.
 * - **parked**: the request is in the dead-letter queue with a reason (`glue-mv-stop.reason`).
 * - **redriven**: the request is in the dead-letter queue without a reason: the queue's redrive policy
 *   gave up on it after `maxReceiveCount` receives.
 * - **nowhere**: none of these: the run still runs and the request is gone.
 *
 * Targets: 0 lost (a request that is not poison, whose run was not stopped, and that is not parked with a
 * reason: redriven or nowhere); 0 double stops (a run stopped more than once, or the run started after a
 * request was handled stopped by its duplicate delivery); every request stopped-or-parked (stopped,
 * not-running or parked; poison must be parked).
 */
import type { RequestKind } from './plan.ts';

export type RequestEnd = 'stopped' | 'not-running' | 'parked' | 'redriven' | 'nowhere';

export interface OracleRequest {
  readonly index: number;
  readonly kind: RequestKind;
  readonly tableName: string;
  /** The run the request was meant to stop (none for a plain table). */
  readonly runId?: string;
  /** The run started after the first delivery was handled, before the duplicate delivery. */
  readonly duplicateRunId?: string;
}

export interface OracleRun {
  readonly status: string;
  /** Stops Glue accepted for this run (from the emulator's call log). */
  readonly acceptedStops: number;
}

/** A dead-letter queue message, reduced to what the oracle needs. */
export interface DeadLetter {
  /** `TableName` of the body, when it parses. */
  readonly tableName?: string;
  /** `glue-mv-stop.reason`, when present. */
  readonly reason?: string;
}

export interface OracleInput {
  readonly requests: readonly OracleRequest[];
  readonly runs: ReadonlyMap<string, OracleRun>;
  readonly deadLetters: readonly DeadLetter[];
}

export interface RequestVerdict {
  readonly index: number;
  readonly kind: RequestKind;
  readonly end: RequestEnd;
  /** The reason it was parked with, when parked. */
  readonly reason?: string;
  readonly lost: boolean;
  /** Runs of this request's view that were stopped more than once, or stopped though they must not be. */
  readonly doubleStops: number;
  readonly stoppedOrParked: boolean;
  /** A view request parked with a reason instead of stopped (refused though it was valid). */
  readonly refusedView: boolean;
}

export interface OracleResult {
  readonly verdicts: readonly RequestVerdict[];
  readonly ends: Readonly<Record<RequestEnd, number>>;
  readonly lost: number;
  readonly lostRedriven: number;
  readonly lostNowhere: number;
  readonly doubleStops: number;
  readonly stoppedOrParked: number;
  readonly poison: number;
  readonly poisonParked: number;
  readonly refusedViews: number;
  /** Parked reasons and how often. */
  readonly parkedReasons: Readonly<Record<string, number>>;
  /** Dead-letter messages that belong to no request. */
  readonly strayDeadLetters: number;
}

const STOPPED = 'STOPPED';
const ACTIVE = new Set(['STARTING', 'RUNNING']);

export const judge = (input: OracleInput): OracleResult => {
  const byTable = new Map<string, DeadLetter[]>();
  const known = new Set(input.requests.map((r) => r.tableName));
  let strayDeadLetters = 0;
  for (const letter of input.deadLetters) {
    if (letter.tableName === undefined || !known.has(letter.tableName)) {
      strayDeadLetters += 1;
      continue;
    }
    byTable.set(letter.tableName, [...(byTable.get(letter.tableName) ?? []), letter]);
  }

  const verdicts = input.requests.map((request): RequestVerdict => {
    const run = request.runId !== undefined ? input.runs.get(request.runId) : undefined;
    const letters = byTable.get(request.tableName) ?? [];
    const parkedWith = letters.find((l) => l.reason !== undefined)?.reason;
    let end: RequestEnd;
    if (run && run.status === STOPPED && run.acceptedStops > 0) end = 'stopped';
    else if (run && !ACTIVE.has(run.status)) end = 'not-running';
    else if (parkedWith !== undefined) end = 'parked';
    else if (letters.length > 0) end = 'redriven';
    else end = 'nowhere';

    const duplicateRun =
      request.duplicateRunId !== undefined ? input.runs.get(request.duplicateRunId) : undefined;
    const doubleStops =
      (run && run.acceptedStops > 1 ? 1 : 0) +
      (duplicateRun && (duplicateRun.acceptedStops > 0 || duplicateRun.status === STOPPED) ? 1 : 0);

    const poison = request.kind !== 'view';
    const lost = !poison && (end === 'redriven' || end === 'nowhere');
    const stoppedOrParked = poison
      ? end === 'parked'
      : end === 'stopped' || end === 'not-running' || end === 'parked';
    return {
      index: request.index,
      kind: request.kind,
      end,
      ...(end === 'parked' && parkedWith !== undefined ? { reason: parkedWith } : {}),
      lost,
      doubleStops,
      stoppedOrParked,
      refusedView: !poison && end === 'parked',
    };
  });

  const ends: Record<RequestEnd, number> = {
    stopped: 0,
    'not-running': 0,
    parked: 0,
    redriven: 0,
    nowhere: 0,
  };
  const parkedReasons: Record<string, number> = {};
  for (const v of verdicts) {
    ends[v.end] += 1;
    if (v.reason !== undefined) parkedReasons[v.reason] = (parkedReasons[v.reason] ?? 0) + 1;
  }
  const count = (predicate: (v: RequestVerdict) => boolean) => verdicts.filter(predicate).length;
  return {
    verdicts,
    ends,
    lost: count((v) => v.lost),
    lostRedriven: count((v) => v.lost && v.end === 'redriven'),
    lostNowhere: count((v) => v.lost && v.end === 'nowhere'),
    doubleStops: verdicts.reduce((sum, v) => sum + v.doubleStops, 0),
    stoppedOrParked: count((v) => v.stoppedOrParked),
    poison: count((v) => v.kind !== 'view'),
    poisonParked: count((v) => v.kind !== 'view' && v.end === 'parked'),
    refusedViews: count((v) => v.refusedView),
    parkedReasons,
    strayDeadLetters,
  };
};

/** Accepted stops per run, from the Glue emulator's call log (`runId` is set on calls that acted). */
export const acceptedStopsByRun = (
  calls: readonly { readonly operation: string; readonly runId?: string }[],
): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const call of calls) {
    if (call.operation !== 'StopMaterializedViewRefreshTaskRun' || call.runId === undefined) continue;
    counts.set(call.runId, (counts.get(call.runId) ?? 0) + 1);
  }
  return counts;
};
