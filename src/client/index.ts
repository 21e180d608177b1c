/**
 * `@glue-mv-stop/client`: publishes stop requests to a glue-mv-stop stack, by SQS or EventBridge, after
 * checking them with the stack's own contract.
 *
 * Code in this repository imports it from here; services install the package built from it
 * (`packages/client`).
 */

export { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../request/events.ts';
export type { ScopeStopRequest, StopRequest, TableStopRequest } from '../request/types.ts';
export { createStopClient } from './stop-client.ts';
export type {
  AwsSdkClient,
  EventBusTransportOptions,
  FailedStopRequest,
  InvalidStopRequest,
  QueueTransportOptions,
  RetryOptions,
  SentToEventBus,
  SentToQueue,
  StopClient,
  StopClientOptions,
  StopManyOptions,
  StopResult,
  StopValidation,
  Violation,
  ViolationRule,
} from './types.ts';
export { validateStopRequest } from './validate.ts';
