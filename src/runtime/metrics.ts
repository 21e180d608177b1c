/**
 * Every CloudWatch metric the functions count, by the names the counting code uses: for the deployment's
 * dashboard and alarms (deploy/), and for the template test that checks the dashboard graphs them all
 * (which also checks that every `addMetric` call in src/ counts one of these constants).
 */
import { HANDED_ON_METRIC, OUTCOME_METRICS, REPLAYED_METRIC } from '../adapters/outcome-reporter.ts';

export { HANDED_ON_METRIC, OUTCOME_METRICS, REPLAYED_METRIC };

/** Counted when outcome events could not be published; the outcomes themselves stand. */
export const OUTCOME_EVENTS_FAILED_METRIC = 'OutcomeEventsFailed';

/** Counted when an alarm state change calls for no stop (not into ALARM, or no cost guard for it). */
export const ALARM_IGNORED_METRIC = 'AlarmIgnored';

export const ALL_METRICS: readonly string[] = [
  ...Object.values(OUTCOME_METRICS),
  REPLAYED_METRIC,
  HANDED_ON_METRIC,
  OUTCOME_EVENTS_FAILED_METRIC,
  ALARM_IGNORED_METRIC,
];
