/**
 * Lambda entry point for maintenance windows: invoked by the stack's EventBridge Scheduler schedules.
 * Wiring only: the translation lives in src/triggers/stop-schedule.ts, the decisions in src/policy and src/stop.
 */
import { createStopRuntime } from '../src/runtime/stop-runtime.ts';
import { createStopScheduleHandler } from '../src/triggers/stop-schedule.ts';

export const handler = createStopScheduleHandler(createStopRuntime({ trigger: 'schedule' }));
