/**
 * Observability adapter: each outcome becomes one structured log line and one CloudWatch metric
 * (embedded metric format, so no PutMetricData call and no extra permission).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { isHandOn, type OutcomeName, type StopOutcome } from '../stop/outcome.ts';
import type { OutcomeReporter } from '../stop/ports.ts';

/** Metric names, one per outcome, so a dashboard can stack them without dimension juggling. */
export const OUTCOME_METRICS: Readonly<Record<OutcomeName, string>> = {
  'stop-requested': 'StopRequested',
  'already-stopping': 'AlreadyStopping',
  'not-running': 'NotRunning',
  skipped: 'Skipped',
  'dry-run': 'DryRun',
  expanded: 'Expanded',
  'not-allowed': 'NotAllowed',
  rejected: 'Rejected',
  retry: 'Retried',
};
/** Counted on top of the outcome when it was answered from the idempotency store. */
export const REPLAYED_METRIC = 'Replayed';
/** Counted instead of `Expanded` for a stop task handed on unstarted (moved, not run). */
export const HANDED_ON_METRIC = 'HandedOn';

export const createOutcomeReporter =
  (logger: Pick<Logger, 'info' | 'warn'>, metrics: Pick<Metrics, 'addMetric'>): OutcomeReporter =>
  (outcome: StopOutcome) => {
    // Per-call fields, not appendKeys: records of one batch run in parallel and would share keys.
    const fields = { ...outcome };
    if (outcome.outcome === 'rejected' || outcome.outcome === 'not-allowed' || outcome.outcome === 'retry') {
      logger.warn(`stop request ${outcome.outcome}: ${outcome.reason ?? 'unknown'}`, fields);
    } else {
      logger.info(`stop request ${outcome.outcome}`, fields);
    }
    if (isHandOn(outcome)) metrics.addMetric(HANDED_ON_METRIC, MetricUnit.Count, 1);
    else metrics.addMetric(OUTCOME_METRICS[outcome.outcome], MetricUnit.Count, 1);
    if (outcome.replayed) metrics.addMetric(REPLAYED_METRIC, MetricUnit.Count, 1);
  };
