import {
  DEFAULT_GLUE_BURST_SECONDS,
  parseRuntimePolicy,
  type RuntimePolicy,
} from '../policy/stack-config.ts';

/**
 * The functions' configuration, read and checked once when the module loads. A missing or malformed
 * variable fails the cold start with its name, instead of failing every request later.
 */
export interface StopConfig {
  /** DynamoDB table holding idempotency records (partition key `id`, TTL attribute `expiration`). */
  readonly idempotencyTableName: string;
  /** Queue where refused requests are parked with their reason. */
  readonly deadLetterQueueUrl: string;
  /** How long a finished request is remembered: a redelivery inside this window is answered from the record. */
  readonly idempotencyExpirySeconds: number;
  readonly serviceName: string;
  readonly metricsNamespace: string;
  /** The stop queue: scope requests are expanded into exact requests sent here. */
  readonly stopQueueUrl: string;
  /** The bus outcome events are published to. */
  readonly outcomeEventBusName: string;
  /** This instance's share of the stack's Glue request rate; absent = no client-side limit. */
  readonly glueMaxRequestsPerSecond?: number;
  /**
   * `shared` (default): the share covers every Glue call of the instance, List and Stop alike.
   * `per-operation`: List and Stop each get the whole share.
   */
  readonly glueBudgetMode: GlueBudgetMode;
  /**
   * Seconds of its share an instance may catch up on after time spent between Glue calls (config
   * `glue.burstSeconds`, 0 to 1). Default `DEFAULT_GLUE_BURST_SECONDS`.
   */
  readonly glueBurstSeconds: number;
  /**
   * The stop queue's redrive `maxReceiveCount`: a request still failing on that delivery is parked with
   * reason `retries-exhausted` instead of being moved to the dead-letter queue without one. Absent: not done.
   */
  readonly stopQueueMaxReceiveCount?: number;
  /** The stop queue's event source batch size: how many stop tasks one invocation may be handed. Default 1. */
  readonly stopQueueBatchSize?: number;
  /** The allow-list, stage-wide dry-run and cost guards (STOP_POLICY, generated from config/<stage>.json). */
  readonly policy: RuntimePolicy;
}

/**
 * One day: longer than every redelivery path the stack has (EventBridge retries for at most 24 h,
 * Lambda async retries for at most 6 h, SQS redeliveries stop after maxReceiveCount visibility timeouts),
 * short enough that the table stays small.
 */
export const DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS = 86_400;

export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

type Env = Readonly<Record<string, string | undefined>>;

const required = (env: Env, name: string): string => {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(`environment variable ${name} is required`);
  return value;
};

const positiveInteger = (env: Env, name: string, fallback: number, unit = 'seconds'): number => {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigurationError(
      `environment variable ${name} must be a positive whole number of ${unit}, got "${raw}"`,
    );
  }
  return value;
};

const positiveNumber = (env: Env, name: string): number | undefined => {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(value > 0)) {
    throw new ConfigurationError(`environment variable ${name} must be a positive number, got "${raw}"`);
  }
  return value;
};

const policy = (env: Env): RuntimePolicy => {
  const json = required(env, 'STOP_POLICY');
  try {
    return parseRuntimePolicy(json, 'environment variable STOP_POLICY');
  } catch (error) {
    throw new ConfigurationError(error instanceof Error ? error.message : String(error), { cause: error });
  }
};

export type GlueBudgetMode = 'shared' | 'per-operation';

const budgetMode = (env: Env): GlueBudgetMode => {
  const raw = env.GLUE_BUDGET_MODE?.trim() || 'shared';
  if (raw !== 'shared' && raw !== 'per-operation') {
    throw new ConfigurationError(
      `environment variable GLUE_BUDGET_MODE must be "shared" or "per-operation", got "${raw}"`,
    );
  }
  return raw;
};

const burstSeconds = (env: Env): number => {
  const raw = env.GLUE_BURST_SECONDS?.trim();
  if (!raw) return DEFAULT_GLUE_BURST_SECONDS;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value > 1) {
    throw new ConfigurationError(
      `environment variable GLUE_BURST_SECONDS must be a number of seconds from 0 to 1, got "${raw}"`,
    );
  }
  return value;
};

export const loadConfig = (env: Env = process.env): StopConfig => {
  const glueMaxRequestsPerSecond = positiveNumber(env, 'GLUE_MAX_REQUESTS_PER_SECOND');
  const maxReceiveCount = positiveInteger(env, 'STOP_QUEUE_MAX_RECEIVE_COUNT', 0, 'receives');
  return {
    idempotencyTableName: required(env, 'IDEMPOTENCY_TABLE_NAME'),
    deadLetterQueueUrl: required(env, 'DEAD_LETTER_QUEUE_URL'),
    idempotencyExpirySeconds: positiveInteger(
      env,
      'IDEMPOTENCY_EXPIRY_SECONDS',
      DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS,
    ),
    serviceName: env.POWERTOOLS_SERVICE_NAME?.trim() || 'glue-mv-stop',
    metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE?.trim() || 'GlueMvStop',
    stopQueueUrl: required(env, 'STOP_QUEUE_URL'),
    outcomeEventBusName: env.OUTCOME_EVENT_BUS_NAME?.trim() || 'default',
    ...(glueMaxRequestsPerSecond !== undefined ? { glueMaxRequestsPerSecond } : {}),
    glueBudgetMode: budgetMode(env),
    glueBurstSeconds: burstSeconds(env),
    ...(maxReceiveCount > 0 ? { stopQueueMaxReceiveCount: maxReceiveCount } : {}),
    stopQueueBatchSize: positiveInteger(env, 'STOP_QUEUE_BATCH_SIZE', 1, 'records'),
    policy: policy(env),
  };
};
