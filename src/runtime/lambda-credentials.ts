/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles only (an esbuild alias in
 * scripts/build.ts). Lambda always hands a function its role's credentials in AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, so the default chain's other sources (profiles, SSO,
 * web identity, instance metadata) are dead weight: leaving them out takes a quarter off each bundle and
 * its load time. Local runs and tests use the SDK's full default chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (): ReturnType<typeof fromEnv> => fromEnv();
