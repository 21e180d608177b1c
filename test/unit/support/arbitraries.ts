/**
 * fast-check arbitraries for the stop request contract. Lengths are counted the way the schema counts
 * them: in Unicode code points (zod's minLength/maxLength count code points, not UTF-16 code units), so a
 * supplementary-plane character counts as one. Each element of a `string[]` below is one code point.
 */
import fc from 'fast-check';
import { NAME_MAX_LENGTH } from '../../../src/request/contract.ts';

/** One character the Glue pattern allows: tab, U+0020–U+D7FF, U+E000–U+FFFD or a supplementary-plane character. */
export const allowedCharacter: fc.Arbitrary<string> = fc
  .oneof(
    { weight: 1, arbitrary: fc.constant(0x09) },
    { weight: 4, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 3, arbitrary: fc.integer({ min: 0x20, max: 0xd7ff }) },
    { weight: 2, arbitrary: fc.integer({ min: 0xe000, max: 0xfffd }) },
    { weight: 3, arbitrary: fc.integer({ min: 0x1_0000, max: 0x10_ffff }) },
  )
  .map((codePoint) => String.fromCodePoint(codePoint));

/** A control character the pattern refuses: U+0000–U+0008 or U+000A–U+001F (tab, U+0009, is allowed). */
export const controlCharacter: fc.Arbitrary<string> = fc
  .oneof(fc.integer({ min: 0x00, max: 0x08 }), fc.integer({ min: 0x0a, max: 0x1f }))
  .map((codeUnit) => String.fromCharCode(codeUnit));

/** A high or low surrogate on its own. Inserted between whole code points, it can never pair up. */
export const loneSurrogate: fc.Arbitrary<string> = fc
  .integer({ min: 0xd800, max: 0xdfff })
  .map((codeUnit) => String.fromCharCode(codeUnit));

/** Repeats `pattern` (whole code points) until the result holds exactly `length` code points. */
const cycle = (pattern: readonly string[], length: number): string[] =>
  Array.from({ length }, (_, index) => pattern[index % pattern.length] ?? 'x');

/**
 * The code points of a text the contract accepts: 1..maxLength allowed characters. Short texts are fully
 * random; long ones repeat a random run of characters up to a length that is often the limit or next to it
 * (cheap to build, so a property can afford 1000 runs of 1024-character Reasons).
 */
export const validCharacters = (maxLength: number = NAME_MAX_LENGTH): fc.Arbitrary<string[]> =>
  fc.oneof(
    fc.array(allowedCharacter, { minLength: 1, maxLength: Math.min(16, maxLength) }),
    fc
      .tuple(
        fc.array(allowedCharacter, { minLength: 1, maxLength: 12 }),
        fc.oneof(
          fc.integer({ min: Math.max(1, maxLength - 2), max: maxLength }),
          fc.integer({ min: 1, max: maxLength }),
        ),
      )
      .map(([pattern, length]) => cycle(pattern, length)),
  );

/** Like {@link validCharacters}, at least `minLength` code points long (to build texts over a limit). */
export const charactersOfLength = (minLength: number, maxLength: number): fc.Arbitrary<string[]> =>
  fc
    .tuple(
      fc.array(allowedCharacter, { minLength: 1, maxLength: 12 }),
      fc.integer({ min: minLength, max: maxLength }),
    )
    .map(([pattern, length]) => cycle(pattern, length));

export const validText = (maxLength: number = NAME_MAX_LENGTH): fc.Arbitrary<string> =>
  validCharacters(maxLength).map((characters) => characters.join(''));

/** A refresh task run id: a UUID, in lower or upper case (the API pattern allows both). */
export const runId: fc.Arbitrary<string> = fc
  .tuple(fc.uuid(), fc.boolean())
  .map(([uuid, upper]) => (upper ? uuid.toUpperCase() : uuid));

/**
 * Writes `instant` as ISO-8601 with the given UTC offset (`Z` for zero when `zulu`), to the second or to
 * the millisecond. The text names the same instant whatever the offset (to the second when `fraction` is false).
 */
export const isoWithOffset = (
  instant: Date,
  offsetMinutes: number,
  fraction: boolean,
  zulu = true,
): string => {
  const local = new Date(instant.getTime() + offsetMinutes * 60_000);
  const base = local.toISOString().slice(0, fraction ? 23 : 19);
  if (offsetMinutes === 0 && zulu) return `${base}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const minutes = Math.abs(offsetMinutes);
  return `${base}${sign}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
};

/** An ISO-8601 date-time with an offset (`Z` or `±hh:mm`), as the contract's IssuedAt takes it. */
export const issuedAt: fc.Arbitrary<string> = fc
  .record({
    instant: fc.date({
      min: new Date('1971-01-01T00:00:00Z'),
      max: new Date('2998-12-31T00:00:00Z'),
      noInvalidDate: true,
    }),
    offset: fc.oneof(fc.constant(0), fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 })),
    fraction: fc.boolean(),
    zulu: fc.boolean(),
  })
  .map(({ instant, offset, fraction, zulu }) => isoWithOffset(instant, offset, fraction, zulu));
