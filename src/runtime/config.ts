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

const positiveInteger = (env: Env, name: string, fallback: number): number => {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigurationError(
      `environment variable ${name} must be a positive whole number of seconds, got "${raw}"`,
    );
  }
  return value;
};

export const loadConfig = (env: Env = process.env): StopConfig => ({
  idempotencyTableName: required(env, 'IDEMPOTENCY_TABLE_NAME'),
  deadLetterQueueUrl: required(env, 'DEAD_LETTER_QUEUE_URL'),
  idempotencyExpirySeconds: positiveInteger(
    env,
    'IDEMPOTENCY_EXPIRY_SECONDS',
    DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS,
  ),
  serviceName: env.POWERTOOLS_SERVICE_NAME?.trim() || 'glue-mv-stop',
  metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE?.trim() || 'GlueMvStop',
});
