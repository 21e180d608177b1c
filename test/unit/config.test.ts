import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS,
  loadConfig,
} from '../../src/runtime/config.ts';

const REQUIRED = {
  IDEMPOTENCY_TABLE_NAME: 'glue-mv-stop-idempotency',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/glue-mv-stop-dead-letter',
};

/** What loadConfig threw, or a failure if it did not throw. */
const errorOf = (load: () => unknown): unknown => {
  try {
    load();
  } catch (error) {
    return error;
  }
  throw new Error('expected loadConfig to throw');
};

describe('loadConfig', () => {
  it('reads the required variables and applies the defaults for the rest', () => {
    const env = { ...REQUIRED };

    const config = loadConfig(env);

    expect(config).toStrictEqual({
      idempotencyTableName: REQUIRED.IDEMPOTENCY_TABLE_NAME,
      deadLetterQueueUrl: REQUIRED.DEAD_LETTER_QUEUE_URL,
      idempotencyExpirySeconds: DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS,
      serviceName: 'glue-mv-stop',
      metricsNamespace: 'GlueMvStop',
    });
    expect(DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS).toBe(86_400);
  });

  it('reads every optional variable when set, trimming whitespace', () => {
    const env = {
      ...REQUIRED,
      IDEMPOTENCY_EXPIRY_SECONDS: ' 600 ',
      POWERTOOLS_SERVICE_NAME: ' stopper ',
      POWERTOOLS_METRICS_NAMESPACE: 'Custom',
    };

    const config = loadConfig(env);

    expect(config).toMatchObject({
      idempotencyExpirySeconds: 600,
      serviceName: 'stopper',
      metricsNamespace: 'Custom',
    });
  });

  it('falls back to the defaults when the optional variables are blank', () => {
    const env = { ...REQUIRED, IDEMPOTENCY_EXPIRY_SECONDS: '  ', POWERTOOLS_SERVICE_NAME: '' };

    const config = loadConfig(env);

    expect(config.idempotencyExpirySeconds).toBe(DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS);
    expect(config.serviceName).toBe('glue-mv-stop');
  });

  it.each(['IDEMPOTENCY_TABLE_NAME', 'DEAD_LETTER_QUEUE_URL'] as const)(
    'refuses to start without %s, naming it',
    (name) => {
      const env: Record<string, string | undefined> = { ...REQUIRED };
      delete env[name];

      const error = errorOf(() => loadConfig(env));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({
        name: 'ConfigurationError',
        message: `environment variable ${name} is required`,
      });
    },
  );

  it('treats a blank required variable as missing', () => {
    const env = { ...REQUIRED, DEAD_LETTER_QUEUE_URL: '   ' };

    const error = errorOf(() => loadConfig(env));

    expect(error).toMatchObject({ message: 'environment variable DEAD_LETTER_QUEUE_URL is required' });
  });

  it.each(['0', '-5', '1.5', 'one day', '86400s', 'Infinity', '9007199254740993'])(
    'refuses IDEMPOTENCY_EXPIRY_SECONDS="%s", naming the variable and the value',
    (raw) => {
      const env = { ...REQUIRED, IDEMPOTENCY_EXPIRY_SECONDS: raw };

      const error = errorOf(() => loadConfig(env));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({
        message: `environment variable IDEMPOTENCY_EXPIRY_SECONDS must be a positive whole number of seconds, got "${raw}"`,
      });
    },
  );
});
