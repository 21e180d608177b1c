import { describe, expect, it } from 'vitest';
import { toRecordedStop } from '../../src/stop/outcome.ts';

const DECIDED_AT = '2026-11-29T02:00:07.000Z';

describe('toRecordedStop: a result read back from the idempotency store', () => {
  it('keeps a well-formed result with its optional fields', () => {
    const stored = {
      result: 'expanded',
      decidedAt: DECIDED_AT,
      runId: 'r',
      runStartedAt: DECIDED_AT,
      queued: 2,
      detail: 'd',
    };

    expect(toRecordedStop(stored)).toStrictEqual(stored);
    expect(toRecordedStop({ result: 'not-running', decidedAt: DECIDED_AT })).toStrictEqual({
      result: 'not-running',
      decidedAt: DECIDED_AT,
    });
  });

  it.each([
    ['null', null],
    ['a string', 'stop-requested'],
    ['an unknown result', { result: 'stopped', decidedAt: DECIDED_AT }],
    ['no decidedAt', { result: 'stop-requested' }],
    ['a numeric decidedAt', { result: 'stop-requested', decidedAt: 1 }],
    ['a numeric runId', { result: 'stop-requested', decidedAt: DECIDED_AT, runId: 1 }],
    ['a numeric runStartedAt', { result: 'stop-requested', decidedAt: DECIDED_AT, runStartedAt: 1 }],
    ['a numeric detail', { result: 'stop-requested', decidedAt: DECIDED_AT, detail: 1 }],
    ['a textual queued', { result: 'expanded', decidedAt: DECIDED_AT, queued: '2' }],
  ])('distrusts %s', (_what, stored) => {
    expect(toRecordedStop(stored)).toBeUndefined();
  });
});
