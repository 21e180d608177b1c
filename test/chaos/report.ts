/**
 * The chaos suite's figures as markdown (printed, and written between `<!-- chaos:start -->` and
 * `<!-- chaos:end -->` in docs/reliability.md), and the targets they are judged by.
 */
import type { InvocationResult } from './environments.ts';
import type { OracleResult, PartCalls, ScopeOracleResult } from './oracle.ts';

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

/** The scope part of a run: scope requests, their views, and the tasks the queue function sent itself. */
export interface ScopeFigures {
  readonly scopes: number;
  readonly views: number;
  readonly layouts: { readonly glob: number; readonly database: number };
  /** Views per stop task, as the queue function derives it from its Glue budget. */
  readonly viewsPerTask: number;
  readonly glueRate?: number;
  readonly tasks: {
    /** Distinct stop and list tasks delivered. */
    readonly stop: number;
    readonly list: number;
    /** Task deliveries, redeliveries and duplicates included. */
    readonly deliveries: number;
    readonly viewsPerTaskMean: number;
    readonly viewsPerTaskMax: number;
    /** Distinct exact requests a task sent for a view it could not settle, and their deliveries. */
    readonly fallbacks: number;
    readonly fallbackDeliveries: number;
  };
  readonly duplicates: {
    readonly scopesPlanned: number;
    readonly scopesDelivered: number;
    readonly tasksDelivered: number;
    /** Duplicates still waiting for their views when the drain ended. */
    readonly notDelivered: number;
    /** New runs started before duplicates were delivered. */
    readonly newRuns: number;
  };
  readonly replacements: { readonly planned: number; readonly made: number };
  readonly glue: PartCalls & { readonly calls: number };
  readonly outcomes: Readonly<Record<string, number>>;
  readonly replayed: number;
  readonly retries: Readonly<Record<string, number>>;
  readonly oracle: ScopeOracleResult;
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
    /** Each instance's Glue budget (GLUE_MAX_REQUESTS_PER_SECOND); absent: none. */
    readonly glueRate?: number;
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
    /** The calls that name an exact request's view. */
    readonly exact: PartCalls & { readonly calls: number };
  };
  readonly chaos: readonly FaultCount[];
  /** Outcome events of the exact requests per `outcome` (and `outcome / reason`), replays separately. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly replayed: number;
  /** `retry` outcomes per reason, from the functions' log lines (they are not published as events). */
  readonly retries: Readonly<Record<string, number>>;
  readonly oracle: OracleResult;
  /** Absent when the run sent no scope requests. */
  readonly scopes?: ScopeFigures;
}

export interface TargetResult {
  readonly target: string;
  readonly result: string;
  readonly met: boolean;
}

const pct = (part: number, whole: number, digits = 1): string =>
  whole === 0 ? '–' : `${((100 * part) / whole).toFixed(digits)} %`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

const scopeTargets = (s: ScopeFigures): TargetResult[] => {
  const o = s.oracle;
  return [
    { target: 'scope views: 0 lost', result: String(o.lost), met: o.lost === 0 },
    {
      target: 'scope views: 0 double stops (a run stopped twice)',
      result: String(o.doubleStops),
      met: o.doubleStops === 0,
    },
    {
      target: 'scope views: 0 runs stopped that started after the scope’s IssuedAt',
      result: `${o.newerRunsStopped} of ${o.newerRuns}`,
      met: o.newerRunsStopped === 0,
    },
    {
      target: 'scope views: 100 % stopped-or-parked with a reason',
      result: `${pct(o.stoppedOrParked, s.views)} (${o.stoppedOrParked} of ${s.views})`,
      met: o.stoppedOrParked === s.views,
    },
    {
      target: 'denied scope views Glue refused: parked as exact requests under their own key',
      result: `${o.deniedRefusedParkedUnderViewKey} of ${o.deniedRefused}`,
      met: o.deniedRefusedParkedUnderViewKey === o.deniedRefused,
    },
  ];
};

export const targets = (f: ChaosFigures): TargetResult[] => [
  { target: 'exact requests: 0 lost', result: String(f.oracle.lost), met: f.oracle.lost === 0 },
  {
    target: 'exact requests: 0 double stops',
    result: String(f.oracle.doubleStops),
    met: f.oracle.doubleStops === 0,
  },
  {
    target: 'exact requests: 100 % stopped-or-parked with a reason',
    result: `${pct(f.oracle.stoppedOrParked, f.requests)} (${f.oracle.stoppedOrParked} of ${f.requests})`,
    met: f.oracle.stoppedOrParked === f.requests,
  },
  ...(f.scopes !== undefined ? scopeTargets(f.scopes) : []),
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

const ratio = (part: number, whole: number): string => (whole === 0 ? '–' : (part / whole).toFixed(2));

const scopeParagraph = (sc: ScopeFigures): string =>
  `Scope requests (\`TableNames\`) each cover ${sc.views === 0 ? 'no' : 'a group of'} running views of their own: ` +
  `${sc.layouts.glob} name a glob (\`scope_NNNN_*\`) in the database the exact requests' views run in, so ` +
  'their listing spans two pages and the first page moves as new runs start; ' +
  `${sc.layouts.database} name \`*\` in a database of their own. The queue function lists a scope page by ` +
  'page and sends itself stop tasks (`{"ScopeTask": …}`) on the same queue the event source drains ' +
  '(`STOP_QUEUE_URL`); each task reads its page again and stops its views. Some views’ runs end on their ' +
  'own before or while the scope runs (not-running is then right); some are replaced by a newer run, ' +
  'before the expansion or just before the first task naming the view is delivered (the newer run must ' +
  'not be stopped); some are denied (AccessDenied: parked with a reason, as an exact request under the ' +
  'view’s own key). Some scope requests and stop tasks are delivered again once their views have settled ' +
  'and new runs of them have started: those runs must not be stopped. Glue calls count for the scope part ' +
  'when they name a scope view or list a database (only scopes do).';

const scopeEnds = (sc: ScopeFigures): string => {
  const o = sc.oracle;
  const kinds = ['view', 'finished', 'replaced', 'denied'] as const;
  const row = (label: string, end: keyof typeof o.ends) => [
    label,
    ...kinds.map((k) => o.byKind[k][end]),
    o.ends[end],
  ];
  const reasons = Object.entries(o.parkedReasons)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const total = (k: (typeof kinds)[number]) => Object.values(o.byKind[k]).reduce((a, b) => a + b, 0);
  return table(
    ['end', 'running', 'ends on its own', 'replaced', 'denied', 'all'],
    [
      ['views', ...kinds.map(total), sc.views],
      row('run stopped', 'stopped'),
      row('run no longer running (no stop accepted)', 'not-running'),
      row(`parked in the dead-letter queue with a reason (${reasons || 'none'})`, 'parked'),
      row('dead-lettered by the redrive policy, without a reason', 'redriven'),
      row('nowhere (run still running, view not parked)', 'nowhere'),
    ],
  );
};

const scopeCounts = (f: ChaosFigures, sc: ScopeFigures): string => {
  const o = sc.oracle;
  const exactStopped = f.oracle.ends.stopped;
  return table(
    ['measure', 'value'],
    [
      [
        'scope requests (glob in the shared database / a database of their own)',
        `${sc.scopes} (${sc.layouts.glob} / ${sc.layouts.database})`,
      ],
      [
        `views per stop task (${sc.glueRate === undefined ? 'no Glue budget' : `Glue budget ${sc.glueRate}/s per instance`}): derived / mean / most delivered`,
        `${sc.viewsPerTask} / ${sc.tasks.viewsPerTaskMean.toFixed(1)} / ${sc.tasks.viewsPerTaskMax}`,
      ],
      ['stop tasks / list tasks (distinct)', `${sc.tasks.stop} / ${sc.tasks.list}`],
      ['task deliveries (redeliveries and duplicates included)', sc.tasks.deliveries],
      [
        'exact requests sent for views a task could not settle (distinct / deliveries)',
        `${sc.tasks.fallbacks} / ${sc.tasks.fallbackDeliveries}`,
      ],
      [
        'replaced views: newer runs started (planned)',
        `${sc.replacements.made} (${sc.replacements.planned})`,
      ],
      [
        'duplicates delivered: scope requests (planned) / stop tasks; still waiting at the end',
        `${sc.duplicates.scopesDelivered} (${sc.duplicates.scopesPlanned}) / ${sc.duplicates.tasksDelivered}; ${sc.duplicates.notDelivered}`,
      ],
      ['new runs started before those duplicates', sc.duplicates.newRuns],
      [
        'runs that started after the scope’s IssuedAt (replacements and new runs) / stopped',
        `${o.newerRuns} / ${o.newerRunsStopped}`,
      ],
      ['views parked more than once (each with a reason)', o.parkedMoreThanOnce],
      [
        'Glue calls for scope views: List by page / List by view / Stop',
        `${sc.glue.pageLists} / ${sc.glue.viewLists} / ${sc.glue.stops}`,
      ],
      [
        'pages read (List by page, first attempts) per stopped view; fan-out.md without faults: 2 ÷ views per task',
        `${ratio(sc.glue.pageReads, o.ends.stopped)} (${sc.glue.pageReads} ÷ ${o.ends.stopped}); ` +
          `2 ÷ ${sc.viewsPerTask} = ${(2 / sc.viewsPerTask).toFixed(2)}`,
      ],
      [
        'Glue calls per stopped view, scope part (List + Stop ÷ views stopped)',
        `${ratio(sc.glue.calls, o.ends.stopped)} (${sc.glue.calls} ÷ ${o.ends.stopped}); ` +
          `fan-out.md’s bound without faults: 1 + 2/${sc.viewsPerTask} = ${(1 + 2 / sc.viewsPerTask).toFixed(2)}`,
      ],
      [
        'Glue calls per stopped run, exact part (List + Stop ÷ runs stopped)',
        `${ratio(f.glue.exact.calls, exactStopped)} (${f.glue.exact.calls} ÷ ${exactStopped})`,
      ],
    ],
  );
};

const outcomeTable = (f: ChaosFigures): string => {
  const sc = f.scopes;
  if (sc === undefined) {
    return table(
      ['outcome', 'events'],
      [
        ...Object.entries(f.outcomes)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, count]) => [`\`${name}\``, count]),
        ['of which answered from the idempotency record', f.replayed],
        ...Object.entries(f.retries)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([reason, n]) => [`\`retry / ${reason}\` (log lines; retries are not published)`, n]),
      ],
    );
  }
  const names = [...new Set([...Object.keys(f.outcomes), ...Object.keys(sc.outcomes)])].sort();
  const reasons = [...new Set([...Object.keys(f.retries), ...Object.keys(sc.retries)])].sort();
  return table(
    ['outcome', 'exact requests', 'scope part'],
    [
      ...names.map((name) => [`\`${name}\``, f.outcomes[name] ?? 0, sc.outcomes[name] ?? 0]),
      ['of which answered from the idempotency record', f.replayed, sc.replayed],
      ...reasons.map((reason) => [
        `\`retry / ${reason}\` (log lines; retries are not published)`,
        f.retries[reason] ?? 0,
        sc.retries[reason] ?? 0,
      ]),
    ],
  );
};

/** The command that repeats a run. */
export const reproduceCommand = (f: ChaosFigures): string =>
  `npm run chaos -- --seed ${f.seed} --requests ${f.requests} --scopes ${f.scopes?.scopes ?? 0}` +
  (f.settings.glueRate !== undefined ? ` --glue-rate ${f.settings.glueRate}` : ' --glue-rate 0');

export const renderMarkdown = (f: ChaosFigures): string => {
  const s = f.settings;
  const o = f.oracle;
  const sc = f.scopes;
  const perRequest = (n: number) => (n / f.requests).toFixed(2);
  const reasons = Object.entries(o.parkedReasons)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  return [
    '### Chaos suite',
    '',
    '`npm run chaos` ([`test/chaos/`](../test/chaos/run.ts)) sends exact stop requests and scope requests ' +
      'through the built queue bundle while Glue, the event source and the execution environments misbehave, ' +
      'and checks how every request and every view of a scope ended.',
    '',
    `Last run: ${f.startedAt}, ${seconds(f.durationMs)} (queue drained in ${seconds(f.drainDurationMs)}), ` +
      `seed ${f.seed}, ${f.requests} exact requests` +
      (sc !== undefined ? ` and ${sc.scopes} scope requests over ${sc.views} views` : '') +
      `. Reproduce with \`${reproduceCommand(f)}\`.`,
    '',
    `The built \`stopFromQueue\` bundle runs in ${s.concurrency} child processes (Lambda execution environments, ` +
      `reused across invocations, replaced after a kill or a timeout) over the Glue and EventBridge emulators, ` +
      `dynalite and fauxqs. A simulated SQS event source delivers batches of up to ${s.batchSize} records, ` +
      `deletes what the handler did not report in \`batchItemFailures\`, and moves a record to the dead-letter ` +
      `queue after ${s.maxReceiveCount} receives. Function timeout ${s.functionTimeoutSeconds} s ` +
      `(\`provider.timeout\` in serverless.yml), enforced by the parent; visibility timeout ` +
      `${s.visibilityTimeoutSeconds} s, scaled down from the deployed ${s.deployedVisibilityTimeoutSeconds} s ` +
      '(6 × function timeout + batching window) but still longer than the function timeout. ' +
      (s.glueRate !== undefined
        ? `Each instance holds a Glue budget of ${s.glueRate} calls per second (\`GLUE_MAX_REQUESTS_PER_SECOND\`, ` +
          'as the deployed functions do; a share larger than the default stage’s keeps the run short).'
        : 'The instances run without a Glue budget (no `GLUE_MAX_REQUESTS_PER_SECOND`).'),
    '',
    'Each Glue call draws its fault from the seed, per view and operation (a request meets the same faults ' +
      'whatever else runs; a List of a whole database draws from that database’s sequence); poison requests ' +
      'name a table that is not a view or one the function may not touch. ' +
      'A duplicate is the same SQS message (same MessageId and body) delivered again after it was handled, once ' +
      'a new run of its view has started: that run must not be stopped. ' +
      `SIGKILLs land within ${s.killWindowMs / 1000} s of an invocation's start; one that comes after the answer ` +
      'passes on to the next invocation. The oracle reads the Glue emulator’s runs and call log and the ' +
      'dead-letter queue: _lost_ is a valid request (or scope view) whose run still runs and that is not parked ' +
      'with a reason (dead-lettered by the redrive policy without one, or gone).',
    ...(sc !== undefined ? ['', scopeParagraph(sc)] : []),
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
    '#### How the exact requests ended',
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
    ...(sc !== undefined
      ? [
          '',
          '#### How the scope views ended',
          '',
          scopeEnds(sc),
          '',
          `Parked views: ${sc.oracle.parkedAs.view} as exact requests of their own, ${sc.oracle.parkedAs.task} ` +
            `inside a stop task parked whole, ${sc.oracle.parkedAs.scope} with their scope request. Denied views ` +
            `parked as exact requests under their own key: ${sc.oracle.deniedParkedUnderViewKey} of ` +
            `${sc.oracle.denied} (${sc.oracle.deniedRefused} refused by Glue; a denied view a task never reached ` +
            `is parked with the task). Views that were not denied, parked instead of stopped: ` +
            `${sc.oracle.refusedViews}.`,
          '',
          '#### Scope fan-out',
          '',
          scopeCounts(f, sc),
        ]
      : []),
    '',
    '#### Outcome events',
    '',
    outcomeTable(f),
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
        ...(sc === undefined
          ? [
              ['Glue calls (per request)', `${f.glue.calls} (${perRequest(f.glue.calls)})`],
              ...Object.entries(f.glue.byOperation)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([op, n]) => [`– ${op} (per request)`, `${n} (${perRequest(n)})`]),
            ]
          : [
              ['Glue calls, exact and scope parts', f.glue.calls],
              ...Object.entries(f.glue.byOperation)
                .sort(([a], [b]) => a.localeCompare(b))
                .map(([op, n]) => [`– ${op}`, n]),
            ]),
        [
          'Glue calls of the exact part (per exact request; per stopped run)',
          `${f.glue.exact.calls} (${perRequest(f.glue.exact.calls)}; ${ratio(f.glue.exact.calls, o.ends.stopped)})`,
        ],
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
