/**
 * Local validation with the stack's own contract: the same zod schema and the same cross-field rules the
 * functions apply, so a request this accepts is one the stack accepts, and a refusal reads the same.
 */
import { describeViolations, parseStopRequest } from '../request/parse.ts';
import type { StopValidation } from './types.ts';

/**
 * Checks any value against the stop request contract.
 * @example
 * const checked = validateStopRequest(JSON.parse(text));
 * if (checked.kind === 'invalid') console.error(checked.message); // "TableName: is required (or TableNames, for a scope) (required)"
 */
export const validateStopRequest = (value: unknown): StopValidation => {
  const parsed = parseStopRequest(value);
  if (parsed.kind === 'valid') return { kind: 'valid', request: parsed.request };
  return { kind: 'invalid', violations: parsed.violations, message: describeViolations(parsed.violations) };
};
