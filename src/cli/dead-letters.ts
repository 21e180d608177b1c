/**
 * What a message in the dead-letter queue is, read without changing it. Two writers put messages there:
 *
 * - the functions park what they refuse (`src/adapters/dead-letter-parker.ts`): the original body, kept
 *   as it arrived (or encoded, or cut, as `glue-mv-stop.body` says), with `glue-mv-stop.*` attributes
 *   naming the outcome, reason, detail and trigger;
 * - AWS puts there what it could not deliver or gave up on: Lambda's on-failure destination writes an
 *   invocation record around the failed event (`requestContext`, `requestPayload`, `responsePayload`),
 *   EventBridge rules and Scheduler write the event or payload with `ERROR_CODE`/`ERROR_MESSAGE`
 *   attributes, and the stop queue's redrive policy moves a message as it was after `maxReceiveCount`.
 *
 * Every kind is redriven as the message it stands for: a parked request as its restored original
 * (attributes dropped), everything else as its body, which the stop queue reads as it is (it unwraps
 * invocation records, reads alarm changes and window payloads: `src/triggers/queue-message.ts`).
 */
import { PARKED_ATTRIBUTES, restoreParkedBody } from '../adapters/dead-letter-parker.ts';
import { isRecord } from '../request/parse.ts';
import { formatTarget } from './format.ts';

export type DeadLetterKind = 'parked' | 'invocation-record' | 'undelivered-event' | 'stop-queue-give-up';

/** The SQS message as received (the SDK's `Message`, narrowed to what is read here). */
export interface ReceivedMessage {
  readonly MessageId?: string | undefined;
  readonly ReceiptHandle?: string | undefined;
  readonly Body?: string | undefined;
  readonly Attributes?: Readonly<Record<string, string | undefined>> | undefined;
  readonly MessageAttributes?:
    | Readonly<
        Record<string, { readonly StringValue?: string | undefined; readonly DataType?: string | undefined }>
      >
    | undefined;
}

export type Redrive =
  | { readonly kind: 'send'; readonly body: string }
  | { readonly kind: 'keep'; readonly why: string };

export interface DeadLetter {
  readonly messageId: string;
  readonly kind: DeadLetterKind;
  /** `rejected`, `not-allowed` (parked); `failed-invocation`, `undelivered`, `gave-up` (put there by AWS). */
  readonly outcome: string;
  readonly reason: string;
  /** `sqs`, `eventbridge`, `alarm`, `schedule`, or `unknown`. */
  readonly trigger: string;
  /** `sales.orders_mv`, `sales.{daily_*}`, `alarm:<name>`, or `?` when the body names no view. */
  readonly target: string;
  readonly detail?: string;
  /** When the message entered the dead-letter queue (SQS `SentTimestamp`), ISO-8601. */
  readonly sentAt?: string;
  readonly receiveCount?: number;
  /** Message attributes, as strings. */
  readonly attributes: Readonly<Record<string, string>>;
  /** The body as it is in the queue. */
  readonly body: string;
  /** The original the body stands for (a parked body restored); a truncated one is its kept part. */
  readonly original: string;
  /** What a redrive sends to the stop queue, or why the message cannot be redriven as it is. */
  readonly redrive: Redrive;
}

/** Characters SQS takes in a body. */
const SQS_TEXT = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

const MAX_UNWRAP = 8;

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

const parseJson = (body: string): unknown => {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
};

const isInvocationRecord = (value: unknown): value is Record<string, unknown> & { requestPayload: unknown } =>
  isRecord(value) && isRecord(value.requestContext) && 'requestPayload' in value;

/** The event or request inside any number (bounded) of invocation records. */
const unwrap = (value: unknown): unknown => {
  let current = value;
  for (let i = 0; i < MAX_UNWRAP && isInvocationRecord(current); i++) current = current.requestPayload;
  return current;
};

/** What a payload names, and which trigger reads it. */
const describePayload = (payload: unknown): { target: string; trigger: string } => {
  if (!isRecord(payload)) return { target: '?', trigger: 'unknown' };
  if (payload.source === 'aws.cloudwatch') {
    const detail = isRecord(payload.detail) ? payload.detail : {};
    return { target: `alarm:${text(detail.alarmName) ?? '?'}`, trigger: 'alarm' };
  }
  if ('detail-type' in payload) return { ...describePayload(payload.detail), trigger: 'eventbridge' };
  // The queue function's own follow-up messages for a scope it expands (`{ "ScopeTask": { … } }`).
  if (isRecord(payload.ScopeTask)) {
    const task = payload.ScopeTask;
    const views = Array.isArray(task.Views)
      ? task.Views.map((view) => (isRecord(view) ? (text(view.TableName) ?? '?') : '?'))
      : Array.isArray(task.TableNames)
        ? task.TableNames.map(String)
        : ['?'];
    return { target: formatTarget(text(task.DatabaseName) ?? '?', views), trigger: 'sqs' };
  }
  if ('window' in payload && 'scheduledTime' in payload) {
    const scope = isRecord(payload.scope) ? payload.scope : {};
    const tables = Array.isArray(scope.tables) ? scope.tables.map(String) : ['*'];
    const database = text(scope.database);
    return {
      target:
        database !== undefined ? formatTarget(database, tables) : `window:${text(payload.window) ?? '?'}`,
      trigger: 'schedule',
    };
  }
  const database = text(payload.DatabaseName);
  const table = text(payload.TableName);
  const tables = Array.isArray(payload.TableNames) ? payload.TableNames.map(String) : undefined;
  if (database === undefined) return { target: '?', trigger: 'sqs' };
  if (table !== undefined) return { target: formatTarget(database, table), trigger: 'sqs' };
  return { target: tables ? formatTarget(database, tables) : formatTarget(database, '?'), trigger: 'sqs' };
};

/** What the first part of a cut request still says about its view, read field by field. */
const salvageTarget = (prefix: string): string => {
  const field = (name: string) => {
    const match = new RegExp(`"${name}"\\s*:\\s*("(?:[^"\\\\]|\\\\.)*")`).exec(prefix);
    const value: unknown = match?.[1] ? parseJson(match[1]) : undefined;
    return typeof value === 'string' ? value : undefined;
  };
  const database = field('DatabaseName');
  return database === undefined ? '?' : formatTarget(database, field('TableName') ?? '?');
};

const TRIGGER_OF_FUNCTION: readonly [RegExp, string][] = [
  [/stopFromEvent/i, 'eventbridge'],
  [/stopFromAlarm/i, 'alarm'],
  [/stopFromSchedule/i, 'schedule'],
  [/stopFromQueue/i, 'sqs'],
];

const attributesOf = (message: ReceivedMessage): Record<string, string> =>
  Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).flatMap(([name, value]) =>
      value.StringValue !== undefined ? [[name, value.StringValue]] : [],
    ),
  );

const sentAtOf = (message: ReceivedMessage): string | undefined => {
  const millis = Number(message.Attributes?.SentTimestamp);
  return Number.isFinite(millis) && millis > 0 ? new Date(millis).toISOString() : undefined;
};

/** Reads one message of the dead-letter queue. Never throws: what it cannot read it says so. */
export const classifyDeadLetter = (message: ReceivedMessage): DeadLetter => {
  const body = message.Body ?? '';
  const attributes = attributesOf(message);
  const sentAt = sentAtOf(message);
  const receiveCount = Number(message.Attributes?.ApproximateReceiveCount);
  const common = {
    messageId: message.MessageId ?? '?',
    attributes,
    body,
    ...(sentAt !== undefined ? { sentAt } : {}),
    ...(Number.isFinite(receiveCount) ? { receiveCount } : {}),
  };

  const parkedOutcome = attributes[PARKED_ATTRIBUTES.outcome];
  if (parkedOutcome !== undefined) {
    let original = body;
    let redrive: Redrive;
    try {
      const restored = restoreParkedBody(body, message.MessageAttributes ?? {});
      if (restored.kind === 'complete') {
        original = restored.original;
        redrive =
          SQS_TEXT.test(original) && original !== ''
            ? { kind: 'send', body: original }
            : {
                kind: 'keep',
                why: 'the original holds characters SQS refuses: it can only be fixed by its producer',
              };
      } else {
        original = restored.prefix;
        redrive = {
          kind: 'keep',
          why: `the original was cut to fit SQS (${restored.bytes} bytes, sha256 ${restored.sha256}): only its producer has the rest`,
        };
      }
    } catch (error) {
      redrive = {
        kind: 'keep',
        why: `the body cannot be restored: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    if (redrive.kind === 'send' && attributes[PARKED_ATTRIBUTES.reason] === 'invalid-request') {
      redrive = {
        kind: 'keep',
        why: 'an invalid request is refused again as it is: its producer must fix it (delete it with --delete)',
      };
    }
    const payload = unwrap(parseJson(original));
    const target = payload === undefined ? salvageTarget(original) : describePayload(payload).target;
    const detail = attributes[PARKED_ATTRIBUTES.detail];
    return {
      ...common,
      kind: 'parked',
      outcome: parkedOutcome,
      reason: attributes[PARKED_ATTRIBUTES.reason] ?? '?',
      trigger: attributes[PARKED_ATTRIBUTES.trigger] ?? describePayload(payload).trigger,
      target,
      ...(detail !== undefined ? { detail } : {}),
      original,
      redrive,
    };
  }

  const value = parseJson(body);
  const redrive: Redrive = { kind: 'send', body };
  if (isInvocationRecord(value)) {
    const context = isRecord(value.requestContext) ? value.requestContext : {};
    const response = isRecord(value.responsePayload) ? value.responsePayload : {};
    const functionArn = text(context.functionArn) ?? '';
    const payload = unwrap(value);
    const described = describePayload(payload);
    const trigger =
      TRIGGER_OF_FUNCTION.find(([pattern]) => pattern.test(functionArn))?.[1] ?? described.trigger;
    const errorType = text(response.errorType);
    const errorMessage = text(response.errorMessage);
    const detail = [errorType, errorMessage].filter((part) => part !== undefined).join(': ');
    return {
      ...common,
      kind: 'invocation-record',
      outcome: 'failed-invocation',
      reason: text(context.condition) ?? 'unknown',
      trigger,
      target: described.target,
      ...(detail !== '' ? { detail } : {}),
      original: body,
      redrive,
    };
  }
  const errorCode = attributes.ERROR_CODE;
  const described = describePayload(value);
  if (errorCode !== undefined) {
    const errorMessage = attributes.ERROR_MESSAGE;
    return {
      ...common,
      kind: 'undelivered-event',
      outcome: 'undelivered',
      reason: errorCode,
      trigger: described.trigger === 'sqs' ? 'unknown' : described.trigger,
      target: described.target,
      ...(errorMessage !== undefined ? { detail: errorMessage } : {}),
      original: body,
      redrive,
    };
  }
  return {
    ...common,
    kind: 'stop-queue-give-up',
    outcome: 'gave-up',
    reason: 'max-receive-count',
    trigger: 'sqs',
    target: described.target,
    original: body,
    redrive,
  };
};
