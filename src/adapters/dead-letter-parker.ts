/**
 * SQS adapter: parks refused requests in the dead-letter queue. The body is kept exactly as it arrived,
 * so that once fixed (or once permissions are fixed) the message can be redriven to the stop queue;
 * the reason travels in message attributes that the console and `receive-message` show.
 *
 * Two kinds of original cannot go into SQS as they are, and are marked in the `glue-mv-stop.body`
 * attribute (absent: the body is the original, byte for byte):
 * - `json-string`: the original holds characters SQS refuses (lone surrogates, U+FFFE, U+FFFF, control
 *   characters); the body is the original as a JSON string literal, and `JSON.parse(body)` restores it.
 * - `truncated; bytes=N; sha256=H`: the original, with the attributes, is larger than an SQS message may
 *   be; the body is its first part, N and H the byte length and SHA-256 of the whole (after any encoding).
 *   `restoreParkedBody` reads all three forms.
 */
import { createHash } from 'node:crypto';
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { escapeNoncharacters } from '../request/json-text.ts';
import type { RejectedRequest, RejectedRequestParker } from '../stop/ports.ts';

/** Attribute names on parked messages. SQS allows at most 10 attributes per message. */
export const PARKED_ATTRIBUTES = {
  outcome: 'glue-mv-stop.outcome',
  reason: 'glue-mv-stop.reason',
  detail: 'glue-mv-stop.detail',
  trigger: 'glue-mv-stop.trigger',
  messageId: 'glue-mv-stop.message-id',
  eventId: 'glue-mv-stop.event-id',
  idempotencyKey: 'glue-mv-stop.idempotency-key',
  parkedAt: 'glue-mv-stop.parked-at',
  body: 'glue-mv-stop.body',
} as const;

/** SQS's limit for one message, body and attributes together (names, types and values, in UTF-8 bytes). */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/** Long details are cut, on a code point boundary, to keep the message well inside SQS limits. */
const DETAIL_MAX_CODE_POINTS = 4096;

/**
 * SQS accepts in attribute values only the characters it accepts in bodies: #x9 #xA #xD, #x20–#xD7FF,
 * #xE000–#xFFFD and #x10000–#x10FFFF. A detail can echo request text (an unknown key, Glue's message),
 * so anything else becomes U+FFFD rather than making the whole SendMessage fail.
 */
const NOT_SQS_TEXT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export const toSqsText = (value: string, maxCodePoints = Number.POSITIVE_INFINITY): string => {
  const text = value.replace(NOT_SQS_TEXT, '\uFFFD');
  if (text.length <= maxCodePoints) return text;
  return Array.from(text).slice(0, maxCodePoints).join('');
};

const stringAttribute = (value: string): MessageAttributeValue => ({
  DataType: 'String',
  // Attribute values must not be empty.
  StringValue: toSqsText(value) || '(none)',
});

export const parkedMessageAttributes = (
  request: RejectedRequest,
  now: Date,
): Record<string, MessageAttributeValue> => {
  const optional: [string, string | undefined][] = [
    [PARKED_ATTRIBUTES.messageId, request.messageId],
    [PARKED_ATTRIBUTES.eventId, request.eventId],
    [PARKED_ATTRIBUTES.idempotencyKey, request.idempotencyKey],
  ];
  return {
    [PARKED_ATTRIBUTES.outcome]: stringAttribute(request.outcome),
    [PARKED_ATTRIBUTES.reason]: stringAttribute(request.reason),
    [PARKED_ATTRIBUTES.detail]: stringAttribute(toSqsText(request.detail, DETAIL_MAX_CODE_POINTS)),
    [PARKED_ATTRIBUTES.trigger]: stringAttribute(request.trigger),
    [PARKED_ATTRIBUTES.parkedAt]: stringAttribute(now.toISOString()),
    ...Object.fromEntries(
      optional.flatMap(([name, value]) => (value ? [[name, stringAttribute(value)]] : [])),
    ),
  };
};

const isSqsText = (text: string): boolean => !NOT_SQS_TEXT_ONCE.test(text);
const NOT_SQS_TEXT_ONCE = new RegExp(NOT_SQS_TEXT.source, 'u');

const attributesBytes = (attributes: Record<string, MessageAttributeValue>): number =>
  Object.entries(attributes).reduce(
    (sum, [name, value]) =>
      sum +
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? '') +
      Buffer.byteLength(value.StringValue ?? ''),
    0,
  );

/** The first `maxBytes` bytes of `text` at most, cut on a code point boundary. */
const utf8Prefix = (text: string, maxBytes: number): string => {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // Step back over continuation bytes (10xxxxxx) so that no code point is cut in half.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
};

/** Room kept for the `glue-mv-stop.body` attribute itself (`truncated; bytes=…; sha256=<64 hex>`). */
const BODY_NOTE_RESERVE = 160;

/** The body to park and, when it is not the original as it is, the note that says how to restore it. */
export const parkedBody = (
  original: string,
  otherAttributes: Record<string, MessageAttributeValue>,
): { readonly body: string; readonly note?: string } => {
  // SQS refuses an empty body too.
  const encoded =
    isSqsText(original) && original !== ''
      ? { text: original }
      : { text: toSqsEscapedJson(original), encoding: 'json-string' };
  const room = SQS_MAX_MESSAGE_BYTES - attributesBytes(otherAttributes) - BODY_NOTE_RESERVE;
  const bytes = Buffer.byteLength(encoded.text);
  if (bytes <= room) {
    return encoded.encoding ? { body: encoded.text, note: encoded.encoding } : { body: encoded.text };
  }
  const sha256 = createHash('sha256').update(encoded.text).digest('hex');
  return {
    body: utf8Prefix(encoded.text, room),
    note: `${encoded.encoding ? `${encoded.encoding}, ` : ''}truncated; bytes=${bytes}; sha256=${sha256}`,
  };
};

/** A JSON string literal SQS accepts: JSON.stringify escapes lone surrogates, not U+FFFE and U+FFFF. */
const toSqsEscapedJson = (text: string): string => escapeNoncharacters(JSON.stringify(text));

export type RestoredBody =
  | { readonly kind: 'complete'; readonly original: string }
  | {
      readonly kind: 'truncated';
      /** The part that was kept (decoded when it could be: a cut JSON string literal cannot). */
      readonly prefix: string;
      readonly encoding?: 'json-string';
      /** Byte length and SHA-256 of the whole parked text (before decoding). */
      readonly bytes: number;
      readonly sha256: string;
    };

/**
 * Reads a parked message back: the original exactly, or what is known of a truncated one.
 * @example restoreParkedBody('"a\\ud800b"', { 'glue-mv-stop.body': { StringValue: 'json-string' } })
 *   // { kind: 'complete', original: 'a\ud800b' }
 */
export const restoreParkedBody = (
  body: string,
  attributes: Readonly<Record<string, { readonly StringValue?: string | undefined } | undefined>> = {},
): RestoredBody => {
  const note = attributes[PARKED_ATTRIBUTES.body]?.StringValue;
  if (note === undefined) return { kind: 'complete', original: body };
  const encoding = /^json-string\b/.test(note) ? ('json-string' as const) : undefined;
  const truncated = /truncated; bytes=(\d+); sha256=([0-9a-f]{64})/.exec(note);
  if (!truncated) {
    const original: unknown = encoding ? JSON.parse(body) : body;
    if (typeof original !== 'string') throw new Error('a json-string body must hold a JSON string');
    return { kind: 'complete', original };
  }
  return {
    kind: 'truncated',
    prefix: body,
    ...(encoding ? { encoding } : {}),
    bytes: Number(truncated[1]),
    sha256: truncated[2] ?? '',
  };
};

export const createDeadLetterParker = (
  sqs: SQSClient,
  queueUrl: string,
  now: () => Date = () => new Date(),
): RejectedRequestParker => ({
  async park(request) {
    const attributes = parkedMessageAttributes(request, now());
    const { body, note } = parkedBody(request.original, attributes);
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageAttributes: note
          ? { ...attributes, [PARKED_ATTRIBUTES.body]: stringAttribute(note) }
          : attributes,
      }),
    );
  },
});
