/**
 * The two ways a request reaches the stack: a message on the stop queue (SQS SendMessageBatch) or an
 * event on the bus its stop rule listens on (EventBridge PutEvents). Each sends one call's entries and
 * answers per entry: sent with the service's id, or failed with its code and whether sending again can help.
 *
 * The SDK is loaded when a transport first sends, not when this module loads: the SDK clients are optional
 * peer dependencies, and a service that publishes by SQS only need not install the EventBridge client.
 */
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../request/events.ts';
import type { AwsSdkClient } from './types.ts';

export type EntryAnswer =
  | { readonly ok: true; readonly id: string }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly retryable: boolean };

export interface Transport {
  readonly name: 'sqs' | 'eventbridge';
  /** The bytes of one entry that count against a call's size limit. */
  entryBytes(body: string): number;
  /** Sends the bodies in one call; answers one per body, in order. Never throws. */
  send(bodies: readonly string[]): Promise<EntryAnswer[]>;
}

/** SendMessageBatch and PutEvents both take ten entries per call. */
export const MAX_ENTRIES_PER_CALL = 10;
/**
 * Both services cap a call's entries at 256 KiB (SQS now takes 1 MiB per batch, but a queue may be set
 * lower; 256 KiB holds any ten requests of ordinary size and one of the largest the contract allows).
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
export const MAX_CALL_BYTES = 256 * 1024;

/** An SDK package that is not installed: the transport's peer dependency is missing. */
export class SdkNotInstalledError extends Error {
  override readonly name = 'SdkNotInstalledError';
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const stringField = (value: unknown, key: string): string | undefined =>
  isRecord(value) && typeof value[key] === 'string' ? value[key] : undefined;

const arrayField = (value: unknown, key: string): readonly unknown[] => {
  const field = isRecord(value) ? value[key] : undefined;
  return Array.isArray(field) ? field : [];
};

/** A call that failed as a whole: every entry fails with its error. The SDK client already retried it. */
const callFailed = (error: unknown, count: number): EntryAnswer[] => {
  const name = error instanceof Error ? error.name : undefined;
  const code = name !== undefined && name !== 'Error' ? name : (stringField(error, 'code') ?? 'Error');
  const message = error instanceof Error ? error.message : String(error);
  return Array.from({ length: count }, () => ({ ok: false, code, message, retryable: false }));
};

/** The service answered, but not about this entry: it may or may not have been taken, so send it again. */
export const NO_RESULT: EntryAnswer = {
  ok: false,
  code: 'NoResult',
  message: 'the service did not report on this entry',
  retryable: true,
};

/** Loads an SDK package once, naming the missing peer dependency if it is not installed. */
const loadOnce = <T>(name: string, load: () => Promise<T>): (() => Promise<T>) => {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((cause: unknown) => {
      loaded = undefined;
      throw new SdkNotInstalledError(
        `${name} could not be loaded; install it next to @glue-mv-stop/client (a peer dependency)`,
        { cause },
      );
    });
    return loaded;
  };
};

/**
 * SendMessageBatch answers in two lists keyed by entry id. A sender fault (a malformed entry) fails the same
 * way every time; other failures may pass when sent again.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
 */
const sqsAnswers = (output: unknown, count: number): EntryAnswer[] => {
  const answers: EntryAnswer[] = Array.from({ length: count }, () => NO_RESULT);
  const positionOf = (entry: unknown): number | undefined => {
    const id = stringField(entry, 'Id');
    const position = id === undefined ? Number.NaN : Number(id);
    return Number.isInteger(position) && position >= 0 && position < count ? position : undefined;
  };
  for (const entry of arrayField(output, 'Successful')) {
    const position = positionOf(entry);
    const messageId = stringField(entry, 'MessageId');
    if (position !== undefined && messageId !== undefined) answers[position] = { ok: true, id: messageId };
  }
  for (const entry of arrayField(output, 'Failed')) {
    const position = positionOf(entry);
    if (position === undefined) continue;
    answers[position] = {
      ok: false,
      code: stringField(entry, 'Code') ?? 'Unknown',
      message: stringField(entry, 'Message') ?? '',
      retryable: !(isRecord(entry) && entry.SenderFault === true),
    };
  }
  return answers;
};

/**
 * The entry error codes PutEvents documents as retryable; the others (AccessDeniedException,
 * InvalidArgument, MalformedDetail, NotAuthorizedForSourceException…) fail the same way every time.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html
 */
const RETRYABLE_EVENT_ERRORS = new Set(['InternalFailure', 'ThrottlingException']);

/** PutEvents answers one result entry per request entry, in the same order. */
const eventBridgeAnswers = (output: unknown, count: number): EntryAnswer[] => {
  const entries = arrayField(output, 'Entries');
  return Array.from({ length: count }, (_, position): EntryAnswer => {
    const entry = entries[position];
    const eventId = stringField(entry, 'EventId');
    if (eventId !== undefined) return { ok: true, id: eventId };
    const code = stringField(entry, 'ErrorCode');
    if (code === undefined) return NO_RESULT;
    return {
      ok: false,
      code,
      message: stringField(entry, 'ErrorMessage') ?? '',
      retryable: RETRYABLE_EVENT_ERRORS.has(code),
    };
  });
};

export const createQueueTransport = (queueUrl: string, client?: AwsSdkClient): Transport => {
  const sdk = loadOnce('@aws-sdk/client-sqs', () => import('@aws-sdk/client-sqs'));
  let sqs: AwsSdkClient | undefined = client;
  return {
    name: 'sqs',
    // SQS counts the message body (there are no attributes).
    entryBytes: (body) => Buffer.byteLength(body),
    async send(bodies) {
      try {
        const { SendMessageBatchCommand, SQSClient } = await sdk();
        sqs ??= new SQSClient({});
        const Entries = bodies.map((MessageBody, position) => ({ Id: String(position), MessageBody }));
        const output = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
        return sqsAnswers(output, bodies.length);
      } catch (error) {
        return callFailed(error, bodies.length);
      }
    },
  };
};

export const createEventBusTransport = (
  eventBusName: string,
  client?: AwsSdkClient,
  source: string = STOP_EVENT_SOURCE,
): Transport => {
  const sdk = loadOnce('@aws-sdk/client-eventbridge', () => import('@aws-sdk/client-eventbridge'));
  let eventBridge: AwsSdkClient | undefined = client;
  return {
    name: 'eventbridge',
    // EventBridge counts Source, DetailType and Detail (no Time, no Resources are sent).
    entryBytes: (body) =>
      Buffer.byteLength(source) + Buffer.byteLength(STOP_EVENT_DETAIL_TYPE) + Buffer.byteLength(body),
    async send(bodies) {
      try {
        const { EventBridgeClient, PutEventsCommand } = await sdk();
        eventBridge ??= new EventBridgeClient({});
        const Entries = bodies.map((Detail) => ({
          EventBusName: eventBusName,
          Source: source,
          DetailType: STOP_EVENT_DETAIL_TYPE,
          Detail,
        }));
        const output = await eventBridge.send(new PutEventsCommand({ Entries }));
        return eventBridgeAnswers(output, bodies.length);
      } catch (error) {
        return callFailed(error, bodies.length);
      }
    },
  };
};
