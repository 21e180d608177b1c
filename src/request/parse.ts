/**
 * Turns what arrives on a trigger (an SQS body, an EventBridge event) into a checked stop request,
 * or into a list of violations that each name the field and the rule it broke.
 */
import * as z from 'zod/mini';
import { type StopRequest, stopRequestSchema } from './contract.ts';
import { STOP_EVENT_DETAIL_TYPE, STOP_EVENT_SOURCE } from './events.ts';
import { MAX_NESTING, textNestsDeeperThan } from './json-text.ts';
import type { ScopeTask } from './scope-task.ts';

export type ViolationRule =
  | 'json'
  | 'type'
  | 'required'
  | 'min-length'
  | 'max-length'
  | 'pattern'
  | 'unknown-field'
  | 'value'
  | 'depth';

export interface Violation {
  /** Dotted path of the offending field, e.g. `TableName` or `detail.TableName`; `(body)` for the whole body. */
  readonly field: string;
  readonly rule: ViolationRule;
  readonly message: string;
}

export type ParsedStopMessage =
  | { readonly kind: 'valid'; readonly request: StopRequest; readonly eventId?: string }
  | { readonly kind: 'invalid'; readonly violations: readonly Violation[]; readonly eventId?: string };

/** What a trigger hands the core: a stop message, or on the stop queue also a task of a scope's expansion. */
export type ParsedMessage =
  | ParsedStopMessage
  | { readonly kind: 'task'; readonly task: ScopeTask; readonly eventId?: string };

const eventBridgeEnvelopeSchema = z.looseObject({
  // Becomes part of the idempotency key of every request derived from this one: bounded like a key.
  id: z.string().check(z.minLength(1), z.maxLength(255)),
  source: z.string(),
  'detail-type': z.string(),
  detail: z.unknown(),
});

type EventBridgeEnvelope = z.infer<typeof eventBridgeEnvelopeSchema>;

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** An EventBridge event, as delivered to a rule target or put on a queue by a rule, is recognised by its `detail-type`. */
export const looksLikeEventBridgeEvent = (value: unknown): boolean =>
  isRecord(value) && 'detail-type' in value;

/** Formats violations for logs and dead-letter attributes: `TableName: must not be empty (min-length)`. */
export const describeViolations = (violations: readonly Violation[]): string =>
  violations.map((v) => `${v.field}: ${v.message} (${v.rule})`).join('; ');

/** How a type is named in a refusal. */
const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a JSON object',
  array: 'an array',
  string: 'a string',
  boolean: 'true or false',
  number: 'a number',
};

const RULE_BY_ISSUE_CODE: Partial<Record<z.core.$ZodIssue['code'], ViolationRule>> = {
  too_small: 'min-length',
  too_big: 'max-length',
  invalid_format: 'pattern',
  invalid_type: 'type',
};

/** Plain keys as they are; anything else (empty, dots, control characters) as a JSON string. */
export const fieldName = (key: PropertyKey): string => {
  const name = String(key);
  return /^[A-Za-z0-9_$-]+$/.test(name) ? name : JSON.stringify(name);
};

export const joinPath = (prefix: string, path: readonly PropertyKey[]): string =>
  [...(prefix === '' ? [] : [prefix]), ...path.map(fieldName)].join('.') || '(body)';

const hasPath = (value: unknown, path: readonly PropertyKey[]): boolean => {
  let current: unknown = value;
  for (const key of path) {
    if (!isRecord(current) || !(String(key) in current)) return false;
    current = current[String(key)];
  }
  return true;
};

/** Turns zod's issues into violations that name the field (with `prefix`) and the rule. */
export const violationsOf = (error: z.core.$ZodError, input: unknown, prefix: string): Violation[] => {
  const all = error.issues.flatMap((issue): Violation[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: joinPath(prefix, [...issue.path, key]),
        rule: 'unknown-field',
        message: 'is not a field of the stop request',
      }));
    }
    const field = joinPath(prefix, issue.path);
    if (issue.code === 'invalid_type' && issue.path.length > 0 && !hasPath(input, issue.path)) {
      return [{ field, rule: 'required', message: 'is required' }];
    }
    if (issue.code === 'invalid_type') {
      return [
        {
          field,
          rule: 'type',
          message: `must be ${TYPE_NAMES[issue.expected] ?? `a ${issue.expected}`}`,
        },
      ];
    }
    const declaredRule = issue.code === 'custom' ? issue.params?.rule : undefined;
    const rule = declaredRule === 'pattern' ? 'pattern' : (RULE_BY_ISSUE_CODE[issue.code] ?? 'value');
    return [{ field, rule, message: issue.message }];
  });
  // Both halves of the API pattern can fail on one value: report the rule once.
  const seen = new Set<string>();
  return all.filter((v) => {
    const key = `${v.field}\u0000${v.rule}\u0000${v.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

type SchemaOutput = z.infer<typeof stopRequestSchema>;

/** The rules that span fields: one view or one scope, and a run guard only for one view. */
const shapeViolations = (
  data: Partial<Record<'TableName' | 'TableNames' | 'RunId', unknown>>,
  prefix: string,
) => {
  const violations: Violation[] = [];
  const has = (field: 'TableName' | 'TableNames' | 'RunId') => data[field] !== undefined;
  if (!has('TableName') && !has('TableNames')) {
    violations.push({
      field: joinPath(prefix, ['TableName']),
      rule: 'required',
      message: 'is required (or TableNames, for a scope)',
    });
  }
  if (has('TableName') && has('TableNames')) {
    violations.push({
      field: joinPath(prefix, ['TableNames']),
      rule: 'value',
      message: 'must not be given together with TableName',
    });
  }
  if (has('TableNames') && has('RunId')) {
    violations.push({
      field: joinPath(prefix, ['RunId']),
      rule: 'value',
      message: 'applies to one table (TableName) only',
    });
  }
  return violations;
};

const asStopRequest = (data: SchemaOutput): StopRequest | undefined => {
  const { TableName, TableNames, RunId, ...base } = data;
  if (TableName !== undefined && TableNames === undefined) {
    return { ...base, TableName, ...(RunId !== undefined ? { RunId } : {}) };
  }
  if (TableNames !== undefined && TableName === undefined && RunId === undefined)
    return { ...base, TableNames };
  return undefined;
};

/** Checks a stop request object. `prefix` names where it sits in the message (`detail` inside an event). */
export const parseStopRequest = (
  input: unknown,
  prefix = '',
): { kind: 'valid'; request: StopRequest } | { kind: 'invalid'; violations: Violation[] } => {
  const shape = isRecord(input) ? shapeViolations(input, prefix) : [];
  const result = z.safeParse(stopRequestSchema, input);
  const request = result.success ? asStopRequest(result.data) : undefined;
  if (request && shape.length === 0) return { kind: 'valid', request };
  return {
    kind: 'invalid',
    violations: [...shape, ...(result.success ? [] : violationsOf(result.error, input, prefix))],
  };
};

const envelopeViolations = (event: EventBridgeEnvelope): Violation[] => {
  const violations: Violation[] = [];
  if (event.source !== STOP_EVENT_SOURCE) {
    violations.push({ field: 'source', rule: 'value', message: `must be "${STOP_EVENT_SOURCE}"` });
  }
  if (event['detail-type'] !== STOP_EVENT_DETAIL_TYPE) {
    violations.push({ field: 'detail-type', rule: 'value', message: `must be "${STOP_EVENT_DETAIL_TYPE}"` });
  }
  return violations;
};

/** Checks an EventBridge event whose `detail` is a stop request. `prefix` names where the event sits. */
export const parseStopEvent = (event: unknown, prefix = ''): ParsedStopMessage => {
  const envelope = z.safeParse(eventBridgeEnvelopeSchema, event);
  if (!envelope.success) return { kind: 'invalid', violations: violationsOf(envelope.error, event, prefix) };
  const eventId = envelope.data.id;
  const wrongEnvelope = envelopeViolations(envelope.data).map((v) => ({
    ...v,
    field: joinPath(prefix, [v.field]),
  }));
  const detail = parseStopRequest(envelope.data.detail, prefix === '' ? 'detail' : `${prefix}.detail`);
  const violations = [...wrongEnvelope, ...(detail.kind === 'valid' ? [] : detail.violations)];
  if (violations.length > 0 || detail.kind === 'invalid') return { kind: 'invalid', violations, eventId };
  return { kind: 'valid', request: detail.request, eventId };
};

/** The one violation for a message that nests too deep to be read safely. */
export const nestingViolation = (field = '(body)'): Violation => ({
  field,
  rule: 'depth',
  message: `nests arrays or objects deeper than ${MAX_NESTING} levels`,
});

/**
 * Reads an SQS message body as JSON; a body that is not JSON is one `json` violation, one that nests
 * deeper than `MAX_NESTING` one `depth` violation (checked on the text, before parsing).
 */
export const parseJsonBody = (
  body: string,
):
  | { readonly kind: 'valid'; readonly value: unknown }
  | { readonly kind: 'invalid'; readonly violations: Violation[] } => {
  if (textNestsDeeperThan(body, MAX_NESTING)) return { kind: 'invalid', violations: [nestingViolation()] };
  try {
    return { kind: 'valid', value: JSON.parse(body) };
  } catch {
    return { kind: 'invalid', violations: [{ field: '(body)', rule: 'json', message: 'is not valid JSON' }] };
  }
};

/**
 * Checks an SQS message body that should be a stop request or a stop event (the shape an EventBridge rule
 * with the queue as target delivers). The stop queue accepts more shapes: see `src/triggers/queue-message.ts`.
 */
export const parseStopMessageBody = (body: string): ParsedStopMessage => {
  const json = parseJsonBody(body);
  if (json.kind === 'invalid') return json;
  if (looksLikeEventBridgeEvent(json.value)) return parseStopEvent(json.value);
  return parseStopRequest(json.value);
};
