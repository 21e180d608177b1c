/**
 * SQS adapter: parks refused requests in the dead-letter queue. The body is kept exactly as it arrived,
 * so that once fixed (or once permissions are fixed) the message can be redriven to the stop queue;
 * the reason travels in message attributes that the console and `receive-message` show.
 */
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
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
} as const;

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

export const createDeadLetterParker = (
  sqs: SQSClient,
  queueUrl: string,
  now: () => Date = () => new Date(),
): RejectedRequestParker => ({
  async park(request) {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: request.original,
        MessageAttributes: parkedMessageAttributes(request, now()),
      }),
    );
  },
});
