/**
 * Cost guards: a CloudWatch alarm that goes into ALARM stops the scope the configuration gives it.
 * Only a transition into ALARM acts; a re-evaluation that stays in ALARM, and every other transition,
 * does nothing (and says so).
 * Event shape: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
 */
import * as z from 'zod/mini';
import type { ScopeStopRequest } from '../request/contract.ts';
import { issuedAtOf, REASON_MAX_LENGTH, REQUESTED_BY_MAX_LENGTH } from '../request/contract.ts';
import type { Violation } from '../request/parse.ts';
import { violationsOf } from '../request/parse.ts';
import { contractText } from './contract-text.ts';
import type { CostGuard } from './stack-config.ts';

export const ALARM_EVENT_SOURCE = 'aws.cloudwatch';
export const ALARM_EVENT_DETAIL_TYPE = 'CloudWatch Alarm State Change';

const alarmState = z.looseObject({
  value: z.string(),
  reason: z.optional(z.string()),
  timestamp: z.optional(z.string()),
});

export const alarmStateChangeSchema = z.looseObject({
  // Becomes part of the idempotency key of every request derived from this one: bounded like a key.
  id: z.string().check(z.minLength(1), z.maxLength(255)),
  source: z.literal(ALARM_EVENT_SOURCE),
  'detail-type': z.literal(ALARM_EVENT_DETAIL_TYPE),
  time: z.optional(z.string()),
  detail: z.looseObject({
    alarmName: z.string().check(z.minLength(1)),
    state: alarmState,
    previousState: z.optional(alarmState),
  }),
});

export type AlarmStateChange = z.infer<typeof alarmStateChangeSchema>;

export type CostGuardDecision =
  | { readonly kind: 'stop'; readonly alarmName: string; readonly request: ScopeStopRequest }
  | { readonly kind: 'ignore'; readonly alarmName: string; readonly why: string };

/** CloudWatch writes `2026-11-29T02:00:00.000+0000`; ISO-8601 as the contract takes it has `+00:00`. */
export const normaliseTimestamp = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  return issuedAtOf(Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')));
};

export const parseAlarmStateChange = (
  event: unknown,
):
  | { kind: 'valid'; event: AlarmStateChange }
  | { kind: 'invalid'; violations: Violation[]; eventId?: string } => {
  const result = z.safeParse(alarmStateChangeSchema, event);
  if (result.success) return { kind: 'valid', event: result.data };
  const id =
    typeof event === 'object' && event !== null && 'id' in event && typeof event.id === 'string'
      ? event.id
      : undefined;
  return {
    kind: 'invalid',
    violations: violationsOf(result.error, event, ''),
    ...(id ? { eventId: id } : {}),
  };
};

/**
 * Decides what an alarm state change means. For an OK → ALARM change of an alarm that guards
 * `{ database: 'sales', tables: ['*'] }`, the request is `{ DatabaseName: 'sales', TableNames: ['*'],
 * IssuedAt: <state timestamp>, Reason, RequestedBy: 'cloudwatch-alarm:<name>' }`.
 */
export const decideOnAlarm = (event: AlarmStateChange, guards: readonly CostGuard[]): CostGuardDecision => {
  const { alarmName, state, previousState } = event.detail;
  if (state.value !== 'ALARM') {
    return {
      kind: 'ignore',
      alarmName,
      why: `state is now ${state.value}: only a transition into ALARM stops refreshes`,
    };
  }
  if (previousState?.value === 'ALARM') {
    return {
      kind: 'ignore',
      alarmName,
      why: 'ALARM → ALARM re-evaluation: the stop was already requested when the alarm fired',
    };
  }
  const guard = guards.find((g) => g.alarmName === alarmName);
  if (!guard) return { kind: 'ignore', alarmName, why: 'no cost guard is configured for this alarm' };
  const issuedAt = normaliseTimestamp(state.timestamp) ?? normaliseTimestamp(event.time);
  const reason = `cost guard: alarm ${alarmName} went from ${previousState?.value ?? 'unknown'} to ALARM${state.reason ? `: ${state.reason}` : ''}`;
  return {
    kind: 'stop',
    alarmName,
    request: {
      ...(guard.scope.catalogId !== undefined ? { CatalogId: guard.scope.catalogId } : {}),
      DatabaseName: guard.scope.database,
      TableNames: [...guard.scope.tables],
      ...(issuedAt !== undefined ? { IssuedAt: issuedAt } : {}),
      Reason: contractText(reason, REASON_MAX_LENGTH),
      RequestedBy: contractText(`cloudwatch-alarm:${alarmName}`, REQUESTED_BY_MAX_LENGTH),
      ...(guard.dryRun ? { DryRun: true } : {}),
    },
  };
};
