/**
 * DynamoDB adapter: the core's `ViewLedger` port, in the idempotency table. One item per view a stop task
 * settled, read with BatchGetItem (100 keys per call) and written with BatchWriteItem (25 per call), so a
 * task of 27 views costs three DynamoDB calls instead of two per view.
 *
 * Items live beside Powertools' idempotency records and never collide with them: their `id` is
 * `glue-mv-stop#view#<sha256 of the view key>` (Powertools writes `<prefix>#<md5 in base64>`). They expire
 * with the table's TTL (`expiration`, epoch seconds) like the idempotency records do.
 */
import { createHash } from 'node:crypto';
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { StopError } from '../stop/errors.ts';
import { type RecordedStop, toRecordedStop } from '../stop/outcome.ts';
import type { ViewLedger, ViewRecord } from '../stop/ports.ts';
import { IDEMPOTENCY_KEY_PREFIX } from './idempotency.ts';

export interface ViewLedgerOptions {
  readonly dynamoDb: DynamoDBClient;
  readonly tableName: string;
  readonly expiresAfterSeconds: number;
  readonly now?: () => number;
}

/** DynamoDB's limits per call. */
const GET_BATCH = 100;
const WRITE_BATCH = 25;
/** Calls for the keys DynamoDB left unprocessed (throttled), each after a short, growing pause. */
const UNPROCESSED_ROUNDS = 5;

const KEY_ATTRIBUTE = 'id';
const EXPIRY_ATTRIBUTE = 'expiration';
const RESULT_ATTRIBUTE = 'viewResult';

/** The item id of a view key. */
export const viewItemId = (key: string): string =>
  `${IDEMPOTENCY_KEY_PREFIX}#view#${createHash('sha256').update(key).digest('hex')}`;

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

const pause = (round: number) => new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));

const unavailable = (what: string, error?: unknown): StopError =>
  StopError.retry(
    'idempotency-store-unavailable',
    `${what}${error === undefined ? '' : `: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`}`,
    error === undefined ? undefined : { cause: error },
  );

export const createViewLedger = (options: ViewLedgerOptions): ViewLedger => {
  const { dynamoDb, tableName } = options;
  const now = options.now ?? Date.now;

  const readChunk = async (ids: readonly string[], found: Map<string, RecordedStop>) => {
    let keys: Record<string, AttributeValue>[] = ids.map((id) => ({ [KEY_ATTRIBUTE]: { S: id } }));
    for (let round = 0; keys.length > 0; round++) {
      if (round > UNPROCESSED_ROUNDS) throw unavailable(`${keys.length} view record(s) left unread`);
      if (round > 0) await pause(round);
      let response: BatchGetItemCommandOutput;
      try {
        response = await dynamoDb.send(
          new BatchGetItemCommand({
            RequestItems: {
              [tableName]: {
                Keys: keys,
                ConsistentRead: true,
                ProjectionExpression: '#id, #result, #expiry',
                ExpressionAttributeNames: {
                  '#id': KEY_ATTRIBUTE,
                  '#result': RESULT_ATTRIBUTE,
                  '#expiry': EXPIRY_ATTRIBUTE,
                },
              },
            },
          }),
        );
      } catch (error) {
        throw unavailable('the view records could not be read', error);
      }
      const nowSeconds = now() / 1000;
      for (const item of response.Responses?.[tableName] ?? []) {
        const id = item[KEY_ATTRIBUTE]?.S;
        const text = item[RESULT_ATTRIBUTE]?.S;
        const expiry = Number(item[EXPIRY_ATTRIBUTE]?.N ?? Number.POSITIVE_INFINITY);
        // TTL deletes late: an expired item is no record, as Powertools treats its own.
        if (id === undefined || text === undefined || expiry <= nowSeconds) continue;
        let result: RecordedStop | undefined;
        try {
          result = toRecordedStop(JSON.parse(text));
        } catch {
          result = undefined;
        }
        if (result) found.set(id, result);
      }
      keys = response.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  };

  const writeChunk = async (records: readonly ViewRecord[]) => {
    const expiration = String(Math.floor(now() / 1000) + options.expiresAfterSeconds);
    let requests: WriteRequest[] = records.map((record) => ({
      PutRequest: {
        Item: {
          [KEY_ATTRIBUTE]: { S: viewItemId(record.key) },
          [RESULT_ATTRIBUTE]: { S: JSON.stringify(record.result) },
          [EXPIRY_ATTRIBUTE]: { N: expiration },
        },
      },
    }));
    for (let round = 0; requests.length > 0; round++) {
      if (round > UNPROCESSED_ROUNDS) throw unavailable(`${requests.length} view record(s) left unwritten`);
      if (round > 0) await pause(round);
      let unprocessed: WriteRequest[];
      try {
        const response = await dynamoDb.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }),
        );
        unprocessed = response.UnprocessedItems?.[tableName] ?? [];
      } catch (error) {
        throw unavailable('the view records could not be written', error);
      }
      requests = unprocessed;
    }
  };

  return {
    async read(keys) {
      const ids = new Map([...new Set(keys)].map((key) => [viewItemId(key), key]));
      const found = new Map<string, RecordedStop>();
      await Promise.all(chunks([...ids.keys()], GET_BATCH).map((chunk) => readChunk(chunk, found)));
      const byKey = new Map<string, RecordedStop>();
      for (const [id, result] of found) {
        const key = ids.get(id);
        if (key !== undefined) byKey.set(key, result);
      }
      return byKey;
    },
    async write(records) {
      // One item per key: BatchWriteItem refuses a call that names a key twice.
      const unique = [...new Map(records.map((record) => [record.key, record])).values()];
      await Promise.all(chunks(unique, WRITE_BATCH).map(writeChunk));
    },
  };
};
