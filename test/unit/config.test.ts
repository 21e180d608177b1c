import { describe, expect, it } from 'vitest';
import { DEFAULT_GLUE_BURST_SECONDS, StackConfigError } from '../../src/policy/stack-config.ts';
import {
  ConfigurationError,
  DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS,
  loadConfig,
} from '../../src/runtime/config.ts';

const POLICY = {
  allow: [{ database: 'sales', tables: ['daily_*'] }],
  dryRun: false,
  costGuards: [{ alarmName: 'glue-dpu-spend-too-high', scope: { database: 'sales', tables: ['*'] } }],
};

const REQUIRED = {
  IDEMPOTENCY_TABLE_NAME: 'glue-mv-stop-idempotency',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/glue-mv-stop-dead-letter',
  STOP_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/glue-mv-stop-requests',
  STOP_POLICY: JSON.stringify(POLICY),
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
      stopQueueUrl: REQUIRED.STOP_QUEUE_URL,
      outcomeEventBusName: 'default',
      glueBudgetMode: 'shared',
      glueBurstSeconds: DEFAULT_GLUE_BURST_SECONDS,
      stopQueueBatchSize: 1,
      policy: POLICY,
    });
    expect(DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS).toBe(86_400);
    expect(DEFAULT_GLUE_BURST_SECONDS).toBe(0.25);
  });

  it('reads every optional variable when set, trimming whitespace', () => {
    const env = {
      ...REQUIRED,
      IDEMPOTENCY_EXPIRY_SECONDS: ' 600 ',
      POWERTOOLS_SERVICE_NAME: ' stopper ',
      POWERTOOLS_METRICS_NAMESPACE: 'Custom',
      OUTCOME_EVENT_BUS_NAME: ' glue-mv-stop-outcomes ',
      GLUE_MAX_REQUESTS_PER_SECOND: ' 2.5 ',
      GLUE_BUDGET_MODE: ' per-operation ',
      GLUE_BURST_SECONDS: ' 0.5 ',
    };

    const config = loadConfig(env);

    expect(config).toMatchObject({
      glueBudgetMode: 'per-operation',
      glueBurstSeconds: 0.5,
      idempotencyExpirySeconds: 600,
      serviceName: 'stopper',
      metricsNamespace: 'Custom',
      outcomeEventBusName: 'glue-mv-stop-outcomes',
      glueMaxRequestsPerSecond: 2.5,
    });
  });

  it('falls back to the defaults when the optional variables are blank', () => {
    const env = {
      ...REQUIRED,
      IDEMPOTENCY_EXPIRY_SECONDS: '  ',
      POWERTOOLS_SERVICE_NAME: '',
      OUTCOME_EVENT_BUS_NAME: ' ',
      GLUE_MAX_REQUESTS_PER_SECOND: '',
      GLUE_BUDGET_MODE: ' ',
      GLUE_BURST_SECONDS: ' ',
    };

    const config = loadConfig(env);

    expect(config.idempotencyExpirySeconds).toBe(DEFAULT_IDEMPOTENCY_EXPIRY_SECONDS);
    expect(config.serviceName).toBe('glue-mv-stop');
    expect(config.outcomeEventBusName).toBe('default');
    expect(config).not.toHaveProperty('glueMaxRequestsPerSecond');
    expect(config.glueBudgetMode).toBe('shared');
    expect(config.glueBurstSeconds).toBe(DEFAULT_GLUE_BURST_SECONDS);
  });

  it.each(['IDEMPOTENCY_TABLE_NAME', 'DEAD_LETTER_QUEUE_URL', 'STOP_QUEUE_URL', 'STOP_POLICY'] as const)(
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

  it('refuses a STOP_POLICY that is not JSON, naming the variable and keeping the cause', () => {
    const env = { ...REQUIRED, STOP_POLICY: "{ allow: ['sales'] }" };

    const error = errorOf(() => loadConfig(env));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({
      name: 'ConfigurationError',
      message: 'environment variable STOP_POLICY: is not valid JSON',
      cause: expect.any(StackConfigError),
    });
  });

  it.each([
    [{ ...POLICY, allow: [] }, 'allow: must allow at least one database'],
    [
      { ...POLICY, allow: [{ database: 'sales', catalogId: 'abc' }] },
      'allow.0.catalogId: must be a 12-digit AWS account ID',
    ],
    [{ allow: POLICY.allow, costGuards: [] }, 'dryRun: '],
    [{ ...POLICY, costGuards: [{ alarmName: 'a' }] }, 'costGuards.0.scope: '],
  ])('refuses a STOP_POLICY with a bad field, naming the variable and the field (%#)', (policy, expected) => {
    const env = { ...REQUIRED, STOP_POLICY: JSON.stringify(policy) };

    const error = errorOf(() => loadConfig(env));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({
      message: expect.stringContaining(`environment variable STOP_POLICY: ${expected}`),
    });
  });

  it.each(['2', '0.5', '1000', '12.25'])('reads GLUE_MAX_REQUESTS_PER_SECOND="%s" as a number', (raw) => {
    const config = loadConfig({ ...REQUIRED, GLUE_MAX_REQUESTS_PER_SECOND: raw });

    expect(config.glueMaxRequestsPerSecond).toBe(Number(raw));
  });

  it.each(['0', '0.0', '-1', '.5', '1e3', 'ten', 'Infinity', '5/s'])(
    'refuses GLUE_MAX_REQUESTS_PER_SECOND="%s", naming the variable and the value',
    (raw) => {
      const error = errorOf(() => loadConfig({ ...REQUIRED, GLUE_MAX_REQUESTS_PER_SECOND: raw }));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({
        message: `environment variable GLUE_MAX_REQUESTS_PER_SECOND must be a positive number, got "${raw}"`,
      });
    },
  );

  it.each(['Shared', 'per_operation', 'none', 'both'])(
    'refuses GLUE_BUDGET_MODE="%s", naming the variable and the two values it takes',
    (raw) => {
      const error = errorOf(() => loadConfig({ ...REQUIRED, GLUE_BUDGET_MODE: raw }));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({
        message: `environment variable GLUE_BUDGET_MODE must be "shared" or "per-operation", got "${raw}"`,
      });
    },
  );

  it.each(['0', '0.0', '0.25', '1', '1.0'])('reads GLUE_BURST_SECONDS="%s" as a number of seconds', (raw) => {
    const config = loadConfig({ ...REQUIRED, GLUE_BURST_SECONDS: raw });

    expect(config.glueBurstSeconds).toBe(Number(raw));
  });

  it.each(['-0.1', '1.5', '2', '.5', '1e-1', '250ms', 'NaN'])(
    'refuses GLUE_BURST_SECONDS="%s", naming the variable and the range it takes',
    (raw) => {
      const error = errorOf(() => loadConfig({ ...REQUIRED, GLUE_BURST_SECONDS: raw }));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({
        message: `environment variable GLUE_BURST_SECONDS must be a number of seconds from 0 to 1, got "${raw}"`,
      });
    },
  );
});
