/**
 * Cost-guard trigger: CloudWatch "Alarm State Change" events for the configured alarms, delivered by an
 * EventBridge rule (asynchronous invocation). A transition into ALARM becomes a scope request; anything
 * else is logged as ignored. The alarm event's id is the request's idempotency key.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { decideOnAlarm, parseAlarmStateChange } from '../policy/cost-guard.ts';
import { accountIdOf } from '../runtime/lambda-context.ts';
import type { StopRuntime } from '../runtime/stop-runtime.ts';
import { StopRetryError } from '../stop/errors.ts';
import { handleStopRequest } from '../stop/handle-stop-request.ts';
import type { StopOutcome } from '../stop/outcome.ts';
import { eventTime } from './stop-event.ts';

export interface AlarmIgnored {
  readonly ignored: true;
  readonly alarmName: string;
  readonly why: string;
}

export const ALARM_IGNORED_METRIC = 'AlarmIgnored';

export const createStopAlarmHandler =
  (runtime: StopRuntime) =>
  async (event: unknown, context: Context): Promise<StopOutcome | AlarmIgnored> => {
    runtime.startInvocation(context);
    try {
      const parsed = parseAlarmStateChange(event);
      const original = JSON.stringify(event);
      const eventId = parsed.ok ? parsed.event.id : (parsed.eventId ?? context.awsRequestId);
      const common = {
        delivery: { kind: 'alarm', eventId } as const,
        accountId: accountIdOf(context),
        original,
      };
      if (!parsed.ok) {
        // Not an alarm state change: parked with the fields that are wrong, like any invalid request.
        return await handleStopRequest(
          { ...common, parsed: { ok: false, violations: parsed.violations, eventId } },
          runtime.dependencies,
        );
      }
      const decision = decideOnAlarm(parsed.event, runtime.config.policy.costGuards);
      if (!decision.act) {
        runtime.logger.info(`alarm ${decision.alarmName} ignored: ${decision.why}`, {
          alarmName: decision.alarmName,
          eventId,
        });
        runtime.metrics.addMetric(ALARM_IGNORED_METRIC, MetricUnit.Count, 1);
        return { ignored: true, alarmName: decision.alarmName, why: decision.why };
      }
      const outcome = await handleStopRequest(
        { ...common, parsed: { ok: true, request: decision.request, eventId }, ...eventTime(parsed.event) },
        runtime.dependencies,
      );
      if (outcome.outcome === 'retry') throw new StopRetryError(outcome);
      return outcome;
    } finally {
      await runtime.endInvocation();
    }
  };
