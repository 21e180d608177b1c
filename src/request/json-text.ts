/**
 * JSON as the triggers meet it, made safe before anything recursive touches it: how deep a value or a
 * text nests (measured without recursion), and a serialiser that neither overflows the stack on deep
 * values nor writes characters SQS refuses.
 */

/** Deeper than this, a message is refused before it is parsed or walked (no request nests past 3). */
export const MAX_NESTING = 64;

/**
 * Whether a JSON text opens more than `limit` arrays or objects inside each other. A scan of the text,
 * strings skipped, so that `JSON.parse` never sees a value deep enough to overflow the stack.
 */
export const textNestsDeeperThan = (text: string, limit: number): boolean => {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > limit) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
};

/** Whether a value nests arrays or objects more than `limit` levels deep. Iterative; stops at `limit`. */
export const valueNestsDeeperThan = (value: unknown, limit: number): boolean => {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [current, depth] = next;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(current)) pending.push([child, depth + 1]);
  }
  return false;
};

/**
 * SQS takes #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF. `JSON.stringify` escapes
 * control characters and lone surrogates but writes U+FFFE and U+FFFF as they are.
 */
const NONCHARACTERS = /[\uFFFE\uFFFF]/g;
export const escapeNoncharacters = (json: string): string =>
  json.replace(NONCHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16)}`);

type Frame =
  | { kind: 'array'; items: readonly unknown[]; index: number }
  | { kind: 'object'; entries: [string, unknown][]; index: number };

const frameFor = (value: object): Frame =>
  Array.isArray(value)
    ? { kind: 'array', items: value, index: 0 }
    : {
        kind: 'object',
        // As JSON.stringify: own enumerable string keys; undefined, functions and symbols are left out.
        entries: Object.entries(value).filter(
          ([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol',
        ),
        index: 0,
      };

/** A leaf as JSON.stringify writes it; values JSON has no form for become null, as in arrays. */
const leaf = (value: unknown): string => {
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  return JSON.stringify(value) ?? 'null';
};

/**
 * JSON text of a JSON-like value (what Lambda hands a function), at any depth and SQS-safe:
 * `JSON.parse(toJsonText(v))` deep-equals `v` for every value that came from `JSON.parse`. Values with a
 * `toJSON` (dates) are written through it. The only input it cannot take is a cycle, which no event has:
 * past a million nested frames it stops with an error rather than run out of memory.
 */
export const toJsonText = (value: unknown): string => {
  if (!valueNestsDeeperThan(value, MAX_NESTING)) return escapeNoncharacters(JSON.stringify(value) ?? 'null');
  const out: string[] = [];
  const stack: Frame[] = [];
  const open = (v: unknown) => {
    const plain =
      typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function'
        ? (v as { toJSON: () => unknown }).toJSON()
        : v;
    if (typeof plain !== 'object' || plain === null) {
      out.push(leaf(plain));
      return;
    }
    if (stack.length >= 1_000_000) throw new RangeError('value nests too deep to serialise (a cycle?)');
    const frame = frameFor(plain);
    out.push(frame.kind === 'array' ? '[' : '{');
    stack.push(frame);
  };
  open(value);
  for (let frame = stack.at(-1); frame !== undefined; frame = stack.at(-1)) {
    if (frame.kind === 'array') {
      if (frame.index === frame.items.length) {
        out.push(']');
        stack.pop();
        continue;
      }
      if (frame.index > 0) out.push(',');
      const item = frame.items[frame.index++];
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') out.push('null');
      else open(item);
    } else {
      const entry = frame.entries[frame.index];
      if (entry === undefined) {
        out.push('}');
        stack.pop();
        continue;
      }
      if (frame.index++ > 0) out.push(',');
      out.push(JSON.stringify(entry[0]), ':');
      open(entry[1]);
    }
  }
  return escapeNoncharacters(out.join(''));
};
