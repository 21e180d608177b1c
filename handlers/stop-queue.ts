/**
 * Lambda entry point for the stop queue (SQS event source with ReportBatchItemFailures).
 * Wiring only: the translation lives in src/triggers/stop-queue.ts, the decisions in src/stop.
 */
import { createStopRuntime } from '../src/runtime/stop-runtime.ts';
import { createStopQueueHandler } from '../src/triggers/stop-queue.ts';

export const handler = createStopQueueHandler(createStopRuntime({ trigger: 'sqs' }));
