import {
  EventBridgeClient,
  type EventBridgeClientConfig,
  EventBridgeServiceException,
  InternalException,
  PutEventsCommand,
  type PutEventsRequestEntry,
  ThrottlingException,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type EventBridgeEmulator, startEventBridgeEmulator } from '../../local/eventbridge-emulator.ts';
import { testClientConfig } from './test-client.ts';

const SOURCE = 'glue-mv-stop';
const DETAIL_TYPE = 'Materialized view refresh stop outcome';

/** A real client with the SDK's standard retry logic (3 attempts) but 10 ms back-off, so tests stay fast. */
function eventBridgeClient(
  emulator: EventBridgeEmulator,
  extra: Partial<EventBridgeClientConfig> = {},
): EventBridgeClient {
  return new EventBridgeClient({ ...testClientConfig(emulator.url), ...extra });
}

const entry = (detail: unknown, overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  Source: SOURCE,
  DetailType: DETAIL_TYPE,
  Detail: JSON.stringify(detail),
  ...overrides,
});

/** Resolves to the rejection of `p` (fails the test if `p` resolves). */
async function rejectionOf(p: Promise<unknown>): Promise<Record<string, unknown> & Error> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown> & Error;
  }
  throw new Error('expected the call to fail');
}

describe('EventBridge emulator (driven by @aws-sdk/client-eventbridge)', () => {
  let bus: EventBridgeEmulator;
  let client: EventBridgeClient;

  beforeAll(async () => {
    bus = await startEventBridgeEmulator();
  });
  afterAll(async () => {
    client.destroy();
    await bus.close();
  });
  beforeEach(() => {
    bus.reset();
    client = eventBridgeClient(bus);
  });

  describe('PutEvents', () => {
    it('records accepted events in order with Detail parsed and answers an EventId for each', async () => {
      const time = new Date('2026-11-29T10:11:12.345Z');

      const out = await client.send(
        new PutEventsCommand({
          Entries: [
            entry({ table: 'a', nested: { n: 1 } }),
            entry(
              { table: 'b' },
              {
                EventBusName: 'arn:aws:events:us-east-1:123456789012:event-bus/ops',
                Resources: ['arn:aws:glue:us-east-1:123456789012:table/sales/b'],
                Time: time,
              },
            ),
          ],
        }),
      );

      expect(out.FailedEntryCount).toBe(0);
      expect(out.Entries?.map((e) => e.EventId)).toEqual(bus.events.map((e) => e.id));
      expect(bus.events).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          source: SOURCE,
          detailType: DETAIL_TYPE,
          detail: { table: 'a', nested: { n: 1 } },
          eventBusName: 'default',
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
          resources: [],
        },
        {
          id: expect.any(String),
          source: SOURCE,
          detailType: DETAIL_TYPE,
          detail: { table: 'b' },
          eventBusName: 'ops',
          time: '2026-11-29T10:11:12Z',
          resources: ['arn:aws:glue:us-east-1:123456789012:table/sales/b'],
        },
      ]);
      expect(bus.calls).toEqual([{ operation: 'PutEvents', entries: 2, status: 200 }]);
    });

    it('fails only the entry whose Detail is not a JSON object (MalformedDetail); the others are accepted', async () => {
      const out = await client.send(
        new PutEventsCommand({
          Entries: [
            entry({ n: 1 }),
            entry(null, { Detail: '{"unterminated": ' }),
            entry(null, { Detail: '[1, 2]' }),
            entry({ n: 4 }),
          ],
        }),
      );

      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(out.FailedEntryCount).toBe(2);
      expect(out.Entries).toEqual([
        { EventId: expect.any(String) },
        { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
        { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' },
        { EventId: expect.any(String) },
      ]);
      expect(bus.events.map((e) => e.detail)).toEqual([{ n: 1 }, { n: 4 }]);
    });

    it.each([
      ['Source', { Source: undefined }],
      ['DetailType', { DetailType: undefined }],
      ['Detail', { Detail: undefined }],
    ])('an entry without %s fails alone with InvalidArgument naming it', async (field, overrides) => {
      const out = await client.send(
        new PutEventsCommand({ Entries: [entry({ ok: true }), entry({}, overrides)] }),
      );

      expect(out.FailedEntryCount).toBe(1);
      expect(out.Entries?.[1]).toEqual({
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
      });
      expect(bus.events).toHaveLength(1);
    });

    it('11 entries: the whole request fails with ValidationException (400) and nothing is recorded', async () => {
      const entries = Array.from({ length: 11 }, (_, i) => entry({ i }));

      const err = await rejectionOf(client.send(new PutEventsCommand({ Entries: entries })));

      // ValidationException is not a modelled EventBridge error: it surfaces as the service base class.
      expect(err).toBeInstanceOf(EventBridgeServiceException);
      expect(err.name).toBe('ValidationException');
      expect(err.message).toContain('Member must have length less than or equal to 10');
      expect(err.$metadata).toMatchObject({ httpStatusCode: 400, attempts: 1 });
      expect(bus.events).toEqual([]);
      expect(bus.calls).toEqual([{ operation: 'PutEvents', entries: 11, status: 400 }]);
    });

    it('no entries: ValidationException', async () => {
      const err = await rejectionOf(client.send(new PutEventsCommand({ Entries: [] })));

      expect(err.name).toBe('ValidationException');
      expect(err.message).toContain('greater than or equal to 1');
    });

    it('counts entry size as EventBridge does: 256 KB in total is accepted, one byte more is rejected', async () => {
      const limit = 256 * 1024;
      // Time counts 14 bytes; Detail counts its UTF-8 bytes ('é' is two).
      const overhead = SOURCE.length + DETAIL_TYPE.length + 14 + '{"p":""}'.length;
      const fitting = entry({ p: `é${'x'.repeat(limit - overhead - 2)}` }, { Time: new Date() });
      const tooBig = entry({ p: `é${'x'.repeat(limit - overhead - 1)}` }, { Time: new Date() });

      const ok = await client.send(new PutEventsCommand({ Entries: [fitting] }));
      const err = await rejectionOf(client.send(new PutEventsCommand({ Entries: [tooBig] })));

      expect(ok.FailedEntryCount).toBe(0);
      expect(err.name).toBe('ValidationException');
      expect(err.message).toBe('Total size of the entries in the request is over the limit.');
      expect(bus.events).toHaveLength(1);
    });

    it('reaches the SDK through AWS_ENDPOINT_URL_EVENTBRIDGE with no endpoint in code', async () => {
      const saved = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
      process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.url;
      try {
        const fromEnv = new EventBridgeClient({
          region: 'us-east-1',
          credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        });
        await fromEnv.send(new PutEventsCommand({ Entries: [entry({ via: 'env' })] }));
        fromEnv.destroy();
      } finally {
        if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
        else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = saved;
      }

      expect(bus.events.map((e) => e.detail)).toEqual([{ via: 'env' }]);
    });
  });

  describe('faults', () => {
    it('throttle once: the SDK retries it and the event is recorded once', async () => {
      bus.injectFault({ kind: 'throttle' });

      const out = await client.send(new PutEventsCommand({ Entries: [entry({ n: 1 })] }));

      expect(out.$metadata.attempts).toBe(2);
      expect(bus.calls.map((c) => c.status)).toEqual([400, 200]);
      expect(bus.events).toHaveLength(1);
    });

    it('persistent throttle: ThrottlingException after the SDK gives up', async () => {
      bus.injectFault({ kind: 'throttle', times: Number.POSITIVE_INFINITY });

      const err = await rejectionOf(client.send(new PutEventsCommand({ Entries: [entry({ n: 1 })] })));

      expect(err).toBeInstanceOf(ThrottlingException);
      expect(err.$metadata).toMatchObject({ httpStatusCode: 400, attempts: 3 });
      expect(bus.events).toEqual([]);
    });

    it('internal-error: InternalException (500), retried by the SDK', async () => {
      bus.injectFault({ kind: 'internal-error', times: 3 });

      const err = await rejectionOf(client.send(new PutEventsCommand({ Entries: [entry({ n: 1 })] })));

      expect(err).toBeInstanceOf(InternalException);
      expect(bus.calls.map((c) => c.status)).toEqual([500, 500, 500]);
    });

    it('entry-failure: 200 with every entry failed (InternalFailure); the SDK does not retry', async () => {
      bus.injectFault({ kind: 'entry-failure' });

      const out = await client.send(new PutEventsCommand({ Entries: [entry({ n: 1 }), entry({ n: 2 })] }));

      expect(out.$metadata).toMatchObject({ httpStatusCode: 200, attempts: 1 });
      expect(out.FailedEntryCount).toBe(2);
      expect(out.Entries).toEqual([
        { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal failure.' },
        { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal failure.' },
      ]);
      expect(bus.events).toEqual([]);
    });

    it('connection-reset once: retried (ECONNRESET is transient); when persistent it surfaces with no status', async () => {
      bus.injectFault({ kind: 'connection-reset' });
      const recovered = await client.send(new PutEventsCommand({ Entries: [entry({ n: 1 })] }));

      bus.injectFault({ kind: 'connection-reset', times: 3 });
      const err = await rejectionOf(client.send(new PutEventsCommand({ Entries: [entry({ n: 2 })] })));

      expect(recovered.$metadata.attempts).toBe(2);
      expect(err.code).toBe('ECONNRESET');
      expect((err.$metadata as { httpStatusCode?: number }).httpStatusCode).toBeUndefined();
      expect(bus.calls.map((c) => c.status)).toEqual([0, 200, 0, 0, 0]);
      expect(bus.events.map((e) => e.detail)).toEqual([{ n: 1 }]);
    });

    it('faults are used in the order injected; reset() clears pending faults, calls and events', async () => {
      bus.injectFault({ kind: 'throttle' });
      bus.injectFault({ kind: 'internal-error' });
      await client.send(new PutEventsCommand({ Entries: [entry({ n: 1 })] }));
      expect(bus.calls.map((c) => c.status)).toEqual([400, 500, 200]);

      bus.injectFault({ kind: 'throttle', times: 5 });
      bus.reset();
      await client.send(new PutEventsCommand({ Entries: [entry({ n: 2 })] }));

      expect(bus.calls).toEqual([{ operation: 'PutEvents', entries: 1, status: 200 }]);
      expect(bus.events.map((e) => e.detail)).toEqual([{ n: 2 }]);
    });
  });

  describe('wire', () => {
    it('an unknown operation gets UnknownOperationException with __type and x-amzn-errortype', async () => {
      const res = await fetch(bus.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSEvents.PutRule' },
        body: '{}',
      });

      expect(res.status).toBe(400);
      expect(res.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
      expect(await res.json()).toMatchObject({ __type: 'UnknownOperationException' });
    });

    it('latencyMs delays every answer; close() is idempotent and ends open connections', async () => {
      const slow = await startEventBridgeEmulator({ latencyMs: 150 });
      const slowClient = eventBridgeClient(slow);
      const started = performance.now();

      await slowClient.send(new PutEventsCommand({ Entries: [entry({ n: 1 })] }));

      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      slowClient.destroy();
      await slow.close();
      await slow.close();
    });
  });
});
