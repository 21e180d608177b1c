/**
 * Lambda entry point for stop request events delivered by the stack's EventBridge rule.
 * Wiring only: the translation lives in src/triggers/stop-event.ts, the decisions in src/stop.
 */
import { createStopRuntime } from '../src/runtime/stop-runtime.ts';
import { createStopEventHandler } from '../src/triggers/stop-event.ts';

export const handler = createStopEventHandler(createStopRuntime({ trigger: 'eventbridge' }));
