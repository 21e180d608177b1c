/**
 * Maintenance windows: what each EventBridge Scheduler schedule sends to the schedule function. The
 * deployment builds the schedule's Input with `schedulePayloadTemplate`; Scheduler fills in the context
 * placeholders (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html);
 * the function turns the payload into a scope request with `scopeRequestForWindow`. One module for both
 * sides, so the payload the schedule sends is always the payload the function reads.
 */
import * as z from 'zod/mini';
import { REASON_MAX_LENGTH, REQUESTED_BY_MAX_LENGTH, type ScopeStopRequest } from '../request/contract.ts';
import { contractText } from './contract-text.ts';
import { type MaintenanceWindow, scopeSchema, windowNameSchema } from './stack-config.ts';

export const SCHEDULER_CONTEXT = {
  scheduledTime: '<aws.scheduler.scheduled-time>',
  executionId: '<aws.scheduler.execution-id>',
  scheduleArn: '<aws.scheduler.schedule-arn>',
  attemptNumber: '<aws.scheduler.attempt-number>',
} as const;

export const schedulePayloadSchema = z.strictObject({
  window: windowNameSchema,
  scope: scopeSchema,
  dryRun: z.boolean(),
  scheduledTime: z.iso.datetime({ offset: true }),
  executionId: z.string().check(z.minLength(1)),
  scheduleArn: z.string().check(z.minLength(1)),
  attemptNumber: z.union([z.string(), z.number()]),
});

export type SchedulePayload = z.infer<typeof schedulePayloadSchema>;

/** The schedule's Input: the window's scope plus Scheduler's context placeholders. */
export const schedulePayloadTemplate = (window: MaintenanceWindow): string =>
  JSON.stringify({
    window: window.name,
    scope: window.scope,
    dryRun: window.dryRun ?? false,
    ...SCHEDULER_CONTEXT,
  });

/**
 * The scheduled time identifies the occurrence: a delivery Scheduler retries has the same scheduled time
 * (its execution id may differ), so the key makes a retried delivery a duplicate.
 */
export const scopeRequestForWindow = (payload: SchedulePayload): ScopeStopRequest => ({
  ...(payload.scope.catalogId !== undefined ? { CatalogId: payload.scope.catalogId } : {}),
  DatabaseName: payload.scope.database,
  TableNames: [...payload.scope.tables],
  IdempotencyKey: `schedule:${payload.window}@${payload.scheduledTime}`,
  IssuedAt: payload.scheduledTime,
  Reason: contractText(
    `maintenance window ${payload.window} (scheduled for ${payload.scheduledTime})`,
    REASON_MAX_LENGTH,
  ),
  RequestedBy: contractText(`schedule:${payload.window}`, REQUESTED_BY_MAX_LENGTH),
  ...(payload.dryRun ? { DryRun: true } : {}),
});
