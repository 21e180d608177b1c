import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DeliveryIdentity, deriveIdempotencyKey } from '../../src/stop/idempotency-key.ts';

describe('deriveIdempotencyKey', () => {
  it("uses the producer's key first, over the event id and the message id", () => {
    const delivery: DeliveryIdentity = { kind: 'sqs', messageId: 'm-1', eventId: 'e-1' };

    const key = deriveIdempotencyKey('nightly-2026-11-29', delivery);

    expect(key).toBe('key:nightly-2026-11-29');
  });

  it('uses the EventBridge event id when the producer gave no key, on either trigger', () => {
    const direct = deriveIdempotencyKey(undefined, { kind: 'eventbridge', eventId: 'e-1' });
    const queued = deriveIdempotencyKey(undefined, { kind: 'sqs', messageId: 'm-1', eventId: 'e-1' });

    expect(direct).toBe('event:e-1');
    expect(queued).toBe(direct);
  });

  it('falls back to the SQS message id when there is neither a key nor an event id', () => {
    const key = deriveIdempotencyKey(undefined, { kind: 'sqs', messageId: 'm-1' });

    expect(key).toBe('message:m-1');
  });

  it('keeps a producer key equal to a message id or an event id apart from them', () => {
    const producerKey = deriveIdempotencyKey('m-1', { kind: 'sqs', messageId: 'other' });
    const messageKey = deriveIdempotencyKey(undefined, { kind: 'sqs', messageId: 'm-1' });
    const eventKey = deriveIdempotencyKey(undefined, { kind: 'eventbridge', eventId: 'm-1' });

    expect(new Set([producerKey, messageKey, eventKey]).size).toBe(3);
  });

  it('keeps a producer key that mimics another namespace apart from it', () => {
    const mimic = deriveIdempotencyKey('event:e-1', { kind: 'sqs', messageId: 'm-2' });
    const real = deriveIdempotencyKey(undefined, { kind: 'eventbridge', eventId: 'e-1' });

    expect(mimic).not.toBe(real);
  });

  it('gives distinct keys to distinct identities, across all three namespaces', () => {
    // What identifies a request once precedence is applied: the namespace and the value it is keyed on.
    type Identity = { readonly namespace: 'key' | 'event' | 'message'; readonly value: string };
    const identity: fc.Arbitrary<Identity> = fc.record({
      namespace: fc.constantFrom('key', 'event', 'message'),
      value: fc.oneof(fc.string(), fc.constantFrom('key:x', 'event:x', 'message:x', 'x', ':', '')),
    });
    const deliver = ({ namespace, value }: Identity): string => {
      if (namespace === 'key') return deriveIdempotencyKey(value, { kind: 'sqs', messageId: 'unused' });
      if (namespace === 'event')
        return deriveIdempotencyKey(undefined, { kind: 'eventbridge', eventId: value });
      return deriveIdempotencyKey(undefined, { kind: 'sqs', messageId: value });
    };

    fc.assert(
      fc.property(identity, identity, (a, b) => {
        fc.pre(a.namespace !== b.namespace || a.value !== b.value);

        expect(deliver(a)).not.toBe(deliver(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same key to the same identity, whatever else the delivery carries', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (requestKey, messageId, eventId) => {
        const viaQueue = deriveIdempotencyKey(requestKey, { kind: 'sqs', messageId, eventId });
        const viaEvent = deriveIdempotencyKey(requestKey, { kind: 'eventbridge', eventId });

        expect(viaQueue).toBe(`key:${requestKey}`);
        expect(viaEvent).toBe(viaQueue);
      }),
      { numRuns: 1000 },
    );
  });
});
