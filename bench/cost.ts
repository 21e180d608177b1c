/**
 * What a run would cost on AWS: usage counted in the run (Lambda invocations and billed duration, SQS
 * requests, DynamoDB request units, EventBridge events, log bytes), priced at list prices.
 */

import type { RunResult } from './fan-out.ts';
import type { RequestCount } from './local-aws-process.ts';

/**
 * On-demand list prices in us-east-1 beyond the free tiers, as published by AWS and last checked on
 * 2026-12-02: Lambda arm64 (first duration tier), SQS standard queues, DynamoDB on-demand (after the
 * November 2024 reduction), EventBridge custom events, CloudWatch Logs standard ingestion. Assumptions:
 * check the pricing pages before relying on them.
 */
export const PRICES = {
  checkedOn: '2026-12-02',
  lambdaPerGbSecond: 0.0000133334,
  lambdaPerRequest: 0.2 / 1e6,
  sqsPerRequest: 0.4 / 1e6,
  dynamoDbPerWriteUnit: 0.625 / 1e6,
  dynamoDbPerReadUnit: 0.125 / 1e6,
  eventBridgePerEvent: 1.0 / 1e6,
  logsPerGb: 0.5,
} as const;

export interface Usage {
  readonly lambdaRequests: number;
  /** Billed duration (each invocation rounded up to the millisecond, INIT included) × memory. */
  readonly lambdaGbSeconds: number;
  /** Billed SQS requests (64 KB chunks) of the producer, the functions and the event source mapping. */
  readonly sqsRequests: number;
  /** Receives that returned no message: the mapping's idle polling, a cost of time, not of stops. */
  readonly sqsEmptyReceives: number;
  readonly dynamoDbWriteUnits: number;
  readonly dynamoDbReadUnits: number;
  /** Outcome events, in 64 KB chunks. */
  readonly eventBridgeEvents: number;
  readonly logBytes: number;
  /** Glue API calls (not priced). */
  readonly glueCalls: number;
}

export interface Cost {
  readonly lambda: number;
  readonly sqs: number;
  readonly dynamoDb: number;
  readonly eventBridge: number;
  readonly logs: number;
  readonly total: number;
}

/** SQS actions of the benchmark's own harness (its idle watcher), which no deployment makes. */
const HARNESS_ONLY = new Set(['GetQueueAttributes']);

const billedSqs = (counts: Record<string, RequestCount>): { billed: number; empty: number } => {
  let billed = 0;
  let empty = 0;
  for (const [action, count] of Object.entries(counts)) {
    if (HARNESS_ONLY.has(action)) continue;
    // An empty receive is one request of one chunk.
    billed += count.billed - count.empty;
    empty += count.empty;
  }
  return { billed, empty };
};

const units = (counts: Record<string, RequestCount>, operations: readonly string[]): number =>
  operations.reduce((total, op) => total + (counts[op]?.billed ?? 0), 0);

/** The usage of a run; `includeInit`: bill the environments' INIT time (cold starts) too. */
export const usageOf = (result: RunResult, memoryMb: number, includeInit: boolean): Usage => {
  const gb = memoryMb / 1024;
  let lambdaRequests = 0;
  let billedMs = 0;
  let logBytes = 0;
  for (const usage of Object.values(result.lambda)) {
    lambdaRequests += usage.invocations.length;
    billedMs += usage.invocations.reduce((total, i) => total + Math.ceil(i.durationMs), 0);
    if (includeInit) billedMs += usage.initDurationsMs.reduce((total, ms) => total + Math.ceil(ms), 0);
    logBytes += usage.logBytes;
  }
  const sqs = billedSqs(result.services.sqs);
  return {
    lambdaRequests,
    lambdaGbSeconds: (billedMs / 1000) * gb,
    sqsRequests: sqs.billed,
    sqsEmptyReceives: sqs.empty,
    dynamoDbWriteUnits: units(result.services.dynamoDb, [
      'PutItem',
      'UpdateItem',
      'DeleteItem',
      'BatchWriteItem',
    ]),
    dynamoDbReadUnits: units(result.services.dynamoDb, ['GetItem', 'BatchGetItem']),
    eventBridgeEvents: result.services.eventBridge.billedEntries,
    logBytes,
    glueCalls: Object.values(result.services.glue.callsByOperation).reduce((a, b) => a + b, 0),
  };
};

export const costOf = (usage: Usage): Cost => {
  const lambda =
    usage.lambdaGbSeconds * PRICES.lambdaPerGbSecond + usage.lambdaRequests * PRICES.lambdaPerRequest;
  const sqs = usage.sqsRequests * PRICES.sqsPerRequest;
  const dynamoDb =
    usage.dynamoDbWriteUnits * PRICES.dynamoDbPerWriteUnit +
    usage.dynamoDbReadUnits * PRICES.dynamoDbPerReadUnit;
  const eventBridge = usage.eventBridgeEvents * PRICES.eventBridgePerEvent;
  const logs = (usage.logBytes / 1024 ** 3) * PRICES.logsPerGb;
  return { lambda, sqs, dynamoDb, eventBridge, logs, total: lambda + sqs + dynamoDb + eventBridge + logs };
};

/** Usage divided by `n` (per stop, per request). */
export const perUnit = (usage: Usage, n: number): Usage => ({
  lambdaRequests: usage.lambdaRequests / n,
  lambdaGbSeconds: usage.lambdaGbSeconds / n,
  sqsRequests: usage.sqsRequests / n,
  sqsEmptyReceives: usage.sqsEmptyReceives / n,
  dynamoDbWriteUnits: usage.dynamoDbWriteUnits / n,
  dynamoDbReadUnits: usage.dynamoDbReadUnits / n,
  eventBridgeEvents: usage.eventBridgeEvents / n,
  logBytes: usage.logBytes / n,
  glueCalls: usage.glueCalls / n,
});
