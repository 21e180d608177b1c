/**
 * What the chaos suite does, decided from the seed alone (pure functions, no I/O): the requests, which of
 * them are poison and which are delivered twice, the Glue fault mix, and which invocations are killed when.
 * The same seed gives the same plan; faults are drawn per view and operation (`seededFaults` keyed by
 * table), so a request meets the same faults whatever the other requests do in between.
 */
import { type FaultHookCall, type FaultRate, seededUnit } from '../../local/glue-emulator.ts';

export const CHAOS_DATABASE = 'chaos';

/**
 * - `view`: a running materialized view, to be stopped.
 * - `not-a-view`: poison, a plain table (Glue answers InvalidInputException): must be parked with a reason.
 * - `denied`: poison, a view the function may not touch (AccessDeniedException): parked with a reason.
 */
export type RequestKind = 'view' | 'not-a-view' | 'denied';

export interface PlannedRequest {
  readonly index: number;
  readonly kind: RequestKind;
  readonly tableName: string;
  /** Sent with this IdempotencyKey (else the SQS message id is the key). */
  readonly idempotencyKey?: string;
  /** Sent with IssuedAt (the run guard: a run that started later is not stopped). */
  readonly issuedAt: boolean;
  /** Delivered again once handled, after a new run of the view has started. */
  readonly duplicate: boolean;
}

export interface PlanShares {
  readonly poison: number;
  readonly duplicate: number;
  readonly idempotencyKey: number;
  readonly issuedAt: number;
}

export const DEFAULT_SHARES: PlanShares = {
  poison: 0.01,
  duplicate: 0.05,
  idempotencyKey: 0.5,
  issuedAt: 0.5,
};

/** `count` of `candidates`, chosen by the seed (a seeded shuffle, then the first ones), in index order. */
export const chooseSome = (
  seed: number,
  label: string,
  candidates: readonly number[],
  count: number,
): number[] =>
  [...candidates]
    .sort((a, b) => seededUnit(seed, label, a) - seededUnit(seed, label, b))
    .slice(0, Math.max(0, Math.min(count, candidates.length)))
    .sort((a, b) => a - b);

const pad = (n: number) => String(n).padStart(5, '0');

export const planRequests = (
  seed: number,
  count: number,
  shares: PlanShares = DEFAULT_SHARES,
): PlannedRequest[] => {
  const all = Array.from({ length: count }, (_, i) => i);
  const poison = chooseSome(seed, 'poison', all, Math.round(count * shares.poison));
  const poisonKind = new Map(
    poison.map((index, n) => [index, n % 2 === 0 ? 'not-a-view' : 'denied'] as const),
  );
  const views = all.filter((i) => !poisonKind.has(i));
  const duplicates = new Set(chooseSome(seed, 'duplicate', views, Math.round(count * shares.duplicate)));
  return all.map((index): PlannedRequest => {
    const kind: RequestKind = poisonKind.get(index) ?? 'view';
    const withKey = seededUnit(seed, 'idempotency-key', index) < shares.idempotencyKey;
    // A plain table has no runs: with a run guard the request would end as not-running, never reaching
    // the stop that Glue refuses. Poison of that kind is sent unguarded.
    const issuedAt = kind !== 'not-a-view' && seededUnit(seed, 'issued-at', index) < shares.issuedAt;
    const tableName =
      kind === 'view'
        ? `mv_${pad(index)}`
        : kind === 'denied'
          ? `denied_mv_${pad(index)}`
          : `plain_${pad(index)}`;
    return {
      index,
      kind,
      tableName,
      ...(withKey ? { idempotencyKey: `chaos-${seed}-${pad(index)}` } : {}),
      issuedAt,
      duplicate: duplicates.has(index),
    };
  });
};

/** The message body a producer sends for a planned request. */
export const requestBody = (request: PlannedRequest, issuedAt: string): Record<string, string> => ({
  DatabaseName: CHAOS_DATABASE,
  TableName: request.tableName,
  ...(request.idempotencyKey !== undefined ? { IdempotencyKey: request.idempotencyKey } : {}),
  ...(request.issuedAt ? { IssuedAt: issuedAt } : {}),
  Reason: 'chaos suite',
  RequestedBy: 'chaos',
});

/** One kind of Glue fault in the mix, with what the chaos table calls it. */
export interface ChaosFault extends FaultRate {
  readonly label: string;
}

/** Longer than any per-attempt timeout the functions' Glue client uses (6 s, then 3 s): a late answer. */
export const DELAY_BEYOND_SOCKET_TIMEOUT_MS = 10_000;

/**
 * The fault mix, per Glue call (every attempt draws): 30 % throttling, 10 % 5xx, 5 %
 * OperationTimeout, 5 % connection reset (half of them after the operation took effect: the answer is
 * lost), 2 % answers later than the socket timeout (the operation takes effect on arrival), 0.5 % calls
 * that never answer. Poison (1 %) is a property of requests, not calls: see `planRequests`.
 */
export const glueFaultMix = (delayMs: number = DELAY_BEYOND_SOCKET_TIMEOUT_MS): readonly ChaosFault[] => [
  { label: 'throttling (400 ThrottlingException)', kind: 'throttle', rate: 0.3 },
  { label: '5xx (500 InternalServiceException)', kind: 'internal-error', rate: 0.05 },
  { label: '5xx (503 ServiceUnavailableException)', kind: 'service-unavailable', rate: 0.05 },
  { label: 'OperationTimeoutException (400)', kind: 'operation-timeout', rate: 0.05 },
  { label: 'connection reset, before the operation', kind: 'connection-reset', rate: 0.025 },
  {
    label: 'connection reset, after the operation (answer lost)',
    kind: 'connection-reset',
    rate: 0.025,
    afterOperation: true,
  },
  {
    label: `answer delayed ${delayMs / 1000} s (beyond the socket timeout)`,
    kind: 'delay',
    rate: 0.02,
    delayMs,
  },
  { label: 'no answer at all (hangs past the function timeout)', kind: 'hang', rate: 0.005 },
];

/** The label of the fault a decision stands for (`undefined`: not one of the mix). */
export const faultLabel = (
  mix: readonly ChaosFault[],
  decision: { kind: string; afterOperation?: boolean },
): string | undefined =>
  mix.find(
    (f) => f.kind === decision.kind && (f.afterOperation ?? false) === (decision.afterOperation ?? false),
  )?.label;

/** Faults are drawn per operation and view: a request meets the same faults whatever else runs. */
export const faultKey = (call: FaultHookCall): string =>
  `${call.operation}\u0000${String(call.input.DatabaseName ?? '')}\u0000${String(call.input.TableName ?? '')}`;

export const KILL_SHARE = 0.02;

/** When invocation `sequence` is SIGKILLed (ms after it started), or `undefined` if it is not. */
export const killAfterMs = (
  seed: number,
  sequence: number,
  windowMs: number,
  share: number = KILL_SHARE,
): number | undefined =>
  seededUnit(seed, 'kill', sequence) < share
    ? Math.floor(seededUnit(seed, 'kill-at', sequence) * windowMs)
    : undefined;

/** How long after its first successful handling a duplicate is delivered. */
export const duplicateDelayMs = (seed: number, index: number, maxMs = 3_000): number =>
  Math.floor(seededUnit(seed, 'duplicate-delay', index) * maxMs);
