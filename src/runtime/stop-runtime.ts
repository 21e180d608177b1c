/**
 * Composition root: wires configuration, clients and adapters into the core's dependencies. Handlers
 * build one at module scope; tests build their own with other clients or config.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { createDeadLetterParker } from '../adapters/dead-letter-parker.ts';
import { createGlueStopper } from '../adapters/glue-stopper.ts';
import { createIdempotentStop } from '../adapters/idempotent-stop.ts';
import { createOutcomeReporter } from '../adapters/outcome-reporter.ts';
import type { StopDependencies } from '../stop/handle-stop-request.ts';
import type { Trigger } from '../stop/outcome.ts';
import type { OutcomeReporter } from '../stop/ports.ts';
import { type AwsClients, createAwsClients } from './clients.ts';
import { loadConfig, type StopConfig } from './config.ts';

export interface StopRuntime {
  readonly dependencies: StopDependencies;
  readonly logger: Logger;
  /** Call at the start of every invocation. */
  startInvocation(context: Context): void;
  /** Call at the end of every invocation: flushes the invocation's metrics. */
  endInvocation(): void;
}

export interface StopRuntimeOptions {
  readonly trigger: Trigger;
  readonly config?: StopConfig;
  readonly clients?: AwsClients;
  /** Extra observer of every outcome (the local runner prints them); the log line and metric stay. */
  readonly onOutcome?: OutcomeReporter;
}

export const createStopRuntime = (options: StopRuntimeOptions): StopRuntime => {
  const config = options.config ?? loadConfig();
  const clients = options.clients ?? createAwsClients();
  const logger = new Logger({ serviceName: config.serviceName });
  const metrics = new Metrics({
    namespace: config.metricsNamespace,
    serviceName: config.serviceName,
    defaultDimensions: { trigger: options.trigger },
  });
  const idempotentStop = createIdempotentStop({
    stopper: createGlueStopper(clients.glue),
    dynamoDb: clients.dynamoDb,
    tableName: config.idempotencyTableName,
    expiresAfterSeconds: config.idempotencyExpirySeconds,
  });
  const reportOutcome = createOutcomeReporter(logger, metrics);
  const { onOutcome } = options;
  return {
    logger,
    dependencies: {
      executeStop: idempotentStop.execute,
      parker: createDeadLetterParker(clients.sqs, config.deadLetterQueueUrl),
      report: onOutcome
        ? (outcome) => {
            reportOutcome(outcome);
            onOutcome(outcome);
          }
        : reportOutcome,
    },
    startInvocation(context) {
      logger.addContext(context);
      idempotentStop.registerLambdaContext(context);
    },
    endInvocation() {
      metrics.publishStoredMetrics();
    },
  };
};
