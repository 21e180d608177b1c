/**
 * The chaos suite's figures as markdown (printed, and written between `<!-- chaos:start -->` and
 * `<!-- chaos:end -->` in docs/reliability.md), and the targets they are judged by.
 */
import type { InvocationResult } from './environments.ts';
import type { OracleResult } from './oracle.ts';

export const SECTION_START = '<!-- chaos:start -->';
export const SECTION_END = '<!-- chaos:end -->';

export interface FaultCount {
  readonly label: string;
  /** Configured probability (per call, request or invocation). */
  readonly rate: number;
  readonly per: string;
  readonly count: number;
  /** What the count is out of (calls, requests, invocations). */
  readonly outOf: number;
}

export interface ChaosFigures {
  readonly seed: number;
  readonly requests: number;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly drainDurationMs: number;
  readonly incomplete: boolean;
  readonly settings: {
    readonly functionTimeoutSeconds: number;
    readonly visibilityTimeoutSeconds: number;
    readonly deployedVisibilityTimeoutSeconds: number;
    readonly maxReceiveCount: number;
    readonly batchSize: number;
    readonly concurrency: number;
    readonly killWindowMs: number;
  };
  readonly invocations: number;
  readonly recordsDelivered: number;
  readonly batchItemFailures: number;
  readonly results: Readonly<Record<InvocationResult['kind'], number>>;
  /** The machine's 1-minute load average, sampled during the drain: min / mean / max. */
  readonly load: { readonly min: number; readonly mean: number; readonly max: number; readonly cpus: number };
  readonly coldStarts: number;
  /** Kill timers set; one that came after the invocation answered passed on to the next invocation. */
  readonly killsScheduled: number;
  readonly invocationMs: { readonly p50: number; readonly p95: number; readonly max: number };
  readonly redriven: number;
  readonly duplicates: { readonly planned: number; readonly delivered: number; readonly skipped: number };
  readonly glue: {
    readonly calls: number;
    readonly byOperation: Readonly<Record<string, number>>;
    readonly throttled: number;
    /** Calls by the SDK's attempt number (`amz-sdk-request: attempt=N`). */
    readonly byAttempt: Readonly<Record<string, number>>;
  };
  readonly chaos: readonly FaultCount[];
  /** Outcome events per `outcome` (and `outcome / reason`), replays separately. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly replayed: number;
  /** `retry` outcomes per reason, from the functions' log lines (they are not published as events). */
  readonly retries: Readonly<Record<string, number>>;
  readonly oracle: OracleResult;
}

export interface TargetResult {
  readonly target: string;
  readonly result: string;
  readonly met: boolean;
}

const pct = (part: number, whole: number, digits = 1): string =>
  whole === 0 ? '–' : `${((100 * part) / whole).toFixed(digits)} %`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export const targets = (f: ChaosFigures): TargetResult[] => [
  { target: '0 lost', result: String(f.oracle.lost), met: f.oracle.lost === 0 },
  { target: '0 double stops', result: String(f.oracle.doubleStops), met: f.oracle.doubleStops === 0 },
  {
    target: '100 % stopped-or-parked with a reason',
    result: `${pct(f.oracle.stoppedOrParked, f.requests)} (${f.oracle.stoppedOrParked} of ${f.requests})`,
    met: f.oracle.stoppedOrParked === f.requests,
  },
  {
    target: '0 invocations reaching the function timeout',
    result: String(f.results.timeout),
    met: f.results.timeout === 0,
  },
  {
    target: 'the queue drained before the run’s time limit',
    result: f.incomplete ? 'no' : 'yes',
    met: !f.incomplete,
  },
];

/** A markdown table with padded columns, as the formatter (biome) writes it. */
export const table = (header: readonly string[], rows: readonly (readonly (string | number)[])[]): string => {
  const cells = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => [...(row[i] ?? '')].length)));
  const line = (row: readonly string[]) =>
    `| ${widths.map((w, i) => (row[i] ?? '').padEnd(w + (row[i] ?? '').length - [...(row[i] ?? '')].length)).join(' | ')} |`;
  const [head = [], ...body] = cells;
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
};

export const renderMarkdown = (f: ChaosFigures): string => {
  const s = f.settings;
  const o = f.oracle;
  const perRequest = (n: number) => (n / f.requests).toFixed(2);
  const outcomeRows = Object.entries(f.outcomes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, count]) => [`\`${name}\``, count]);
  const reasons = Object.entries(o.parkedReasons)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return [
    '### Chaos suite',
    '',
    '`npm run chaos` ([`test/chaos/`](../test/chaos/run.ts)) sends stop requests through the built queue bundle ' +
      'while Glue, the event source and the execution environments misbehave, and checks how every request ended.',
    '',
    `Last run: ${f.startedAt}, ${seconds(f.durationMs)} (queue drained in ${seconds(f.drainDurationMs)}), ` +
      `seed ${f.seed}, ${f.requests} requests. Reproduce with \`npm run chaos -- --seed ${f.seed} --requests ${f.requests}\`.`,
    '',
    `The built \`stopFromQueue\` bundle runs in ${s.concurrency} child processes (Lambda execution environments, ` +
      `reused across invocations, replaced after a kill or a timeout) over the Glue and EventBridge emulators, ` +
      `dynalite and fauxqs. A simulated SQS event source delivers batches of up to ${s.batchSize} records, ` +
      `deletes what the handler did not report in \`batchItemFailures\`, and moves a record to the dead-letter ` +
      `queue after ${s.maxReceiveCount} receives. Function timeout ${s.functionTimeoutSeconds} s ` +
      `(\`provider.timeout\` in serverless.yml), enforced by the parent; visibility timeout ` +
      `${s.visibilityTimeoutSeconds} s, scaled down from the deployed ${s.deployedVisibilityTimeoutSeconds} s ` +
      '(6 × function timeout + batching window) but still longer than the function timeout.',
    '',
    'Each Glue call draws its fault from the seed, per view and operation (a request meets the same faults ' +
      'whatever else runs); poison requests name a table that is not a view or one the function may not touch. ' +
      'A duplicate is the same SQS message (same MessageId and body) delivered again after it was handled, once ' +
      'a new run of its view has started: that run must not be stopped. ' +
      `SIGKILLs land within ${s.killWindowMs / 1000} s of an invocation's start; one that comes after the answer ` +
      'passes on to the next invocation. The oracle reads the Glue emulator’s runs and call log and the ' +
      'dead-letter queue: _lost_ is a valid request whose run still runs and that is not parked with a reason ' +
      '(dead-lettered by the redrive policy without one, or gone).',
    '',
    '#### Targets',
    '',
    table(
      ['target', 'result', ''],
      targets(f).map((t) => [t.target, t.result, t.met ? 'met' : '**missed**']),
    ),
    '',
    '#### Chaos',
    '',
    table(
      ['fault', 'configured', 'injected'],
      f.chaos.map((c) => [
        c.label,
        `${(c.rate * 100).toFixed(1)} % of ${c.per}`,
        `${c.count} of ${c.outOf} (${pct(c.count, c.outOf)})`,
      ]),
    ),
    '',
    '#### How the requests ended',
    '',
    table(
      ['end', 'requests'],
      [
        ['run stopped', o.ends.stopped],
        ['run no longer running (no stop accepted)', o.ends['not-running']],
        [`parked in the dead-letter queue with a reason (${reasons || 'none'})`, o.ends.parked],
        [`of which poison (${o.poison} sent)`, o.poisonParked],
        ['dead-lettered by the redrive policy, without a reason', o.ends.redriven],
        ['nowhere (run still running, request gone)', o.ends.nowhere],
        ['valid requests refused (parked instead of stopped)', o.refusedViews],
        [
          `duplicates: delivered again after a new run started (${f.duplicates.skipped} not delivered)`,
          f.duplicates.delivered,
        ],
      ],
    ),
    '',
    '#### Outcome events',
    '',
    table(
      ['outcome', 'events'],
      [
        ...outcomeRows,
        ['of which answered from the idempotency record', f.replayed],
        ...Object.entries(f.retries)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([reason, n]) => [`\`retry / ${reason}\` (log lines; retries are not published)`, n]),
      ],
    ),
    '',
    '#### Counts',
    '',
    table(
      ['measure', 'value'],
      [
        ['invocations', f.invocations],
        ['records delivered (redeliveries and duplicates included)', f.recordsDelivered],
        ['batch item failures', f.batchItemFailures],
        [
          'invocations SIGKILLed (kill timers set; a timer that came after the answer passed on)',
          `${f.results.killed} (${f.killsScheduled})`,
        ],
        ['invocations reaching the function timeout', f.results.timeout],
        [
          'invocations that failed: handler error / crashed / cold start over 10 s',
          `${f.results.error} / ${f.results.crashed} / ${f.results['init-failed']}`,
        ],
        ['cold starts', f.coldStarts],
        [
          'invocation duration p50 / p95 / max',
          `${seconds(f.invocationMs.p50)} / ${seconds(f.invocationMs.p95)} / ${seconds(f.invocationMs.max)}`,
        ],
        ['records moved to the dead-letter queue by the redrive policy', f.redriven],
        ['Glue calls (per request)', `${f.glue.calls} (${perRequest(f.glue.calls)})`],
        ...Object.entries(f.glue.byOperation)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([op, n]) => [`– ${op} (per request)`, `${n} (${perRequest(n)})`]),
        [
          'Glue calls by SDK attempt (1st / 2nd / 3rd …)',
          Object.entries(f.glue.byAttempt)
            .sort(([a], [b]) => Number(a) - Number(b))
            .map(([, n]) => n)
            .join(' / '),
        ],
        ['throttled Glue responses', f.glue.throttled],
        [
          `machine load during the run (1-minute load average, ${f.load.cpus} CPUs): min / mean / max`,
          `${f.load.min.toFixed(1)} / ${f.load.mean.toFixed(1)} / ${f.load.max.toFixed(1)}`,
        ],
      ],
    ),
  ].join('\n');
};

/** `text` with the chaos section replaced by `body`; throws if the markers are missing. */
export const replaceSection = (text: string, body: string): string => {
  const start = text.indexOf(SECTION_START);
  const end = text.indexOf(SECTION_END);
  if (start < 0 || end < start) {
    throw new Error(`the markers ${SECTION_START} … ${SECTION_END} are missing or out of order`);
  }
  return `${text.slice(0, start + SECTION_START.length)}\n${body.trim()}\n${text.slice(end)}`;
};

/** The p-th percentile (0..100) of `values`, nearest rank; 0 for none. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
};
