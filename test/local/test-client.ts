import { ConfiguredRetryStrategy } from '@smithy/core/retry';

/**
 * Settings for an SDK client that talks to an emulator from a test: the emulator as `endpoint`, any region
 * and credentials (signatures are ignored), and the SDK's standard retries (3 attempts) with a 10 ms
 * back-off instead of the default ~1 s for throttling, so tests of retried faults stay fast.
 */
export function testClientConfig(url: string) {
  return {
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    retryStrategy: new ConfiguredRetryStrategy(3, () => 10),
  };
}
