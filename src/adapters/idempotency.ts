/**
 * Idempotency adapter: the core's `RunOnce` port over Powertools idempotency and DynamoDB. The library's
 * errors are mapped to the core's `StopError` here, at the boundary; the work itself is the core's, handed
 * in by the caller, so this adapter knows nothing of what a stop is.
 */
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyUnknownError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { StopError } from '../stop/errors.ts';
import { type RecordedStop, toRecordedStop } from '../stop/outcome.ts';
import type { RunOnce, StopCommand } from '../stop/ports.ts';

/**
 * Records of every function share this prefix, so a request that reaches the stack twice (directly from
 * EventBridge and through the queue) is still acted on once.
 */
export const IDEMPOTENCY_KEY_PREFIX = 'glue-mv-stop';

export interface IdempotencyOptions {
  readonly dynamoDb: DynamoDBClient;
  readonly tableName: string;
  readonly expiresAfterSeconds: number;
}

export interface Idempotency {
  readonly once: RunOnce;
  /** Lets in-progress records expire with the invocation's remaining time (a crashed run frees its key). */
  registerLambdaContext(context: Context): void;
}

const translate = (error: unknown, command: StopCommand): unknown => {
  if (error instanceof StopError) return error;
  if (error instanceof IdempotencyValidationError) {
    return StopError.rejected(
      'idempotency-key-reused',
      `idempotency key "${command.idempotencyKey}" was already used for a different target`,
      { cause: error },
    );
  }
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return StopError.retry(
      'duplicate-in-progress',
      'the same request is being handled by another invocation',
      {
        cause: error,
      },
    );
  }
  if (error instanceof IdempotencyUnknownError) {
    // Persistence failures (store unreachable, throttled) and the library's other states: no Glue call
    // was made, or its result could not be recorded; either way another attempt is safe.
    return StopError.retry('idempotency-store-unavailable', `${error.name}: ${error.message}`, {
      cause: error,
    });
  }
  return error;
};

export const createIdempotency = (options: IdempotencyOptions): Idempotency => {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'idempotencyKey',
    // A reused key with another target is refused, not answered with the other target's result.
    payloadValidationJmesPath: 'target',
    throwOnNoIdempotencyKey: true,
    expiresAfterSeconds: options.expiresAfterSeconds,
    responseHook: (response) => ({ ...(response as object), replayed: true }),
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.tableName,
    awsSdkV3Client: options.dynamoDb,
  });
  // The command (first argument) is what is keyed, validated and hashed; the work runs with it.
  const run = makeIdempotent(
    async (
      command: StopCommand,
      work: (command: StopCommand) => Promise<RecordedStop>,
    ): Promise<RecordedStop> => work(command),
    { persistenceStore, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX, dataIndexArgument: 0 },
  );
  return {
    registerLambdaContext: (context) => config.registerLambdaContext(context),
    async once(command, work) {
      let stored: unknown;
      try {
        stored = await run(command, work);
      } catch (error) {
        throw translate(error, command);
      }
      const recorded = toRecordedStop(stored);
      if (!recorded) {
        throw StopError.retry('unexpected-error', 'the idempotency record does not hold a valid result');
      }
      const replayed =
        typeof stored === 'object' && stored !== null && 'replayed' in stored && stored.replayed === true;
      return { ...recorded, replayed };
    },
  };
};
