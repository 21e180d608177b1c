/**
 * Reading a parked message back: does the dead-letter queue hold what arrived, so that a redrive (or a
 * person) can restore it? The format, in the `glue-mv-stop.body` message attribute:
 *
 * - absent: the body is the original, verbatim;
 * - `json-string`: the body is a JSON string literal; `JSON.parse(body)` is the original text;
 * - `truncated; bytes=N; sha256=HEX`: the body is a prefix of the original text; N and HEX are the byte
 *   length and SHA-256 of the whole original's UTF-8;
 * - `json-string, truncated; bytes=N; sha256=HEX`: both; the body is a prefix of the JSON string literal,
 *   N and HEX describe the whole literal.
 *
 * This file reads the format on its own, and also asks the product's `restoreParkedBody`
 * (src/adapters/dead-letter-parker.ts): both must find the original.
 */
import { createHash } from 'node:crypto';
import { restoreParkedBody } from '../../src/adapters/dead-letter-parker.ts';
import { jsonEqual, stringifyJson } from './model.ts';

export const BODY_ATTRIBUTE = 'glue-mv-stop.body';

export interface ParkedMessage {
  readonly body: string;
  /** String attributes by name. */
  readonly attributes: Readonly<Record<string, string>>;
}

export type Restored =
  | { readonly kind: 'verbatim' | 'json-string'; readonly text: string }
  | {
      readonly kind: 'truncated';
      readonly prefix: string;
      readonly jsonString: boolean;
      readonly bytes: number;
      readonly sha256: string;
    }
  | { readonly kind: 'unreadable'; readonly why: string };

export const readParked = (message: ParkedMessage): Restored => {
  const format = message.attributes[BODY_ATTRIBUTE];
  if (format === undefined) return { kind: 'verbatim', text: message.body };
  const jsonString = /^json-string\b/.test(format);
  const truncated = /\btruncated\b/.test(format);
  if (truncated) {
    const bytes = /\bbytes=(\d+)/.exec(format)?.[1];
    const sha256 = /\bsha256=([0-9a-fA-F]{64})\b/.exec(format)?.[1];
    if (bytes === undefined || sha256 === undefined)
      return { kind: 'unreadable', why: `truncated without bytes and sha256: "${format}"` };
    return {
      kind: 'truncated',
      prefix: message.body,
      jsonString,
      bytes: Number(bytes),
      sha256: sha256.toLowerCase(),
    };
  }
  if (format !== 'json-string') return { kind: 'unreadable', why: `unknown ${BODY_ATTRIBUTE} "${format}"` };
  try {
    const text: unknown = JSON.parse(message.body);
    return typeof text === 'string'
      ? { kind: 'json-string', text }
      : { kind: 'unreadable', why: 'json-string body is not a JSON string' };
  } catch {
    return { kind: 'unreadable', why: 'json-string body is not JSON' };
  }
};

/** What arrived: an SQS body (text), or an event (a JSON value, serialised as JSON when parked). */
export type Original = { readonly text: string } | { readonly json: unknown };

const sha256Of = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** U+FFFE and U+FFFF as JSON escapes (SQS refuses them raw; JSON.stringify leaves them). */
const escapeNoncharacters = (json: string): string =>
  json.replace(/[\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

/** The texts a JSON original may have been parked as: JSON.stringify's, or with noncharacters escaped. */
const candidateTexts = (original: Original): string[] => {
  if ('text' in original) return [original.text];
  const json = stringifyJson(original.json);
  const escaped = escapeNoncharacters(json);
  return escaped === json ? [json] : [json, escaped];
};

const truncationMatches = (restored: Extract<Restored, { kind: 'truncated' }>, texts: readonly string[]) =>
  texts.some((text) => {
    const whole = restored.jsonString ? escapeNoncharacters(JSON.stringify(text)) : text;
    return (
      whole.startsWith(restored.prefix) &&
      Buffer.byteLength(whole, 'utf8') === restored.bytes &&
      sha256Of(whole) === restored.sha256
    );
  });

const textMatches = (text: string, original: Original): boolean => {
  if ('text' in original) return text === original.text;
  try {
    return jsonEqual(JSON.parse(text), original.json);
  } catch {
    return false;
  }
};

/** What the product's own reader makes of the message: restorable or not, and why. */
const productReading = (message: ParkedMessage, original: Original): { ok: boolean; why: string } => {
  try {
    const attributes = Object.fromEntries(
      Object.entries(message.attributes).map(([name, value]) => [name, { StringValue: value }]),
    );
    const restored = restoreParkedBody(message.body, attributes);
    if (restored.kind === 'complete') {
      return textMatches(restored.original, original)
        ? { ok: true, why: 'complete' }
        : { ok: false, why: 'restoreParkedBody gives another original' };
    }
    const ok = truncationMatches(
      {
        kind: 'truncated',
        prefix: restored.prefix,
        jsonString: restored.encoding === 'json-string',
        bytes: restored.bytes,
        sha256: restored.sha256,
      },
      candidateTexts(original),
    );
    return ok
      ? { ok, why: 'truncated' }
      : { ok, why: 'restoreParkedBody: prefix, bytes or sha256 do not match' };
  } catch (error) {
    return { ok: false, why: `restoreParkedBody threw ${error instanceof Error ? error.name : 'an error'}` };
  }
};

/** Whether the parked message restores `original` (by the format and by the product's reader). */
export const restores = (message: ParkedMessage, original: Original): { ok: boolean; why: string } => {
  const restored = readParked(message);
  let mine: { ok: boolean; why: string };
  if (restored.kind === 'unreadable') mine = { ok: false, why: restored.why };
  else if (restored.kind === 'truncated')
    mine = truncationMatches(restored, candidateTexts(original))
      ? { ok: true, why: 'truncated' }
      : { ok: false, why: 'truncated body: prefix, bytes or sha256 do not match the original' };
  else
    mine = textMatches(restored.text, original)
      ? { ok: true, why: restored.kind }
      : { ok: false, why: `${restored.kind} body is not the original` };
  if (!mine.ok) return mine;
  return productReading(message, original);
};
