/**
 * Which key makes two deliveries "the same request". Namespaced so that a producer's key can never
 * collide with an EventBridge event id or an SQS message id.
 */
export type DeliveryIdentity =
  | { readonly kind: 'sqs'; readonly messageId: string; readonly eventId?: string }
  | { readonly kind: 'eventbridge' | 'alarm' | 'schedule'; readonly eventId: string };

/**
 * The producer's own key when it gave one, else the EventBridge event id (the same event delivered
 * directly and through a queue is one request), else the SQS message id.
 * @example deriveIdempotencyKey('nightly-2026-11-29', { kind: 'sqs', messageId: 'm-1' }) // 'key:nightly-2026-11-29'
 */
export const deriveIdempotencyKey = (requestKey: string | undefined, delivery: DeliveryIdentity): string => {
  if (requestKey !== undefined) return `key:${requestKey}`;
  if (delivery.kind !== 'sqs') return `event:${delivery.eventId}`;
  return delivery.eventId !== undefined ? `event:${delivery.eventId}` : `message:${delivery.messageId}`;
};
