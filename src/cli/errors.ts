/**
 * How the CLI fails. A mistake of the user's (a flag, a file, a stage) and a failure reported by AWS each
 * end in one line on stderr and an exit code; only an unexpected error may show a stack trace, and only
 * when asked for (`GLUE_MV_STOP_DEBUG=1`).
 */

/** Exit codes: 0 everything worked, 1 something failed or was invalid, 2 the command line cannot be acted on. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The command line cannot be acted on: a flag, a combination of flags, a file that cannot be read. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command ran and failed for a reason the user can act on (AWS said no, a stack was not found). Exit 1. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

const field = (value: object, key: string): unknown =>
  key in value ? (value as Record<string, unknown>)[key] : undefined;

/** The HTTP status of a service error; absent for network, credential and region errors. */
const httpStatusOf = (error: Error): number | undefined => {
  const metadata = field(error, '$metadata');
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const status = field(metadata, 'httpStatusCode');
  return typeof status === 'number' ? status : undefined;
};

/**
 * One line for an error that came out of an AWS SDK call or its credential and region resolution; the
 * SDK's own messages are long and sometimes span lines.
 */
export const describeAwsError = (error: unknown): string | undefined => {
  if (!(error instanceof Error)) return undefined;
  const message = error.message.split('\n')[0]?.trim() ?? '';
  if (error.name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return `no AWS credentials: ${message} (set up a profile and pass --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID)`;
  }
  if (/^Region is missing/i.test(message)) {
    return 'no AWS region: pass --region, set AWS_REGION, or give the profile a region';
  }
  const status = httpStatusOf(error);
  const nodeCode = field(error, 'code');
  if (status !== undefined) return `${error.name}: ${message} (HTTP ${status})`;
  if (typeof nodeCode === 'string' && /^E[A-Z]+$/.test(nodeCode)) {
    return `cannot reach AWS: ${nodeCode} ${message}`;
  }
  if (error.name === 'TimeoutError') return `AWS did not answer in time: ${message}`;
  return undefined;
};
