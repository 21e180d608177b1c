/**
 * The producer client's public vocabulary: its options, what it answers for each request, and the
 * violations of the request contract. Free of zod and of the AWS SDK, so that a service using one
 * transport type-checks without the other transport's SDK installed.
 */
import type * as parse from '../request/parse.ts';
import type { StopRequest } from '../request/types.ts';

/** The rule a request broke, as the stack names it in its refusals and dead-letter attributes. */
export type ViolationRule =
  | 'json'
  | 'type'
  | 'required'
  | 'min-length'
  | 'max-length'
  | 'pattern'
  | 'unknown-field'
  | 'value'
  | 'depth';

/** One broken rule: `{ field: 'TableName', rule: 'max-length', message: 'must be at most 255 characters' }`. */
export interface Violation {
  /** Dotted path of the offending field, e.g. `TableName` or `TableNames.3`; `(body)` for the whole value. */
  readonly field: string;
  readonly rule: ViolationRule;
  readonly message: string;
}

/** The outcome of checking a value against the stop request contract, locally. */
export type StopValidation =
  | { readonly kind: 'valid'; readonly request: StopRequest }
  | {
      readonly kind: 'invalid';
      readonly violations: readonly Violation[];
      /** The violations in one line: `TableName: must be at most 255 characters (max-length)`. */
      readonly message: string;
    };

/** The request is on the stop queue: SQS answered with its message id. */
export interface SentToQueue {
  readonly kind: 'sent';
  readonly transport: 'sqs';
  /** The SQS `MessageId`. */
  readonly messageId: string;
  /** The request as sent (checked, unknown fields refused). */
  readonly request: StopRequest;
}

/** The request is on the event bus: EventBridge answered with its event id. */
export interface SentToEventBus {
  readonly kind: 'sent';
  readonly transport: 'eventbridge';
  /** The EventBridge `EventId`. */
  readonly eventId: string;
  readonly request: StopRequest;
}

/** The request breaks the contract; it was not sent (the stack would refuse it). */
export interface InvalidStopRequest {
  readonly kind: 'invalid';
  readonly violations: readonly Violation[];
  /** The violations in one line: `TableName: must be at most 255 characters (max-length)`. */
  readonly message: string;
}

/** The request is valid but could not be sent, after the retries it was given. */
export interface FailedStopRequest {
  readonly kind: 'failed';
  readonly request: StopRequest;
  /**
   * The service's error code (`ThrottlingException`, `AccessDeniedException`, `QueueDoesNotExist`…), the
   * SDK's error name for a call that failed as a whole (`TimeoutError`…), or `NoResult` when the service's
   * answer did not mention the entry.
   */
  readonly code: string;
  readonly message: string;
  /** How many times this request was sent. */
  readonly attempts: number;
}

/** What became of one request. Results never throw: a failure is a value. */
export type StopResult = SentToQueue | SentToEventBus | InvalidStopRequest | FailedStopRequest;

/**
 * What the client uses of an AWS SDK v3 client: `send`. The SDK's `SQSClient` and `EventBridgeClient`
 * fit. Typed structurally so that a service installs only the SDK of the transport it uses.
 */
export interface AwsSdkClient {
  send(command: object): Promise<unknown>;
}

/** How entries a batch reports as failed are sent again. */
export interface RetryOptions {
  /** Times an entry is sent at most, the first included (default 4). */
  readonly maxAttempts?: number | undefined;
  /** Delay before the first resend; it doubles for each further one, with jitter (default 100 ms). */
  readonly baseDelayMs?: number | undefined;
}

interface CommonOptions {
  readonly retry?: RetryOptions | undefined;
}

/** Send requests as messages to the stack's stop queue (output `StopQueueUrl`). */
export interface QueueTransportOptions extends CommonOptions {
  readonly queueUrl: string;
  /** Your `SQSClient`; default: `new SQSClient({})` (region, credentials and endpoint from the environment). */
  readonly sqs?: AwsSdkClient | undefined;
  readonly eventBusName?: undefined;
}

/** Send requests as events to the event bus the stack's stop rule listens on. */
export interface EventBusTransportOptions extends CommonOptions {
  /** Name or ARN of the bus (the stack's `eventBusName`, `default` unless configured). */
  readonly eventBusName: string;
  /** Your `EventBridgeClient`; default: `new EventBridgeClient({})`. */
  readonly eventBridge?: AwsSdkClient | undefined;
  /**
   * The events' `source`. Default `glue-mv-stop`, the only source the stack's rule matches: change it
   * only for a rule of your own.
   */
  readonly source?: string | undefined;
  readonly queueUrl?: undefined;
}

export type StopClientOptions = QueueTransportOptions | EventBusTransportOptions;

export interface StopManyOptions {
  /** Called each time more requests have their final result; the last call has `done === total`. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface StopClient {
  /** Checks one request and sends it. Never throws for a bad request or a failed send: see `StopResult`. */
  stop(request: StopRequest): Promise<StopResult>;
  /**
   * Checks every request, sends the valid ones in batches (up to ten per call), sends again the entries a
   * batch reports as failed, and answers one result per request, in input order.
   */
  stopMany(requests: readonly StopRequest[], options?: StopManyOptions): Promise<StopResult[]>;
}

// Compile-time proof that these are the contract's own violations, not a look-alike that could drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameRules: Same<ViolationRule, parse.ViolationRule> = true;
const sameViolation: Same<Violation, parse.Violation> = true;
void [sameRules, sameViolation];
