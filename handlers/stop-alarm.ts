/**
 * Lambda entry point for cost guards: CloudWatch alarm state changes delivered by the stack's rule.
 * Wiring only: the translation lives in src/triggers/stop-alarm.ts, the decisions in src/policy and src/stop.
 */
import { createStopRuntime } from '../src/runtime/stop-runtime.ts';
import { createStopAlarmHandler } from '../src/triggers/stop-alarm.ts';

export const handler = createStopAlarmHandler(createStopRuntime({ trigger: 'alarm' }));
