/**
 * Idempotency adapter: Powertools idempotency over DynamoDB around the core's `stopOnce`, with its
 * errors translated into the core's permanent / transient vocabulary.
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
import { PermanentStopError, TransientStopError } from '../stop/errors.ts';
import { type RecordedStop, toRecordedStop } from '../stop/outcome.ts';
import type { StopCommand, StopExecutor } from '../stop/ports.ts';
import { type CommandDependencies, runStopCommand } from '../stop/run-command.ts';

/**
 * Records of both functions share this prefix, so a request that reaches the stack twice (directly
 * from EventBridge and through the queue) is still acted on once.
 */
export const IDEMPOTENCY_KEY_PREFIX = 'glue-mv-stop';

export interface IdempotentStopOptions {
  /** What the wrapped command needs: Glue, the stop queue and the allow-list. */
  readonly commands: CommandDependencies;
  readonly dynamoDb: DynamoDBClient;
  readonly tableName: string;
  readonly expiresAfterSeconds: number;
}

export interface IdempotentStop {
  readonly execute: StopExecutor;
  /** Lets in-progress records expire with the invocation's remaining time (a crashed run frees its key). */
  registerLambdaContext(context: Context): void;
}

const translate = (error: unknown, command: StopCommand): unknown => {
  if (error instanceof PermanentStopError || error instanceof TransientStopError) return error;
  if (error instanceof IdempotencyValidationError) {
    return new PermanentStopError(
      'idempotency-key-reused',
      `idempotency key "${command.idempotencyKey}" was already used for a different target`,
      { cause: error },
    );
  }
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return new TransientStopError(
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
    return new TransientStopError('idempotency-store-unavailable', `${error.name}: ${error.message}`, {
      cause: error,
    });
  }
  return error;
};

export const createIdempotentStop = (options: IdempotentStopOptions): IdempotentStop => {
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
  const stop = makeIdempotent(
    async (command: StopCommand): Promise<RecordedStop> => runStopCommand(command, options.commands),
    { persistenceStore, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX },
  );
  return {
    registerLambdaContext: (context) => config.registerLambdaContext(context),
    async execute(command) {
      let stored: unknown;
      try {
        stored = await stop(command);
      } catch (error) {
        throw translate(error, command);
      }
      const recorded = toRecordedStop(stored);
      if (!recorded) {
        throw new TransientStopError(
          'unexpected-error',
          'the idempotency record does not hold a valid result',
        );
      }
      const replayed =
        typeof stored === 'object' && stored !== null && 'replayed' in stored && stored.replayed === true;
      return { ...recorded, replayed };
    },
  };
};
