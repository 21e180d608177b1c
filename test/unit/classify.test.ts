import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyGlueFailure, type StopFailureClass } from '../../src/stop/classify.ts';
import { glueFailure } from './support/records.ts';

const PERMANENT_CODES = ['InvalidInputException', 'AccessDeniedException', 'EntityNotFoundException'];
const KNOWN_CODES = [
  'MaterializedViewRefreshTaskStoppingException',
  'MaterializedViewRefreshTaskNotRunningException',
  ...PERMANENT_CODES,
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'OperationTimeoutException',
  'InternalServiceException',
  'ServiceUnavailableException',
];

/** Codes that are plain strings to Glue but also names every object inherits. */
const OBJECT_PROTOTYPE_NAMES = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__'];

const TERMINAL_OUTCOMES = ['already-stopping', 'not-running'];
const REJECTION_REASONS = ['glue-invalid-input', 'glue-access-denied', 'table-not-found'];
const RETRY_REASONS = [
  'glue-throttled',
  'glue-operation-timeout',
  'glue-server-error',
  'glue-unexpected-error',
  'network-error',
];

/** True when the value is exactly one class: one kind, with the one field that kind carries, set to a known value. */
const isExactlyOneClass = (verdict: StopFailureClass): boolean => {
  if (typeof verdict !== 'object' || verdict === null) return false;
  const keys = Object.keys(verdict).sort().join(',');
  switch (verdict.kind) {
    case 'terminal':
      return keys === 'kind,outcome' && TERMINAL_OUTCOMES.includes(verdict.outcome);
    case 'rejected':
      return keys === 'kind,reason' && REJECTION_REASONS.includes(verdict.reason);
    case 'retry':
      return keys === 'kind,reason' && RETRY_REASONS.includes(verdict.reason);
    default:
      return false;
  }
};

describe('classifyGlueFailure', () => {
  it.each([
    ['MaterializedViewRefreshTaskStoppingException', 400, { kind: 'terminal', outcome: 'already-stopping' }],
    ['MaterializedViewRefreshTaskNotRunningException', 400, { kind: 'terminal', outcome: 'not-running' }],
    ['InvalidInputException', 400, { kind: 'rejected', reason: 'glue-invalid-input' }],
    ['AccessDeniedException', 400, { kind: 'rejected', reason: 'glue-access-denied' }],
    ['EntityNotFoundException', 400, { kind: 'rejected', reason: 'table-not-found' }],
    ['ThrottlingException', 400, { kind: 'retry', reason: 'glue-throttled' }],
    ['TooManyRequestsException', 429, { kind: 'retry', reason: 'glue-throttled' }],
    ['RequestLimitExceeded', 400, { kind: 'retry', reason: 'glue-throttled' }],
    ['OperationTimeoutException', 400, { kind: 'retry', reason: 'glue-operation-timeout' }],
    ['InternalServiceException', 500, { kind: 'retry', reason: 'glue-server-error' }],
    ['ServiceUnavailableException', 503, { kind: 'retry', reason: 'glue-server-error' }],
  ] as const)('classifies %s (HTTP %i) as %o', (code, status, expected) => {
    const failure = glueFailure(code, status);

    const verdict = classifyGlueFailure(failure);

    expect(verdict).toEqual(expected);
  });

  it('classifies a known code by its code whatever the status, even with no HTTP answer', () => {
    const verdict = classifyGlueFailure(glueFailure('MaterializedViewRefreshTaskStoppingException'));

    expect(verdict).toEqual({ kind: 'terminal', outcome: 'already-stopping' });
  });

  it('treats a failure with no HTTP status (ECONNRESET) as a transient network-error', () => {
    const verdict = classifyGlueFailure(glueFailure('ECONNRESET'));

    expect(verdict).toEqual({ kind: 'retry', reason: 'network-error' });
  });

  it('treats an unknown code answered with 429 as transient glue-throttled', () => {
    const verdict = classifyGlueFailure(glueFailure('SlowDown', 429));

    expect(verdict).toEqual({ kind: 'retry', reason: 'glue-throttled' });
  });

  it.each([500, 502, 503, 504, 599])(
    'treats an unknown code answered with %i as transient glue-server-error',
    (status) => {
      const verdict = classifyGlueFailure(glueFailure('SomethingBrokeException', status));

      expect(verdict).toEqual({ kind: 'retry', reason: 'glue-server-error' });
    },
  );

  it.each([400, 401, 403, 404, 409, 413])(
    'treats an unknown code answered with %i as transient glue-unexpected-error, never permanent',
    (status) => {
      const verdict = classifyGlueFailure(glueFailure('ExpiredTokenException', status));

      expect(verdict).toEqual({ kind: 'retry', reason: 'glue-unexpected-error' });
    },
  );

  it('gives every failure exactly one class, and permanent only for the three permanent codes', () => {
    const code = fc.oneof(
      fc.constantFrom(...KNOWN_CODES),
      fc.constantFrom(...OBJECT_PROTOTYPE_NAMES),
      fc.stringMatching(/^[A-Z][A-Za-z]{0,30}Exception$/),
      fc.string(),
    );
    const status = fc.option(fc.integer({ min: 100, max: 599 }), { nil: undefined });

    fc.assert(
      fc.property(code, status, (failureCode, httpStatusCode) => {
        const verdict = classifyGlueFailure(glueFailure(failureCode, httpStatusCode));

        expect(isExactlyOneClass(verdict)).toBe(true);
        if (!PERMANENT_CODES.includes(failureCode)) expect(verdict.kind).not.toBe('rejected');
      }),
      { numRuns: 2000 },
    );
  });

  it('classifies codes that are also Object.prototype member names as ordinary unknown codes', () => {
    const failures = OBJECT_PROTOTYPE_NAMES.map((code) => glueFailure(code, 400));

    const verdicts = failures.map((failure) => classifyGlueFailure(failure));

    expect(verdicts).toEqual(
      OBJECT_PROTOTYPE_NAMES.map(() => ({ kind: 'retry', reason: 'glue-unexpected-error' })),
    );
  });
});
