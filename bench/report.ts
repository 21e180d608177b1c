/**
 * The benchmark's figures as tables (console and docs/benchmarks.md), with the targets and budgets judged.
 */
import {
  IMPORT_GROWTH_LIMIT,
  RECORDED,
  RECORDED_ON,
  type RecordedFigures,
  ZIP_LIMIT_BYTES,
} from './budgets.ts';
import { type Cost, costOf, PRICES, perUnit, type Usage, usageOf } from './cost.ts';
import type { ExactResult, FanOutResult, LambdaUsage, RunResult } from './fan-out.ts';
import {
  count,
  dollars,
  fixed,
  kb,
  max,
  median,
  mib,
  ms,
  ratio,
  seconds,
  sum,
  type Table,
  verdict,
} from './format.ts';
import type { InvocationRecord } from './lambda-pool.ts';
import type { Pipeline } from './pipeline.ts';
import type { ColdImport, ZipSize } from './size.ts';

/** Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB. */
const LAMBDA_VCPU_AT_256_MB = 256 / 1769;

/** A budget the bench fails on. */
export interface Violation {
  readonly what: string;
  readonly detail: string;
}

/** The figures the budgets compare with: bench/budgets.ts, or this run's own when it records them. */
export interface Recorded {
  readonly on: string;
  readonly figures: Readonly<Record<string, RecordedFigures>>;
}

export const RECORDED_FIGURES: Recorded = { on: RECORDED_ON, figures: RECORDED };

export const sizeTable = (
  zips: readonly ZipSize[],
  recordedFigures: Recorded = RECORDED_FIGURES,
): { table: Table; violations: Violation[] } => {
  const violations: Violation[] = [];
  const rows = zips.map((z) => {
    const ok = z.zipBytes <= ZIP_LIMIT_BYTES;
    if (!ok) violations.push({ what: `${z.name} zip`, detail: `${kb(z.zipBytes)} > ${kb(ZIP_LIMIT_BYTES)}` });
    const recorded = recordedFigures.figures[z.name];
    return [
      z.name,
      kb(z.bundleBytes),
      kb(z.zipBytes),
      recorded ? kb(recorded.zipBytes) : 'none',
      `${ok ? 'within' : '**over**'} ${kb(ZIP_LIMIT_BYTES)}`,
    ];
  });
  return {
    table: {
      title: `Deployment size (budget: zip ≤ ${kb(ZIP_LIMIT_BYTES)} per function)`,
      headers: ['function', 'bundle', 'zip (`osls package`)', `zip recorded ${recordedFigures.on}`, 'budget'],
      rows,
    },
    violations,
  };
};

export const coldImportTable = (
  cold: ColdImport,
  recordedFigures: Recorded = RECORDED_FIGURES,
): { table: Table; violations: Violation[] } => {
  const violations: Violation[] = [];
  const rows: string[][] = [
    ['bare node', ms(cold.bare.wallMs), '1.00 ×', ms(cold.bare.cpuMs), '1.00 ×', '', ''],
    [
      `floor: the Glue client and one command (${kb(cold.floor.bytes)})`,
      ms(cold.floor.wallMs),
      ratio(cold.floor.wallMs / cold.bare.wallMs),
      ms(cold.floor.cpuMs),
      ratio(cold.floor.cpuMs / cold.bare.cpuMs),
      '',
      '',
    ],
  ];
  for (const b of cold.bundles) {
    const recorded = recordedFigures.figures[b.name];
    let budget = 'no recorded figure';
    if (recorded) {
      const limit = recorded.cpuRatio * IMPORT_GROWTH_LIMIT;
      const ok = b.cpuRatio <= limit;
      if (!ok) {
        violations.push({
          what: `${b.name} cold import`,
          detail: `CPU ratio ${ratio(b.cpuRatio)} > ${ratio(limit)} (${ratio(recorded.cpuRatio)} recorded + ${Math.round((IMPORT_GROWTH_LIMIT - 1) * 100)} %)`,
        });
      }
      budget = `${ok ? 'within' : '**over**'} ${ratio(limit)}`;
    }
    rows.push([
      b.name,
      ms(b.wallMs),
      ratio(b.wallRatio),
      ms(b.cpuMs),
      ratio(b.cpuRatio),
      recorded ? `${ratio(recorded.cpuRatio)} (wall ${ratio(recorded.wallRatio)})` : 'none',
      budget,
    ]);
  }
  return {
    table: {
      title: `Cold import (budget: CPU ratio ≤ recorded + ${Math.round((IMPORT_GROWTH_LIMIT - 1) * 100)} %; target ≤ 1.4 × wall)`,
      headers: [
        'process',
        'wall (median)',
        'wall ÷ bare',
        'CPU (5 least)',
        'CPU ÷ bare',
        `recorded ${recordedFigures.on}`,
        'budget',
      ],
      rows,
    },
    violations,
  };
};

export const batchTable = (p: Pipeline): Table => {
  const batchRatio = p.ten / p.one;
  return {
    title: 'Batch latency at 50 ms Glue latency (target: 10 records ≤ 1.5 × 1 record)',
    headers: ['batch', 'median wall time', 'median CPU time in the function process'],
    rows: [
      ['1 record', ms(p.one), ms(p.cpuOne)],
      ['10 records', ms(p.ten), ms(p.cpuTen)],
      ['ratio', `${ratio(batchRatio)} (${verdict(batchRatio <= 1.5)})`, ''],
    ],
  };
};

export const callsTable = (p: Pipeline): Table => ({
  title: 'Calls per exact request (target: 0 Glue calls for a duplicate)',
  headers: ['request', 'Glue calls', 'DynamoDB calls'],
  rows: [
    ['new', String(p.fresh.glue), `${p.fresh.dynamoDb} (${p.fresh.detail})`],
    [
      'duplicate (already completed)',
      `${p.duplicate.glue} (${verdict(p.duplicate.glue === 0)})`,
      `${p.duplicate.dynamoDb} (${p.duplicate.detail})`,
    ],
  ],
});

/** When the `fraction` of `views` had been stopped, ms after the signal; undefined if never. */
const stoppedBy = (r: FanOutResult, fraction: number): number | undefined => {
  const index = Math.ceil(fraction * r.views) - 1;
  const at = r.services.glue.stopTimes[index];
  return at === undefined ? undefined : at - r.signalAt;
};

const timeOrNot = (valueMs: number | undefined, r: FanOutResult): string =>
  valueMs === undefined ? `> ${seconds(r.limitMs)}` : seconds(valueMs);

const byTag = (usage: LambdaUsage | undefined, tag?: string) =>
  (usage?.invocations ?? []).filter((i) => tag === undefined || i.tag === tag);

/** CPU seconds the environments of a function used: each slot's last cumulative figure. */
const functionCpuMs = (usage: LambdaUsage | undefined): number => {
  const bySlot = new Map<number, number>();
  for (const i of usage?.invocations ?? []) bySlot.set(i.slot, Math.max(bySlot.get(i.slot) ?? 0, i.cpuMs));
  return sum([...bySlot.values()]);
};

const glueCalls = (r: RunResult) => sum(Object.values(r.services.glue.callsByOperation));
const listCalls = (r: RunResult) => r.services.glue.callsByOperation.ListMaterializedViewRefreshTaskRuns ?? 0;
const stopCalls = (r: RunResult) => r.services.glue.callsByOperation.StopMaterializedViewRefreshTaskRun ?? 0;

export interface FanOutColumn {
  readonly label: string;
  readonly result: FanOutResult;
}

/** The fan-out's figures, one column per run. */
export const fanOutTable = (
  title: string,
  columns: readonly FanOutColumn[],
  budget: {
    readonly rate: number;
    readonly concurrency: number;
    readonly eventConcurrency: number;
    /** glue.burstSeconds: how much of its share each instance may catch up on after a pause. */
    readonly burstSeconds: number;
  },
): Table => {
  const { rate } = budget;
  // Each instance's limiter lets at most (T + burst) × share + 1 calls into a window of T: summed over the
  // instances that call Glue, R × (T + burst) + their number.
  const instances = budget.concurrency + budget.eventConcurrency;
  const peakBound = Math.floor(rate * (1 + budget.burstSeconds)) + instances;
  const row = (name: string, cell: (r: FanOutResult) => string, target = ''): string[] => [
    name,
    ...columns.map((c) => cell(c.result)),
    target,
  ];
  const idealMs = (r: FanOutResult) => (r.views / rate) * 1000;
  const completed = (r: FanOutResult) =>
    r.services.glue.viewsStoppedOnce + r.services.glue.viewsStoppedMoreThanOnce;
  const callsPerStop = (r: FanOutResult) => glueCalls(r) / Math.max(1, r.services.glue.acceptedStops);
  const done = (r: FanOutResult) => r.services.glue.viewsNotStopped === 0;
  return {
    title,
    headers: ['measure', ...columns.map((c) => c.label), 'target'],
    rows: [
      row('views (running) / runs listed per view', (r) => `${count(r.views)} / ${1 + r.finishedPerView}`),
      row('event source batch size', (r) => String(r.batchSize)),
      row(
        'Glue budget R / share per instance',
        (r) => `${rate}/s / ${fixed(r.share)}/s = R ÷ (${budget.concurrency} + ${budget.eventConcurrency})`,
      ),
      row(
        'completion: signal to the last Stop accepted',
        (r) => (done(r) ? seconds(r.completionMs) : `not within ${seconds(r.limitMs)}`),
        `≤ 1.2 × N/R`,
      ),
      row('N / R', (r) => seconds(idealMs(r))),
      row(
        'completion ÷ (N / R)',
        (r) =>
          done(r)
            ? `${ratio(r.completionMs / idealMs(r))} (${verdict(r.completionMs <= 1.2 * idealMs(r))})`
            : `> ${ratio(r.limitMs / idealMs(r))} (**missed**)`,
        '≤ 1.2 ×',
      ),
      row('views stopped within the limit', (r) => `${count(completed(r))} of ${count(r.views)}`, 'all'),
      row('first / 50 % / 90 % / 99 % of views stopped', (r) =>
        [0.0001, 0.5, 0.9, 0.99]
          .map((f) => (f < 0.001 ? seconds(r.firstStopMs) : timeOrNot(stoppedBy(r, f), r)))
          .join(' / '),
      ),
      row(
        'throttled Glue responses',
        (r) => `${count(r.services.glue.throttled)} (${verdict(r.services.glue.throttled === 0)})`,
        '0',
      ),
      row(
        'views stopped exactly once / more than once / not stopped',
        (r) =>
          `${count(r.services.glue.viewsStoppedOnce)} / ${count(r.services.glue.viewsStoppedMoreThanOnce)} / ${count(r.services.glue.viewsNotStopped)} (${verdict(r.services.glue.viewsStoppedMoreThanOnce === 0 && done(r))})`,
        'all once',
      ),
      row(
        'Stop calls not accepted (by error)',
        (r) =>
          Object.entries(r.services.glue.errors)
            .map(([code, n]) => `${count(n)} ${code.replace('MaterializedViewRefreshTask', '')}`)
            .join(', ') || '0',
      ),
      row('List calls / Stop calls', (r) => `${count(listCalls(r))} / ${count(stopCalls(r))}`),
      row(
        'Glue calls per view stopped',
        (r) => `${fixed(callsPerStop(r), 3)} (${verdict(callsPerStop(r) <= 1.15)})`,
        '≤ 1.15',
      ),
      row(
        "busiest second at Glue (any 1 s window) / the stack's bound",
        (r) =>
          `${count(r.services.glue.peakCallsPerSecond)} / ${count(peakBound)} calls ` +
          `(${verdict(r.services.glue.peakCallsPerSecond <= peakBound)})`,
        `≤ R × (1 s + ${budget.burstSeconds} s) + ${instances}`,
      ),
      row('queue invocations: expansion / stop tasks / exact requests', (r) =>
        ['expansion', 'stop-task', 'exact'].map((t) => count(byTag(r.lambda.queue, t).length)).join(' / '),
      ),
      row(
        'records delivered / batch item failures / dead-lettered',
        (r) =>
          `${count(r.drain.recordsDelivered)} / ${count(r.drain.batchItemFailures)} / ${count(r.drain.deadLettered)}`,
      ),
      row('longest invocation (records in it)', (r) => {
        const longest = byTag(r.lambda.queue).reduce<InvocationRecord | undefined>(
          (a, i) => (a && a.durationMs >= i.durationMs ? a : i),
          undefined,
        );
        return longest ? `${seconds(longest.durationMs)} (${longest.records} ${longest.tag})` : '';
      }),
      row(
        'peak RSS / heap, expanding invocation',
        (r) => {
          const ex = byTag(r.lambda.queue, 'expansion');
          return `${mib(max(ex.map((i) => i.peakRssBytes)))} / ${mib(max(ex.map((i) => i.peakHeapUsedBytes)))}`;
        },
        '< 256 MB',
      ),
      row(
        'peak RSS / heap, any queue invocation',
        (r) => {
          const all = byTag(r.lambda.queue);
          const peak = max(all.map((i) => i.peakRssBytes));
          return `${mib(peak)} / ${mib(max(all.map((i) => i.peakHeapUsedBytes)))}${peak > 256 * 1024 * 1024 ? ' (**over 256 MB**)' : ''}`;
        },
        '< 256 MB',
      ),
      row('RSS of an instance after INIT (median)', (r) => mib(median(r.lambda.queue?.initRssBytes ?? []))),
      row('CPU: queue instances / DynamoDB process / Glue+SQS+EventBridge process', (r) => {
        const dynamo = r.services.processes.find((p) => p.name === 'dynamodb');
        const other = r.services.processes.find((p) => p.name !== 'dynamodb');
        return [functionCpuMs(r.lambda.queue), dynamo?.cpuMs ?? Number.NaN, other?.cpuMs ?? Number.NaN]
          .map((v) => seconds(v))
          .join(' / ');
      }),
      row('CPU per view stopped, queue instances', (r) =>
        ms(functionCpuMs(r.lambda.queue) / Math.max(1, r.services.glue.acceptedStops)),
      ),
      row(
        'views/s one 256 MB instance (≈ 0.145 vCPU) could stop at that CPU',
        (r) =>
          fixed(
            (LAMBDA_VCPU_AT_256_MB * 1000) /
              (functionCpuMs(r.lambda.queue) / Math.max(1, r.services.glue.acceptedStops)),
            1,
          ),
        `≥ share (${fixed(columns[0]?.result.share ?? 0)})`,
      ),
      row(
        'machine: cores busy during the run (all processes) / load average at the signal',
        (r) =>
          `${r.machineBusyCores === undefined ? 'n/a' : fixed(r.machineBusyCores)} of 2 / ${fixed(r.loadAverage[0])}`,
      ),
    ],
  };
};

export const latencyTable = (r: FanOutResult, rate: number): Table => {
  const idealMs = (r.views / rate) * 1000;
  const done = r.services.glue.viewsNotStopped === 0;
  return {
    title: `Signal to last stop: a cost-guard alarm over ${count(r.views)} running views`,
    headers: ['measure', 'value'],
    rows: [
      [
        'alarm invocation (hand-off to the stop queue)',
        seconds(byTag(r.lambda.alarm)[0]?.durationMs ?? Number.NaN),
      ],
      ['signal to first Stop accepted', seconds(r.firstStopMs)],
      [
        'signal to 50 % / 90 % stopped',
        `${timeOrNot(stoppedBy(r, 0.5), r)} / ${timeOrNot(stoppedBy(r, 0.9), r)}`,
      ],
      ['signal to last Stop accepted', done ? seconds(r.completionMs) : `not within ${seconds(r.limitMs)}`],
      ['N / R', seconds(idealMs)],
      ['last stop ÷ (N / R)', done ? ratio(r.completionMs / idealMs) : '—'],
      ['Glue calls per view stopped', fixed(glueCalls(r) / Math.max(1, r.services.glue.acceptedStops), 3)],
      ['throttled Glue responses', count(r.services.glue.throttled)],
    ],
  };
};

export interface CostColumn {
  readonly label: string;
  /** Per stop. */
  readonly usage: Usage;
  readonly cost: Cost;
}

export const exactCostColumn = (r: ExactResult, memoryMb: number): CostColumn => {
  // Steady state: an environment serves many requests; its cold start is shown apart.
  const usage = perUnit(usageOf(r, memoryMb, false), Math.max(1, r.services.glue.acceptedStops));
  return { label: 'exact request (one request, one stop)', usage, cost: costOf(usage) };
};

export const fanOutCostColumn = (label: string, r: FanOutResult, memoryMb: number): CostColumn => {
  const usage = perUnit(usageOf(r, memoryMb, true), Math.max(1, r.services.glue.acceptedStops));
  return { label, usage, cost: costOf(usage) };
};

export const costTable = (columns: readonly CostColumn[]): Table => {
  const row = (name: string, cell: (c: CostColumn) => string): string[] => [name, ...columns.map(cell)];
  const per1000 = (value: number) => dollars(value * 1000);
  return {
    title: 'Cost per 1,000 stops (us-east-1 list prices, arm64, 256 MB)',
    headers: ['per stop → per 1,000 stops', ...columns.map((c) => c.label)],
    rows: [
      row('Lambda invocations per stop', (c) => fixed(c.usage.lambdaRequests, 4)),
      row('Lambda GB-s per stop (billed duration, INIT included)', (c) =>
        c.usage.lambdaGbSeconds.toPrecision(3),
      ),
      row('**Lambda** per 1,000 stops', (c) => per1000(c.cost.lambda)),
      row('SQS requests per stop (64 KB chunks)', (c) => fixed(c.usage.sqsRequests, 3)),
      row('**SQS** per 1,000 stops', (c) => per1000(c.cost.sqs)),
      row(
        'DynamoDB write / read units per stop',
        (c) => `${fixed(c.usage.dynamoDbWriteUnits, 3)} / ${fixed(c.usage.dynamoDbReadUnits, 3)}`,
      ),
      row('**DynamoDB** per 1,000 stops', (c) => per1000(c.cost.dynamoDb)),
      row('EventBridge events per stop', (c) => fixed(c.usage.eventBridgeEvents, 3)),
      row('**EventBridge** per 1,000 stops', (c) => per1000(c.cost.eventBridge)),
      row('log bytes per stop (level INFO)', (c) => count(Math.round(c.usage.logBytes))),
      row('**CloudWatch Logs** ingestion per 1,000 stops', (c) => per1000(c.cost.logs)),
      row('**total per 1,000 stops**', (c) => `**${per1000(c.cost.total)}**`),
      row('total per stop', (c) => dollars(c.cost.total)),
      row('Glue API calls per stop (not priced)', (c) => fixed(c.usage.glueCalls, 3)),
      row('empty receives of the event source per stop (not priced)', (c) =>
        fixed(c.usage.sqsEmptyReceives, 3),
      ),
    ],
  };
};

export const priceNote = (): string =>
  `Prices (assumed, us-east-1 on-demand list prices beyond the free tiers, last checked ${PRICES.checkedOn}): ` +
  `Lambda arm64 $${PRICES.lambdaPerGbSecond} per GB-s and $0.20 per million requests (INIT is billed too ` +
  'for on-demand functions on managed runtimes since 1 August 2025); SQS standard $0.40 per million requests, ' +
  'each 64 KB chunk of a payload one request; DynamoDB on-demand $0.625 per million write request units and ' +
  '$0.125 per million read request units; EventBridge custom events $1.00 per million, per 64 KB chunk; ' +
  'CloudWatch Logs standard ingestion $0.50 per GB. Glue API calls are counted but not priced.';
