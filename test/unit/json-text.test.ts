import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapeNoncharacters,
  MAX_NESTING,
  textNestsDeeperThan,
  toJsonText,
  valueNestsDeeperThan,
} from '../../src/request/json-text.ts';

/** The oracle: how many arrays or objects a JSON value opens inside each other, by plain recursion. */
const depthOf = (value: unknown): number =>
  typeof value === 'object' && value !== null ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;

/** `levels` arrays and objects, alternating, around `inner`, each with a sibling that nests no deeper. */
const nestedIn = (inner: unknown, levels: number): unknown => {
  let value = inner;
  for (let level = 0; level < levels; level++) {
    value = level % 2 === 0 ? [level, value, 'x'] : { a: level, b: value, c: [] };
  }
  return value;
};

/** JSON.stringify with U+FFFE and U+FFFF escaped, as SQS needs them. */
const sqsSafeStringify = (value: unknown) =>
  (JSON.stringify(value) ?? 'null').replaceAll('\uFFFE', '\\ufffe').replaceAll('\uFFFF', '\\uffff');

describe('textNestsDeeperThan', () => {
  it.each([
    ['[[[]]]', 2, true],
    ['[[[]]]', 3, false],
    ['{"a":[{"b":[]}]}', 3, true],
    ['{"a":[{"b":[]}]}', 4, false],
    ['[][][][]', 1, false],
    ['[[]][[]]', 1, true],
    ['"plain"', 0, false],
  ])('reads %s against a limit of %i as %s', (text, limit, deeper) => {
    expect(textNestsDeeperThan(text, limit)).toBe(deeper);
  });

  it('skips brackets inside strings, escaped quotes and backslashes included', () => {
    expect(textNestsDeeperThan('{"k":"[[[[{{{{"}', 1)).toBe(false);
    expect(textNestsDeeperThan(String.raw`["\"[[[[["]`, 1)).toBe(false);
    // An escaped backslash ends with the string's closing quote: the brackets after it count.
    expect(textNestsDeeperThan(String.raw`["\\",[[]]]`, 2)).toBe(true);
    expect(textNestsDeeperThan(String.raw`["\\",[[]]]`, 3)).toBe(false);
  });

  it('agrees with the depth of the value for any JSON text', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 8 }), (value, limit) => {
        expect(textNestsDeeperThan(JSON.stringify(value), limit)).toBe(depthOf(value) > limit);
      }),
      { numRuns: 500 },
    );
  });
});

describe('valueNestsDeeperThan', () => {
  it.each([
    ['a string', 'x', 0, false],
    ['null', null, 0, false],
    ['an empty array', [], 0, true],
    ['an empty array', [], 1, false],
    ['an object of arrays', { a: [[1]], b: 2 }, 2, true],
    ['an object of arrays', { a: [[1]], b: 2 }, 3, false],
  ])('reads %s (%j) against a limit of %i as %s', (_what, value, limit, deeper) => {
    expect(valueNestsDeeperThan(value, limit)).toBe(deeper);
  });

  it('agrees with the depth of any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.integer({ min: 0, max: 8 }), (value, limit) => {
        expect(valueNestsDeeperThan(value, limit)).toBe(depthOf(value) > limit);
      }),
      { numRuns: 500 },
    );
  });

  it('measures a value far deeper than the stack could recurse into', () => {
    const deep = nestedIn('core', 30_000);

    expect(valueNestsDeeperThan(deep, MAX_NESTING)).toBe(true);
  });
});

describe('escapeNoncharacters', () => {
  it('escapes every U+FFFE and U+FFFF, and leaves everything else as it is', () => {
    expect(escapeNoncharacters('a\uFFFEb\uFFFFc\uFFFE\t"\uFFFD')).toBe('a\\ufffeb\\uffffc\\ufffe\t"\uFFFD');
  });
});

describe('toJsonText', () => {
  it('writes what JSON.stringify writes for a value of ordinary depth, noncharacters escaped', () => {
    expect(toJsonText({ a: ['\uFFFF', 1, null], b: { c: true } })).toBe(
      '{"a":["\\uffff",1,null],"b":{"c":true}}',
    );
    expect(toJsonText(undefined)).toBe('null');
  });

  it('writes what JSON.stringify writes for any value nested past the limit', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 3 }),
        fc.integer({ min: MAX_NESTING - 2, max: MAX_NESTING + 40 }),
        (inner, levels) => {
          const value = nestedIn(inner, levels);

          expect(toJsonText(value)).toBe(sqsSafeStringify(value));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads back as the value it wrote, at a depth JSON.stringify cannot reach', () => {
    const deep = nestedIn({ leaf: 'x\uFFFE' }, 20_000);

    const text = toJsonText(deep);

    expect(textNestsDeeperThan(text, 20_000)).toBe(true);
    expect(text.startsWith('{"a":19999,"b":[19998,{"a":19997,')).toBe(true);
    expect(text).toContain('{"leaf":"x\\ufffe"}');
    expect(text.endsWith(',"x"],"c":[]}')).toBe(true);
  });

  it('treats deep values JSON has no form for as JSON.stringify does', () => {
    const date = new Date('2026-11-29T02:00:00.000Z');
    const symbol = Symbol('s');
    const odd = {
      kept: 1,
      gone: undefined,
      fn: () => 1,
      sym: symbol,
      list: [undefined, () => 1, symbol, date, Number.NaN, { toJSON: () => undefined }],
      when: date,
    };
    const value = nestedIn(odd, MAX_NESTING + 1);

    expect(toJsonText(value)).toBe(JSON.stringify(value));
    expect(toJsonText(value)).toContain(
      '{"kept":1,"list":[null,null,null,"2026-11-29T02:00:00.000Z",null,null],"when":"2026-11-29T02:00:00.000Z"}',
    );
  });

  it('writes a deep bigint as a string of its digits', () => {
    const value = nestedIn({ big: 12345678901234567890n }, MAX_NESTING + 1);

    expect(toJsonText(value)).toContain('{"big":"12345678901234567890"}');
  });
});
