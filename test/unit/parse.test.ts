import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { SCHEDULER_CONTEXT, schedulePayloadTemplate } from '../../src/policy/schedule-payload.ts';
import { type CostGuard, parseStackConfig } from '../../src/policy/stack-config.ts';
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from '../../src/request/events.ts';
import { MAX_NESTING } from '../../src/request/json-text.ts';
import {
  looksLikeEventBridgeEvent,
  nestingViolation,
  parseStopEvent,
  parseStopMessageBody,
  violationsOf,
} from '../../src/request/parse.ts';
import { interpretQueueMessage } from '../../src/triggers/queue-message.ts';
import {
  alarmStateChange,
  eventBridgeEnvelope,
  invocationRecord,
  scopeRequest,
  stopRequest,
} from './support/records.ts';

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
      kind: 'invalid',
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
          kind: 'invalid',
          violations: [{ field: '(body)', rule: 'json', message: 'is not valid JSON' }],
        });
      }),
      RUNS,
    );
  });

  it('reads a plain request body, with no eventId', () => {
    const body = JSON.stringify(stopRequest({ RequestedBy: 'ops-runbook' }));

    const result = parseStopMessageBody(body);

    expect(result).toStrictEqual({ kind: 'valid', request: stopRequest({ RequestedBy: 'ops-runbook' }) });
  });

  it('reads an EventBridge envelope body: the request is its detail, and the eventId is carried', () => {
    const body = JSON.stringify(eventBridgeEnvelope(stopRequest(), { id: 'event-ok-1' }));

    const result = parseStopMessageBody(body);

    expect(result).toStrictEqual({ kind: 'valid', request: stopRequest(), eventId: 'event-ok-1' });
  });

  it('carries the eventId on a refused envelope too', () => {
    const body = JSON.stringify(eventBridgeEnvelope({ DatabaseName: 'sales' }, { id: 'event-refused-1' }));

    const result = parseStopMessageBody(body);

    expect(result).toEqual({
      kind: 'invalid',
      eventId: 'event-refused-1',
      violations: [
        { field: 'detail.TableName', rule: 'required', message: 'is required (or TableNames, for a scope)' },
      ],
    });
  });

  it('refuses an envelope from another source with a value violation on source', () => {
    const body = JSON.stringify(eventBridgeEnvelope(stopRequest(), { source: 'aws.glue' }));

    const result = parseStopMessageBody(body);

    expect(result).toMatchObject({
      kind: 'invalid',
      violations: [{ field: 'source', rule: 'value', message: `must be "${STOP_EVENT_SOURCE}"` }],
    });
  });

  it('refuses an envelope of another detail-type with a value violation on detail-type', () => {
    const body = JSON.stringify(
      eventBridgeEnvelope(stopRequest(), { 'detail-type': 'Glue Job State Change' }),
    );

    const result = parseStopMessageBody(body);

    expect(result).toMatchObject({
      kind: 'invalid',
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

    expect(result.kind).toBe('invalid');
    expect(result.eventId).toBe('event-both');
    expect(result.kind === 'valid' ? [] : result.violations.map((v) => `${v.field} ${v.rule}`)).toEqual([
      'source value',
      'detail-type value',
      'detail.TableName required',
      'detail.DatabaseName min-length',
      'detail.Tablename unknown-field',
    ]);
  });

  it('refuses an envelope whose detail is not an object with a type violation on detail', () => {
    const body = JSON.stringify(eventBridgeEnvelope('sales.daily_mv'));

    const result = parseStopMessageBody(body);

    expect(result).toMatchObject({
      kind: 'invalid',
      violations: [{ field: 'detail', rule: 'type', message: 'must be a JSON object' }],
    });
  });

  it('refuses an envelope without a detail with a required violation on detail', () => {
    const { detail: _detail, ...withoutDetail } = eventBridgeEnvelope(stopRequest());

    const result = parseStopMessageBody(JSON.stringify(withoutDetail));

    expect(result).toMatchObject({ kind: 'invalid', violations: [{ field: 'detail', rule: 'required' }] });
  });

  it('refuses an envelope without an id, and then has no eventId to carry', () => {
    const { id: _id, ...withoutId } = eventBridgeEnvelope(stopRequest());

    const result = parseStopMessageBody(JSON.stringify(withoutId));

    expect(result).toEqual({
      kind: 'invalid',
      violations: [{ field: 'id', rule: 'required', message: 'is required' }],
    });
  });

  it('accepts an event id of 255 characters and refuses 256: the id becomes part of derived keys', () => {
    const accepted = parseStopMessageBody(
      JSON.stringify(eventBridgeEnvelope(stopRequest(), { id: 'e'.repeat(255) })),
    );
    const refused = parseStopMessageBody(
      JSON.stringify(eventBridgeEnvelope(stopRequest(), { id: 'e'.repeat(256) })),
    );

    expect(accepted.kind).toBe('valid');
    expect(refused.kind === 'valid' ? [] : refused.violations.map((v) => `${v.field} ${v.rule}`)).toEqual([
      'id max-length',
    ]);
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

          const fields = result.kind === 'valid' ? [] : result.violations.map((v) => v.field);
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
      kind: 'valid',
      request: { DatabaseName: 'sales', TableName: 'daily_mv', Reason: 'maintenance' },
      eventId: event.id,
    });
  });

  it('reads a scope request from the detail, carrying the event id', () => {
    const event = eventBridgeEnvelope(scopeRequest({ TableNames: ['daily_*'], DryRun: true }), {
      id: 'event-scope-1',
    });

    const result = parseStopEvent(event);

    expect(result).toStrictEqual({
      kind: 'valid',
      request: { DatabaseName: 'sales', TableNames: ['daily_*'], DryRun: true },
      eventId: 'event-scope-1',
    });
  });

  it('refuses an event that is not an object with a type violation on (body)', () => {
    const result = parseStopEvent(null);

    expect(result).toEqual({
      kind: 'invalid',
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

const GUARDS: readonly CostGuard[] = [
  { alarmName: 'glue-dpu-spend-too-high', scope: { database: 'sales', tables: ['daily_*'] } },
];

const read = (value: unknown) => interpretQueueMessage(JSON.stringify(value), GUARDS);

describe('interpretQueueMessage: what producers send', () => {
  it('reads a plain table request', () => {
    expect(read(stopRequest())).toStrictEqual({
      kind: 'request',
      parsed: { kind: 'valid', request: stopRequest() },
    });
  });

  it('reads a plain scope request', () => {
    const request = scopeRequest({ TableNames: ['daily_*'] });

    expect(read(request)).toStrictEqual({ kind: 'request', parsed: { kind: 'valid', request } });
  });

  it('reads a stop event delivered by an EventBridge rule, carrying its id', () => {
    const result = read(eventBridgeEnvelope(stopRequest(), { id: 'event-ok-1' }));

    expect(result).toStrictEqual({
      kind: 'request',
      parsed: { kind: 'valid', request: stopRequest(), eventId: 'event-ok-1' },
    });
  });

  it('refuses text that is not JSON with a json violation', () => {
    expect(interpretQueueMessage('stop it', GUARDS)).toStrictEqual({
      kind: 'request',
      parsed: {
        kind: 'invalid',
        violations: [{ field: '(body)', rule: 'json', message: 'is not valid JSON' }],
      },
    });
  });
});

describe('interpretQueueMessage: what the dead-letter queue holds, redriven', () => {
  it('reads a Lambda on-failure record: the request is the detail of the event in requestPayload', () => {
    const record = invocationRecord(eventBridgeEnvelope(stopRequest(), { id: 'event-failed-1' }));

    expect(read(record)).toStrictEqual({
      kind: 'request',
      parsed: { kind: 'valid', request: stopRequest(), eventId: 'event-failed-1' },
    });
  });

  it('names violations inside an on-failure record with the requestPayload. prefix, carrying the event id', () => {
    const record = invocationRecord(
      eventBridgeEnvelope({ DatabaseName: 'sales', Extra: 1 }, { id: 'event-failed-2', source: 'x' }),
    );

    const result = read(record);

    expect(result.kind === 'request' && result.parsed.eventId).toBe('event-failed-2');
    expect(
      result.kind === 'request' && result.parsed.kind === 'invalid'
        ? result.parsed.violations.map((v) => `${v.field} ${v.rule}`)
        : [],
    ).toEqual([
      'requestPayload.source value',
      'requestPayload.detail.TableName required',
      'requestPayload.detail.Extra unknown-field',
    ]);
  });

  it('refuses an on-failure record whose requestPayload is not an object, with a type violation on requestPayload', () => {
    expect(read(invocationRecord('not an event'))).toStrictEqual({
      kind: 'request',
      parsed: {
        kind: 'invalid',
        violations: [{ field: 'requestPayload', rule: 'type', message: 'must be a JSON object' }],
      },
    });
  });

  it('turns a redriven alarm that calls for a stop into the guard’s scope request, keyed on the alarm event', () => {
    const result = read(alarmStateChange({ id: 'alarm-event-1' }));

    expect(result).toMatchObject({
      kind: 'request',
      parsed: {
        kind: 'valid',
        eventId: 'alarm-event-1',
        request: { DatabaseName: 'sales', TableNames: ['daily_*'] },
      },
    });
  });

  it('reads an alarm inside an on-failure record of the alarm function', () => {
    const result = read(invocationRecord(alarmStateChange({ id: 'alarm-event-2' })));

    expect(result).toMatchObject({ kind: 'request', parsed: { kind: 'valid', eventId: 'alarm-event-2' } });
  });

  it('says a redriven alarm that calls for no stop is ignored, and why', () => {
    const result = read(alarmStateChange({ alarmName: 'unguarded-alarm' }));

    expect(result).toStrictEqual({
      kind: 'alarm-ignored',
      alarmName: 'unguarded-alarm',
      why: 'no cost guard is configured for this alarm',
    });
  });

  it('refuses a malformed alarm event with violations naming its fields', () => {
    const result = read({ ...alarmStateChange(), detail: { state: { value: 'ALARM' } } });

    expect(result).toMatchObject({
      kind: 'request',
      parsed: { kind: 'invalid', violations: [{ field: 'detail.alarmName', rule: 'required' }] },
    });
  });

  it('turns a redriven maintenance-window payload into the window’s scope request, keyed on the occurrence', () => {
    const [window] = parseStackConfig({
      allow: [{ database: 'sales' }],
      maintenanceWindows: [{ name: 'nightly', schedule: 'cron(0 2 * * ? *)', scope: { database: 'sales' } }],
    }).maintenanceWindows;
    if (!window) throw new Error('fixture has no window');
    const payload = schedulePayloadTemplate(window)
      .replace(SCHEDULER_CONTEXT.scheduledTime, '2026-11-29T02:00:00Z')
      .replace(SCHEDULER_CONTEXT.executionId, 'exec-1')
      .replace(
        SCHEDULER_CONTEXT.scheduleArn,
        'arn:aws:scheduler:us-east-1:123456789012:schedule/default/nightly',
      )
      .replace(SCHEDULER_CONTEXT.attemptNumber, '1');

    const result = interpretQueueMessage(payload, GUARDS);

    expect(result).toMatchObject({
      kind: 'request',
      parsed: {
        kind: 'valid',
        eventId: 'exec-1',
        request: {
          DatabaseName: 'sales',
          TableNames: ['*'],
          IdempotencyKey: 'schedule:nightly@2026-11-29T02:00:00Z',
        },
      },
    });
  });

  it('refuses a maintenance-window payload that is missing fields', () => {
    const result = read({ window: 'nightly', scheduledTime: '2026-11-29T02:00:00Z' });

    expect(result.kind === 'request' && result.parsed.kind === 'valid').toBe(false);
  });
});

describe('parseStopMessageBody: bodies that nest too deep', () => {
  /** A stop request whose Reason nests `levels` arrays, so the body nests one level more. */
  const bodyNesting = (levels: number) =>
    `{"DatabaseName":"sales","TableName":"daily_mv","Reason":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;

  it('refuses a body nested deeper than MAX_NESTING with one depth violation, before parsing it', () => {
    const parsed = parseStopMessageBody(bodyNesting(MAX_NESTING + 1));

    expect(parsed).toStrictEqual({
      kind: 'invalid',
      violations: [
        {
          field: '(body)',
          rule: 'depth',
          message: `nests arrays or objects deeper than ${MAX_NESTING} levels`,
        },
      ],
    });
  });

  it('reads a body nested exactly MAX_NESTING deep, and judges its fields', () => {
    const parsed = parseStopMessageBody(bodyNesting(MAX_NESTING));

    expect(parsed.kind === 'valid' ? [] : parsed.violations.map((v) => `${v.field} ${v.rule}`)).toEqual([
      'Reason type',
    ]);
  });

  it('names the field it is given, the whole body by default', () => {
    expect(nestingViolation('detail')).toMatchObject({ field: 'detail', rule: 'depth' });
    expect(nestingViolation()).toMatchObject({ field: '(body)', rule: 'depth' });
  });
});

describe('violationsOf: zod issues as violations', () => {
  it('gives rule value to a custom check that declares no rule', () => {
    const input = { name: 'x' };
    const schema = z.strictObject({ name: z.string().check(z.refine(() => false, 'is taken')) });
    const result = z.safeParse(schema, input);
    if (result.success) throw new Error('expected a refusal');

    expect(violationsOf(result.error, input, '')).toEqual([
      { field: 'name', rule: 'value', message: 'is taken' },
    ]);
  });

  it('words the types it knows, and names any other as "a <type>"', () => {
    const input = { when: 1, count: 'two' };
    const result = z.safeParse(z.strictObject({ when: z.date(), count: z.number() }), input);
    if (result.success) throw new Error('expected a refusal');

    expect(violationsOf(result.error, input, 'detail')).toEqual([
      { field: 'detail.when', rule: 'type', message: 'must be a date' },
      { field: 'detail.count', rule: 'type', message: 'must be a number' },
    ]);
  });
});
