/**
 * The fuzz suite's value model. Generated inputs are trees of `JsonNode`s, not JS values: the model can say
 * what a JS value cannot (own `__proto__` keys, duplicate keys, a 1 MiB string or 8,000 levels of nesting)
 * while staying small, so fast-check builds and shrinks it cheaply and a counterexample prints in a few
 * lines. `render` turns a model into JSON text (iteratively for the deep parts); the harness then
 * `JSON.parse`s it, exactly as Lambda parses the payload it delivers, or uses it as an SQS message body.
 *
 * Also here: JSON helpers that do not recurse (`stringifyJson`, `jsonEqual`), since deep values are the
 * point of some inputs and `JSON.stringify` overflows the stack a few thousand levels down.
 */

export type JsonNode =
  | null
  | boolean
  | number
  | string
  | ArrayNode
  | ObjectNode
  | DeepNode
  | BigStringNode
  | FillNode
  | RawNode
  | FreshNode
  | NowNode
  | TextNode;

export interface ArrayNode {
  readonly t: 'arr';
  readonly items: readonly JsonNode[];
}

/** Entries, not a record: duplicate keys and `__proto__` stay own keys of the parsed value. */
export interface ObjectNode {
  readonly t: 'obj';
  readonly entries: readonly Entry[];
}

export type Entry = readonly [string, JsonNode];

export type DeepShape = 'array' | 'object' | 'invocation' | 'proto' | 'mixed';

/** `depth` levels of `shape` around `leaf`, rendered without recursion. */
export interface DeepNode {
  readonly t: 'deep';
  readonly shape: DeepShape;
  readonly depth: number;
  readonly leaf: JsonNode;
}

/** A string of `unit` repeated `count` times. */
export interface BigStringNode {
  readonly t: 'big';
  readonly unit: string;
  readonly count: number;
}

/** A string of `unit` repeated as often as it takes to bring the document to its `padToBytes`. */
export interface FillNode {
  readonly t: 'fill';
  readonly unit: string;
}

/** JSON text as it is (`1e400`, `-0`, `1.0`). */
export interface RawNode {
  readonly t: 'raw';
  readonly text: string;
}

/** A string unique to one execution (message ids, event ids, idempotency keys): no stale state across runs. */
export interface FreshNode {
  readonly t: 'fresh';
  readonly prefix: string;
}

/** The time of the execution plus `offsetMs`: ISO-8601, CloudWatch's `+0000` form, or epoch ms as a string. */
export interface NowNode {
  readonly t: 'now';
  readonly offsetMs: number;
  readonly format: 'iso' | 'iso-seconds' | 'cloudwatch' | 'millis';
}

/** A JSON string holding a rendered document: an SQS record's body. */
export interface TextNode {
  readonly t: 'text';
  readonly doc: Doc;
}

/** A document: a model rendered as JSON, or broken JSON made from it, or any text. */
export interface Doc {
  readonly node: JsonNode;
  readonly form: DocForm;
  /** UTF-8 size the document is padded to through its `fill` node. */
  readonly padToBytes?: number;
}

export type DocForm =
  | { readonly k: 'json'; readonly ascii: boolean; readonly indent: boolean }
  /** The rendered JSON, cut at a fraction of its length. */
  | { readonly k: 'cut'; readonly at: number }
  /** The rendered JSON with `remove` characters at a fraction of its length replaced by `insert`. */
  | { readonly k: 'splice'; readonly at: number; readonly remove: number; readonly insert: string }
  /** Any text instead of the model. */
  | { readonly k: 'text'; readonly text: string };

export const obj = (...entries: Entry[]): ObjectNode => ({ t: 'obj', entries });
export const arr = (...items: JsonNode[]): ArrayNode => ({ t: 'arr', items });

export const isObjectNode = (node: JsonNode): node is ObjectNode =>
  typeof node === 'object' && node !== null && node.t === 'obj';

/** Replaces the first entry named `key` (or appends it); `undefined` removes every entry named `key`. */
export const withEntry = (node: ObjectNode, key: string, value: JsonNode | undefined): ObjectNode => {
  if (value === undefined) return { t: 'obj', entries: node.entries.filter(([k]) => k !== key) };
  const at = node.entries.findIndex(([k]) => k === key);
  if (at < 0) return { t: 'obj', entries: [...node.entries, [key, value]] };
  return { t: 'obj', entries: node.entries.map((entry, i) => (i === at ? [key, value] : entry)) };
};

export const entryOf = (node: JsonNode, key: string): JsonNode | undefined =>
  isObjectNode(node) ? node.entries.find(([k]) => k === key)?.[1] : undefined;

// ---------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------

export interface RenderContext {
  /** A new unique string for each `fresh` node. */
  readonly fresh: (prefix: string) => string;
  readonly now: number;
  /**
   * Text that SQS accepts as a message body: U+FFFE and U+FFFF are written as JSON escapes, and text that
   * is not JSON has every character SQS refuses replaced by U+FFFD. A real SQS record never holds anything
   * else; the event triggers get raw U+FFFE (their payload is JSON that Lambda parses).
   */
  readonly sqsText: boolean;
}

const NOT_SQS_TEXT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
export const toSqsText = (text: string): string => text.replace(NOT_SQS_TEXT, '\uFFFD');

const NONCHARACTER = /[\uFFFE\uFFFF]/;
const escapeUnit = (unit: string): string => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;

const quote = (value: string, ascii: boolean, sqsText: boolean): string => {
  const text = JSON.stringify(value);
  if (ascii) return text.replace(/[\u0080-\uffff]/g, escapeUnit);
  return sqsText && NONCHARACTER.test(text) ? text.replace(/[\uFFFE\uFFFF]/g, escapeUnit) : text;
};

const DEEP_PARTS: Readonly<Record<DeepShape, readonly [string, string]>> = {
  array: ['[', ']'],
  object: ['{"a":', '}'],
  // Lambda on-failure destination records, cut to what the stop queue looks at (so that thousands of
  // levels stay under the 1 MiB SQS limit).
  invocation: ['{"requestContext":{"requestId":"r"},"requestPayload":', '}'],
  proto: ['{"__proto__":', '}'],
  mixed: ['[{"constructor":', '}]'],
};

interface Style {
  readonly ascii: boolean;
  readonly indent: boolean;
  readonly fillCount: number;
}

const nowText = (node: NowNode, now: number): string => {
  const at = new Date(now + node.offsetMs);
  switch (node.format) {
    case 'iso':
      return at.toISOString();
    case 'iso-seconds':
      return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
    case 'cloudwatch':
      return at.toISOString().replace('Z', '+0000');
    case 'millis':
      return String(at.getTime());
  }
};

const renderNode = (node: JsonNode, ctx: RenderContext, style: Style, out: string[]): void => {
  const q = (value: string) => quote(value, style.ascii, ctx.sqsText);
  if (node === null || typeof node === 'boolean') {
    out.push(String(node));
    return;
  }
  if (typeof node === 'number') {
    out.push(JSON.stringify(node));
    return;
  }
  if (typeof node === 'string') {
    out.push(q(node));
    return;
  }
  switch (node.t) {
    case 'arr': {
      out.push('[');
      node.items.forEach((item, i) => {
        if (i > 0) out.push(style.indent ? ',\n ' : ',');
        renderNode(item, ctx, style, out);
      });
      out.push(']');
      return;
    }
    case 'obj': {
      out.push(style.indent ? '{\n  ' : '{');
      node.entries.forEach(([key, value], i) => {
        if (i > 0) out.push(style.indent ? ',\n  ' : ',');
        out.push(q(key), style.indent ? ': ' : ':');
        renderNode(value, ctx, style, out);
      });
      out.push(style.indent ? '\n}' : '}');
      return;
    }
    case 'deep': {
      const [open, close] = DEEP_PARTS[node.shape];
      out.push(open.repeat(node.depth));
      renderNode(node.leaf, ctx, style, out);
      out.push(close.repeat(node.depth));
      return;
    }
    case 'big':
      out.push(q(node.unit.repeat(node.count)));
      return;
    case 'fill':
      out.push(q(node.unit.repeat(style.fillCount)));
      return;
    case 'raw':
      out.push(node.text);
      return;
    case 'fresh':
      out.push(q(ctx.fresh(node.prefix)));
      return;
    case 'now':
      out.push(q(nowText(node, ctx.now)));
      return;
    case 'text':
      // An SQS body: whatever the event around it holds, SQS only ever delivers text it accepts.
      out.push(q(renderDoc(node.doc, { ...ctx, sqsText: true })));
      return;
  }
};

const renderJson = (node: JsonNode, ctx: RenderContext, style: Style): string => {
  const out: string[] = [];
  renderNode(node, ctx, style, out);
  return out.join('');
};

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Renders a document. Fresh values are drawn anew, so render each document once per execution. */
export const renderDoc = (doc: Doc, ctx: RenderContext): string => {
  if (doc.form.k === 'text') return ctx.sqsText ? toSqsText(doc.form.text) : doc.form.text;
  const ascii = doc.form.k === 'json' && doc.form.ascii;
  const indent = doc.form.k === 'json' && doc.form.indent;
  let fillCount = 0;
  if (doc.padToBytes !== undefined) {
    // Fresh values are the same length every time, so a dry run with an empty fill measures the rest.
    const base = utf8(renderJson(doc.node, ctx, { ascii, indent, fillCount: 0 }));
    const unit = findFillUnit(doc.node) ?? 'x';
    const unitBytes = Math.max(1, utf8(quote(unit, ascii, ctx.sqsText)) - 2);
    fillCount = Math.max(0, Math.floor((doc.padToBytes - base) / unitBytes));
  }
  const json = renderJson(doc.node, ctx, { ascii, indent, fillCount });
  switch (doc.form.k) {
    case 'json':
      return json;
    case 'cut':
      return json.slice(0, Math.floor(json.length * doc.form.at));
    case 'splice': {
      const at = Math.floor(json.length * doc.form.at);
      const insert = ctx.sqsText ? toSqsText(doc.form.insert) : doc.form.insert;
      return `${json.slice(0, at)}${insert}${json.slice(at + doc.form.remove)}`;
    }
  }
};

const findFillUnit = (root: JsonNode): string | undefined => {
  const stack: JsonNode[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (node.t === 'fill') return node.unit;
    if (node.t === 'arr') stack.push(...node.items);
    if (node.t === 'obj') stack.push(...node.entries.map(([, v]) => v));
    if (node.t === 'deep') stack.push(node.leaf);
  }
  return undefined;
};

// ---------------------------------------------------------------------------------------------------
// JSON helpers without recursion
// ---------------------------------------------------------------------------------------------------

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `JSON.stringify` for JSON values (what `JSON.parse` returns), at any depth; same output. */
export const stringifyJson = (root: unknown): string => {
  const out: string[] = [];
  // A frame is a value still to write, or a piece of punctuation.
  const stack: ({ readonly v: unknown } | { readonly s: string })[] = [{ v: root }];
  while (stack.length > 0) {
    const frame = stack.pop();
    if (frame === undefined) break;
    if ('s' in frame) {
      out.push(frame.s);
      continue;
    }
    const value = frame.v;
    if (Array.isArray(value)) {
      stack.push({ s: ']' });
      for (let i = value.length - 1; i >= 0; i--) {
        const item: unknown = value[i];
        stack.push({ v: item === undefined || typeof item === 'function' ? null : item });
        if (i > 0) stack.push({ s: ',' });
      }
      stack.push({ s: '[' });
    } else if (isPlainObject(value)) {
      const keys = Object.keys(value).filter((k) => value[k] !== undefined && typeof value[k] !== 'function');
      stack.push({ s: '}' });
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] ?? '';
        stack.push({ v: value[key] });
        stack.push({ s: `${JSON.stringify(key)}:` });
        if (i > 0) stack.push({ s: ',' });
      }
      stack.push({ s: '{' });
    } else if (typeof value === 'number') {
      out.push(Number.isFinite(value) ? JSON.stringify(value) : 'null');
    } else {
      out.push(JSON.stringify(value) ?? 'null');
    }
  }
  return out.join('');
};

/** Equality of two JSON values (object key order ignored; non-finite numbers equal `null`, as JSON writes them). */
export const jsonEqual = (left: unknown, right: unknown): boolean => {
  const norm = (v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
  const stack: [unknown, unknown][] = [[left, right]];
  while (stack.length > 0) {
    const pair = stack.pop();
    if (pair === undefined) break;
    const a = norm(pair[0]);
    const b = norm(pair[1]);
    if (Array.isArray(a) || Array.isArray(b)) {
      if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
      for (let i = 0; i < a.length; i++) stack.push([a[i], b[i]]);
    } else if (isPlainObject(a) || isPlainObject(b)) {
      if (!isPlainObject(a) || !isPlainObject(b)) return false;
      const keys = Object.keys(a);
      if (keys.length !== Object.keys(b).length) return false;
      for (const key of keys) {
        if (!Object.hasOwn(b, key)) return false;
        stack.push([a[key], b[key]]);
      }
    } else if (a !== b) {
      return false;
    }
  }
  return true;
};

/** A model for display: compact JSON, cut to `max` characters. */
export const describeModel = (value: unknown, max = 1_500): string => {
  let text: string;
  try {
    text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
      if (typeof v === 'string') return visible(v);
      return Array.isArray(v) ? collapseRuns(v) : v;
    });
  } catch {
    text = stringifyJson(value); // too deep for JSON.stringify
  }
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
};

/** `[a, a, a, a, b]` → `[a, "(3 more of the same)", b]`: a 100-name scope prints in one line. */
const collapseRuns = (items: readonly unknown[]): unknown[] => {
  const out: unknown[] = [];
  for (let i = 0; i < items.length; ) {
    const text = JSON.stringify(items[i]);
    let j = i + 1;
    while (j < items.length && JSON.stringify(items[j]) === text) j++;
    out.push(items[i]);
    if (j - i > 2) out.push(`(${j - i - 1} more of the same)`);
    else if (j - i === 2) out.push(items[i]);
    i = j;
  }
  return out;
};

/** Shows invisible and odd characters as `\uXXXX` so that a printed counterexample says what it holds. */
export const visible = (text: string, max = Number.POSITIVE_INFINITY): string => {
  const cut = text.length > max ? `${text.slice(0, max)}…(${text.length} characters)` : text;
  return cut.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: showing control characters is the point.
    /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff0-\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    (unit) => escapeUnit(unit),
  );
};
