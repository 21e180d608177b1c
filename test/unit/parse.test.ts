import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../../src/request/events.ts';
import { looksLikeEventBridgeEvent, parseStopEvent, parseStopMessageBody } from '../../src/request/parse.ts';
import { eventBridgeEnvelope, invocationRecord, stopRequest } from './support/records.ts';

const RUNS = { numRuns: 1000 };

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('parseStopMessageBody: the SQS body', () => {
  it('refuses a body that is not JSON with one json violation on (body)', () => {
    const result = parseStopMessageBody('stop sales.daily_mv please');

    expect(result).toEqual({
      ok: false,
      violations: [{ field: '(body)', rule: 'json', message: 'is not valid JSON' }],
    });
  });

  it('refuses any text that JSON.parse rejects with rule json and nothing else', () => {
    const notJson = fc
      .oneof(
        fc.string(),
        fc.json().map((json) => `${json}}`),
        fc.constantFrom('', ' ', '{', "{'a':1}", 'NaN'),
      )
      .filter((text) => !isJson(text));

    fc.assert(
      fc.property(notJson, (body) => {
        const result = parseStopMessageBody(body);

        expect(result).toEqual({
          ok: false,
          violations: [{ field: '(body)', rule: 'json', message: 'is not valid JSON' }],
        });
      }),
      RUNS,
    );
  });

  it('reads a plain request body, with no eventId', () => {
    const body = JSON.stringify(stopRequest({ RequestedBy: 'ops-runbook' }));

    const result = parseStopMessageBody(body);

    expect(result).toStrictEqual({ ok: true, request: stopRequest({ RequestedBy: 'ops-runbook' }) });
  });

  it('reads an EventBridge envelope body: the request is its detail, and the eventId is carried', () => {
    const body = JSON.stringify(eventBridgeEnvelope(stopRequest(), { id: 'event-ok-1' }));

    const result = parseStopMessageBody(body);

    expect(result).toStrictEqual({ ok: true, request: stopRequest(), eventId: 'event-ok-1' });
  });

  it('carries the eventId on a refused envelope too', () => {
    const body = JSON.stringify(eventBridgeEnvelope({ DatabaseName: 'sales' }, { id: 'event-refused-1' }));

    const result = parseStopMessageBody(body);

    expect(result).toEqual({
      ok: false,
      eventId: 'event-refused-1',
      violations: [{ field: 'detail.TableName', rule: 'required', message: 'is required' }],
    });
  });

  it('refuses an envelope from another source with a value violation on source', () => {
    const body = JSON.stringify(eventBridgeEnvelope(stopRequest(), { source: 'aws.glue' }));

    const result = parseStopMessageBody(body);

    expect(result).toMatchObject({
      ok: false,
      violations: [{ field: 'source', rule: 'value', message: `must be "${STOP_EVENT_SOURCE}"` }],
    });
  });

  it('refuses an envelope of another detail-type with a value violation on detail-type', () => {
    const body = JSON.stringify(
      eventBridgeEnvelope(stopRequest(), { 'detail-type': 'Glue Job State Change' }),
    );

    const result = parseStopMessageBody(body);

    expect(result).toMatchObject({
      ok: false,
      violations: [{ field: 'detail-type', rule: 'value', message: `must be "${STOP_EVENT_DETAIL_TYPE}"` }],
    });
  });

  it('reports envelope and detail violations together, the detail ones prefixed with detail.', () => {
    const body = JSON.stringify(
      eventBridgeEnvelope(
        { DatabaseName: '', Tablename: 'daily_mv' },
        { id: 'event-both', source: 'someone-else', 'detail-type': 'Something Else' },
      ),
    );

    const result = parseStopMessageBody(body);

    expect(result.ok).toBe(false);
    expect(result.eventId).toBe('event-both');
    expect(result.ok ? [] : result.violations.map((v) => `${v.field} ${v.rule}`)).toEqual([
      'source value',
      'detail-type value',
      'detail.DatabaseName min-length',
      'detail.TableName required',
      'detail.Tablename unknown-field',
    ]);
  });

  it('refuses an envelope whose detail is not an object with a type violation on detail', () => {
    const body = JSON.stringify(eventBridgeEnvelope('sales.daily_mv'));

    const result = parseStopMessageBody(body);

    expect(result).toMatchObject({
      ok: false,
      violations: [{ field: 'detail', rule: 'type', message: 'must be a JSON object' }],
    });
  });

  it('refuses an envelope without a detail with a required violation on detail', () => {
    const { detail: _detail, ...withoutDetail } = eventBridgeEnvelope(stopRequest());

    const result = parseStopMessageBody(JSON.stringify(withoutDetail));

    expect(result).toMatchObject({ ok: false, violations: [{ field: 'detail', rule: 'required' }] });
  });

  it('refuses an envelope without an id, and then has no eventId to carry', () => {
    const { id: _id, ...withoutId } = eventBridgeEnvelope(stopRequest());

    const result = parseStopMessageBody(JSON.stringify(withoutId));

    expect(result).toEqual({
      ok: false,
      violations: [{ field: 'id', rule: 'required', message: 'is required' }],
    });
  });

  it('treats any object with a detail-type key as an envelope and carries its id, valid or not', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.oneof(fc.constant(STOP_EVENT_SOURCE), fc.string()),
        fc.oneof(fc.constant(STOP_EVENT_DETAIL_TYPE), fc.string()),
        fc.oneof(fc.constant<unknown>(stopRequest()), fc.jsonValue()),
        (id, source, detailType, detail) => {
          const body = JSON.stringify(eventBridgeEnvelope(detail, { id, source, 'detail-type': detailType }));

          const result = parseStopMessageBody(body);

          const fields = result.ok ? [] : result.violations.map((v) => v.field);
          expect(result.eventId).toBe(id);
          expect(fields.includes('source')).toBe(source !== STOP_EVENT_SOURCE);
          expect(fields.includes('detail-type')).toBe(detailType !== STOP_EVENT_DETAIL_TYPE);
          expect(fields.filter((field) => !/^(source|detail-type|detail)(\.|$)/.test(field))).toEqual([]);
        },
      ),
      RUNS,
    );
  });
});

describe('parseStopMessageBody: a Lambda on-failure record redriven from the dead-letter queue', () => {
  it('reads the request from the detail of the event in requestPayload, carrying its event id', () => {
    const body = JSON.stringify(
      invocationRecord(eventBridgeEnvelope(stopRequest(), { id: 'event-failed-1' })),
    );

    const result = parseStopMessageBody(body);

    expect(result).toStrictEqual({ ok: true, request: stopRequest(), eventId: 'event-failed-1' });
  });

  it('names violations inside the record with the requestPayload. prefix, and still carries the event id', () => {
    const event = eventBridgeEnvelope(
      { DatabaseName: 'sales', Extra: 1 },
      { id: 'event-failed-2', source: 'x' },
    );

    const result = parseStopMessageBody(JSON.stringify(invocationRecord(event)));

    expect(result.eventId).toBe('event-failed-2');
    expect(result.ok ? [] : result.violations.map((v) => `${v.field} ${v.rule}`)).toEqual([
      'requestPayload.source value',
      'requestPayload.detail.TableName required',
      'requestPayload.detail.Extra unknown-field',
    ]);
  });

  it('refuses a record whose requestPayload is not an event object with a type violation on requestPayload', () => {
    const result = parseStopMessageBody(JSON.stringify(invocationRecord('not an event')));

    expect(result).toEqual({
      ok: false,
      violations: [{ field: 'requestPayload', rule: 'type', message: 'must be a JSON object' }],
    });
  });
});

describe('parseStopEvent: the event the EventBridge rule delivers', () => {
  it('gives the same result as the same event arriving as an SQS body', () => {
    const event = eventBridgeEnvelope({
      DatabaseName: 'sales',
      TableName: 'daily_mv',
      Reason: 'maintenance',
    });

    const direct = parseStopEvent(event);
    const queued = parseStopMessageBody(JSON.stringify(event));

    expect(direct).toStrictEqual(queued);
    expect(direct).toStrictEqual({
      ok: true,
      request: { DatabaseName: 'sales', TableName: 'daily_mv', Reason: 'maintenance' },
      eventId: event.id,
    });
  });

  it('refuses an event that is not an object with a type violation on (body)', () => {
    const result = parseStopEvent(null);

    expect(result).toEqual({
      ok: false,
      violations: [{ field: '(body)', rule: 'type', message: 'must be a JSON object' }],
    });
  });
});

describe('looksLikeEventBridgeEvent', () => {
  it('recognises an event by its detail-type key, and nothing else', () => {
    expect(looksLikeEventBridgeEvent({ 'detail-type': 'x' })).toBe(true);
    expect(looksLikeEventBridgeEvent(stopRequest())).toBe(false);
    expect(looksLikeEventBridgeEvent([{ 'detail-type': 'x' }])).toBe(false);
    expect(looksLikeEventBridgeEvent(null)).toBe(false);
    expect(looksLikeEventBridgeEvent('detail-type')).toBe(false);
  });
});
