/**
 * Wire-level emulator for the one Amazon EventBridge operation the functions use, `PutEvents`.
 *
 * It speaks the awsJson1_1 protocol as the real endpoint does (POST /, `x-amz-target:
 * AWSEvents.PutEvents`, JSON bodies, `__type` + `x-amzn-errortype` on errors), so the real
 * `@aws-sdk/client-eventbridge` talks to it through `endpoint` or `AWS_ENDPOINT_URL_EVENTBRIDGE` with no
 * test-only code path. Validation follows the service:
 *
 * - 0 or more than 10 entries, or more than 256 KB of entries in total → 400 `ValidationException`
 *   (the whole request fails; nothing is recorded).
 * - An entry without Source, DetailType or Detail fails alone with `InvalidArgument`; one whose Detail is
 *   not a JSON object fails alone with `MalformedDetail`. The other entries are accepted, and
 *   `FailedEntryCount` counts the failures (HTTP 200).
 *   https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html
 * - Entry size is counted as EventBridge does: Time 14 bytes, UTF-8 bytes of Source, DetailType, Detail
 *   and each resource. https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 *
 * Event buses are not modelled: any `EventBusName` (name or ARN) is accepted. Signatures are ignored.
 * Importing this module has no side effects; call `startEventBridgeEmulator()`.
 */
import { randomUUID } from 'node:crypto';
import {
  type Answer,
  type AwsJsonRequest,
  type ErrorDef,
  type Exchange,
  errorReply,
  PROTOCOL_ERRORS,
  type Reply,
  startAwsJsonServer,
} from './aws-json-server.ts';

// ---------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------

export type EventBridgeFaultKind =
  | 'throttle' // 400 ThrottlingException (the SDK retries it)
  | 'internal-error' // 500 InternalException (the SDK retries it)
  | 'entry-failure' // 200 with every entry failed (ErrorCode InternalFailure): the SDK does NOT retry
  | 'connection-reset'; // socket reset, no HTTP answer at all (the SDK retries it)

export interface EventBridgeFault {
  kind: EventBridgeFaultKind;
  /** How many requests it hits. Default 1; `Infinity` for every one. */
  times?: number;
}

export interface RecordedEvent {
  /** The EventId answered to the caller (a UUID). */
  id: string;
  source: string;
  detailType: string;
  /** `Detail`, parsed. */
  detail: unknown;
  /** The bus name (an ARN is reduced to its name); `'default'` when the entry named none. */
  eventBusName: string;
  /** ISO 8601 to the second, as EventBridge writes an event's `time`: the entry's Time, else arrival. */
  time: string;
  resources: string[];
}

export interface EventBridgeCall {
  operation: string;
  /** Number of entries in the request (0 when the body could not be read). */
  entries: number;
  /** HTTP status answered; 0 when no HTTP answer was sent (connection-reset). */
  status: number;
}

export interface EventBridgeEmulator {
  /** e.g. `http://127.0.0.1:43123`; use as `endpoint` or `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  readonly url: string;
  /** Every accepted event, in order, with Detail parsed. */
  readonly events: readonly RecordedEvent[];
  /** Every request received, in arrival order (faults and rejected requests included). */
  readonly calls: readonly EventBridgeCall[];
  /** Queues a fault; faults are used in the order they were injected. */
  injectFault(f: EventBridgeFault): void;
  /** Clears events, calls and pending faults. */
  reset(): void;
  /** Stops listening and destroys every open socket. Idempotent. */
  close(): Promise<void>;
}

export interface EventBridgeEmulatorOptions {
  /** Default `'127.0.0.1'`. */
  host?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Delay added before every answer (accepted events are recorded on arrival). Default 0. */
  latencyMs?: number;
}

// ---------------------------------------------------------------------------------------------------
// Wire constants
// ---------------------------------------------------------------------------------------------------

const TARGET_PREFIX = 'AWSEvents.';
const OP_PUT_EVENTS = 'PutEvents';

const MAX_ENTRIES = 10;
/** "The total entry size must be less than 256KB." */
const MAX_TOTAL_ENTRY_BYTES = 256 * 1024;
/** The size EventBridge charges for a Time parameter, whatever its value. */
const TIME_BYTES = 14;

const E = {
  validation: { status: 400, code: 'ValidationException' },
  throttling: { status: 400, code: 'ThrottlingException' },
  internal: { status: 500, code: 'InternalException' },
  ...PROTOCOL_ERRORS,
} as const satisfies Record<string, ErrorDef>;

interface EntryError {
  ErrorCode: string;
  ErrorMessage: string;
}

type ResultEntry = { EventId: string } | EntryError;

interface FaultEntry {
  kind: EventBridgeFaultKind;
  remaining: number;
}

// ---------------------------------------------------------------------------------------------------
// Request validation (pure)
// ---------------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const utf8Bytes = (s: unknown): number => (typeof s === 'string' ? Buffer.byteLength(s, 'utf8') : 0);

const stringsIn = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

function entrySize(entry: Record<string, unknown>): number {
  let size = entry.Time === undefined || entry.Time === null ? 0 : TIME_BYTES;
  size += utf8Bytes(entry.Source) + utf8Bytes(entry.DetailType) + utf8Bytes(entry.Detail);
  for (const resource of stringsIn(entry.Resources)) size += utf8Bytes(resource);
  return size;
}

const missing = (field: string): EntryError => ({
  ErrorCode: 'InvalidArgument',
  ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
});

/** An arriving entry's verdict: the event to record, or the entry's error. */
function judgeEntry(raw: unknown, arrivedAt: number): RecordedEvent | EntryError {
  const entry = isObject(raw) ? raw : {};
  const { Source: source, DetailType: detailType, Detail: detailText } = entry;
  if (typeof source !== 'string' || source === '') return missing('Source');
  if (typeof detailType !== 'string' || detailType === '') return missing('DetailType');
  if (typeof detailText !== 'string' || detailText === '') return missing('Detail');
  let detail: unknown;
  try {
    detail = JSON.parse(detailText);
  } catch {
    detail = undefined;
  }
  if (!isObject(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  return {
    id: randomUUID(),
    source,
    detailType,
    detail,
    eventBusName: busName(entry.EventBusName),
    time: eventTime(entry.Time, arrivedAt),
    resources: stringsIn(entry.Resources),
  };
}

/** `arn:aws:events:us-east-1:123456789012:event-bus/orders` → `orders`. */
function busName(value: unknown): string {
  if (typeof value !== 'string' || value === '') return 'default';
  const marker = ':event-bus/';
  const at = value.indexOf(marker);
  return value.startsWith('arn:') && at >= 0 ? value.slice(at + marker.length) : value;
}

/** awsJson1_1 sends timestamps as epoch seconds; EventBridge reports `time` to the second. */
function eventTime(value: unknown, arrivedAt: number): string {
  const ms = typeof value === 'number' && Number.isFinite(value) ? value * 1000 : arrivedAt;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

// ---------------------------------------------------------------------------------------------------
// Emulator
// ---------------------------------------------------------------------------------------------------

/**
 * Starts the emulator on loopback.
 *
 * @example
 * const bus = await startEventBridgeEmulator();
 * const client = new EventBridgeClient({ endpoint: bus.url, region: 'us-east-1', credentials });
 * await client.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 't', Detail: '{}' }] }));
 * bus.events[0]?.detail; // {}
 * await bus.close();
 */
export async function startEventBridgeEmulator(
  options: EventBridgeEmulatorOptions = {},
): Promise<EventBridgeEmulator> {
  const latencyMs = options.latencyMs ?? 0;
  const events: RecordedEvent[] = [];
  const calls: EventBridgeCall[] = [];
  const faults: FaultEntry[] = [];

  function putEvents(input: Record<string, unknown>, arrivedAt: number): Reply {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length < 1) {
      return errorReply(
        E.validation,
        "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: " +
          'Member must have length greater than or equal to 1',
      );
    }
    if (entries.length > MAX_ENTRIES) {
      return errorReply(
        E.validation,
        "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy " +
          `constraint: Member must have length less than or equal to ${MAX_ENTRIES}`,
      );
    }
    const total = entries.reduce<number>((sum, e) => sum + (isObject(e) ? entrySize(e) : 0), 0);
    if (total > MAX_TOTAL_ENTRY_BYTES) {
      return errorReply(E.validation, 'Total size of the entries in the request is over the limit.');
    }
    const results: ResultEntry[] = [];
    let failed = 0;
    for (const raw of entries) {
      const verdict = judgeEntry(raw, arrivedAt);
      if ('ErrorCode' in verdict) {
        failed += 1;
        results.push(verdict);
      } else {
        events.push(verdict);
        results.push({ EventId: verdict.id });
      }
    }
    return { status: 200, body: { FailedEntryCount: failed, Entries: results } };
  }

  function takeFault(): EventBridgeFaultKind | undefined {
    const fault = faults[0];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.shift();
    return fault.kind;
  }

  function faultReply(kind: EventBridgeFaultKind, entries: number): Answer {
    switch (kind) {
      case 'connection-reset':
        return 'connection-reset';
      case 'throttle':
        return errorReply(E.throttling, 'Rate exceeded.');
      case 'internal-error':
        return errorReply(E.internal, 'An internal error occurred.');
      case 'entry-failure':
        return {
          status: 200,
          body: {
            FailedEntryCount: entries,
            Entries: Array.from({ length: entries }, () => ({
              ErrorCode: 'InternalFailure',
              ErrorMessage: 'Internal failure.',
            })),
          },
        };
    }
  }

  function handle(request: AwsJsonRequest): Exchange {
    const arrivedAt = Date.now();
    const { input, operation } = request;
    const entries = Array.isArray(input?.Entries) ? input.Entries.length : 0;
    const call: EventBridgeCall = { operation, entries, status: 0 };
    calls.push(call);
    const respond = (answer: Answer): Exchange => ({
      answer,
      answered(status) {
        call.status = status;
      },
    });

    // Order of checks: unknown target, unreadable body, injected fault, then the operation itself.
    if (request.method !== 'POST' || operation !== OP_PUT_EVENTS) {
      return respond(errorReply(E.unknownOperation, `Unknown operation ${JSON.stringify(request.target)}.`));
    }
    if (input === undefined) {
      return respond(errorReply(E.serialization, 'Request body must be a JSON object.'));
    }
    const fault = takeFault();
    return respond(fault === undefined ? putEvents(input, arrivedAt) : faultReply(fault, entries));
  }

  const server = await startAwsJsonServer(
    { targetPrefix: TARGET_PREFIX, internalErrorCode: E.internal.code, handle, latencyMs: () => latencyMs },
    options,
  );

  return {
    url: server.url,

    get events() {
      return events;
    },

    get calls() {
      return calls;
    },

    injectFault(f) {
      const times = f.times ?? 1;
      if (!(times > 0)) throw new Error('injectFault: times must be > 0');
      faults.push({ kind: f.kind, remaining: times });
    },

    reset() {
      events.length = 0;
      calls.length = 0;
      faults.length = 0;
    },

    close() {
      return server.close();
    },
  };
}
