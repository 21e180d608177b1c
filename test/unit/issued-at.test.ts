import { describe, expect, it } from 'vitest';
import { issuedAtOf } from '../../src/request/contract.ts';
import { parseStopRequest } from '../../src/request/parse.ts';

describe('issuedAtOf', () => {
  it.each([
    [0, '1970-01-01T00:00:00.000Z'],
    [-1, '1969-12-31T23:59:59.999Z'],
    [253_402_300_799_999, '9999-12-31T23:59:59.999Z'],
    [-62_167_219_200_000, '0000-01-01T00:00:00.000Z'],
  ])('writes %s as %s, which the contract takes as IssuedAt', (millis, iso) => {
    expect(issuedAtOf(millis)).toBe(iso);
    expect(parseStopRequest({ DatabaseName: 'd', TableName: 't', IssuedAt: iso }).kind).toBe('valid');
  });

  it.each([
    ['the year 10000', 253_402_300_800_000],
    ['the year -1', -62_167_219_200_001],
    ['beyond what Date holds', 8_640_000_000_000_001],
    ['not a number', Number.NaN],
    ['infinity', Number.POSITIVE_INFINITY],
  ])('gives nothing for %s, where toISOString would write a six-digit year or throw', (_, millis) => {
    expect(issuedAtOf(millis)).toBeUndefined();
  });
});
