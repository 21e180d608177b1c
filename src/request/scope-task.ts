/**
 * A scope task: the stack's own message on the stop queue for one part of a scope's expansion. Producers
 * never send one; the queue function sends them to itself while it expands a scope, and reads them with
 * the same care as any message (a forged or damaged task is refused and parked like an invalid request).
 *
 * - `list`: go on listing the scope's runs from `PageToken` (an expansion that ran short of time).
 * - `stop`: read the page `PageToken` fetches (the first page without one) again and, from that read,
 *   stop the refreshes of `Views`, each guarded by `IssuedAt` and the run id the expansion saw.
 *
 * Body: `{ "ScopeTask": { ... } }`.
 */
import * as z from 'zod/mini';
import {
  IDEMPOTENCY_KEY_MAX_LENGTH,
  NAME_MAX_LENGTH,
  NO_CONTROL_CHARACTERS,
  PARENT_KEY_MAX_LENGTH,
  REASON_MAX_LENGTH,
  REQUESTED_BY_MAX_LENGTH,
  RUN_ID_PATTERN,
  TABLE_NAMES_MAX_ITEMS,
} from './contract.ts';
import { joinPath, type Violation, violationsOf } from './parse.ts';

/** Most views one stop task names: one page re-read serves them all. */
export const TASK_VIEWS_MAX_ITEMS = 100;
/** Glue's NextToken is opaque; bounded so that a task always fits a message. */
export const PAGE_TOKEN_MAX_LENGTH = 4096;
/** The key a scope's derived keys come from: the scope command's own key (a namespace and a producer key). */
export const ROOT_KEY_MAX_LENGTH = IDEMPOTENCY_KEY_MAX_LENGTH + 64;

const text = (maxLength: number) =>
  z.string().check(
    z.minLength(1, 'must not be empty'),
    z.maxLength(maxLength, `must be at most ${maxLength} characters`),
    z.regex(NO_CONTROL_CHARACTERS, 'must not contain control characters'),
    z.refine((value) => value.isWellFormed(), {
      error: 'must not contain lone surrogates',
      params: { rule: 'pattern' },
    }),
  );

export const scopeTaskSchema = z.strictObject({
  Kind: z.enum(['list', 'stop']),
  CatalogId: text(NAME_MAX_LENGTH),
  DatabaseName: text(NAME_MAX_LENGTH),
  TableNames: z
    .array(text(NAME_MAX_LENGTH))
    .check(z.minLength(1), z.maxLength(TABLE_NAMES_MAX_ITEMS, `must list at most ${TABLE_NAMES_MAX_ITEMS}`)),
  /** The scope's run guard: no run that started later is stopped. */
  IssuedAt: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time' }),
  /** The scope command's idempotency key: every view's key derives from it, so no view is stopped twice. */
  RootKey: text(ROOT_KEY_MAX_LENGTH),
  PageToken: z.optional(text(PAGE_TOKEN_MAX_LENGTH)),
  /**
   * How many times this task was handed on unstarted (an invocation out of time sends it on rather than
   * leaving it for the visibility timeout): part of its key, so that the copy is not answered as done.
   */
  Resend: z.optional(z.int().check(z.positive(), z.lte(1_000))),
  /** `stop` tasks: the views to stop from the page, with the run the expansion saw. */
  Views: z.optional(
    z
      .array(
        z.strictObject({
          TableName: text(NAME_MAX_LENGTH),
          RunId: z.string().check(z.regex(RUN_ID_PATTERN)),
        }),
      )
      .check(z.minLength(1), z.maxLength(TASK_VIEWS_MAX_ITEMS, `must list at most ${TASK_VIEWS_MAX_ITEMS}`)),
  ),
  DryRun: z.optional(z.boolean()),
  ParentIdempotencyKey: z.optional(text(PARENT_KEY_MAX_LENGTH)),
  Reason: z.optional(text(REASON_MAX_LENGTH)),
  RequestedBy: z.optional(text(REQUESTED_BY_MAX_LENGTH)),
});

export type ScopeTask = z.infer<typeof scopeTaskSchema>;

/** The field a task's body is wrapped in: what tells a task from a stop request. */
export const SCOPE_TASK_FIELD = 'ScopeTask';

export const scopeTaskBody = (task: ScopeTask): { readonly [SCOPE_TASK_FIELD]: ScopeTask } => ({
  [SCOPE_TASK_FIELD]: task,
});

/** Checks a scope task (the stack's own message, `src/request/scope-task.ts`); `prefix` names where it sits. */
export const parseScopeTask = (
  input: unknown,
  prefix: string,
): { kind: 'task'; task: ScopeTask } | { kind: 'invalid'; violations: Violation[] } => {
  const result = z.safeParse(scopeTaskSchema, input);
  if (!result.success) return { kind: 'invalid', violations: violationsOf(result.error, input, prefix) };
  const task = result.data;
  if ((task.Kind === 'stop') !== (task.Views !== undefined)) {
    return {
      kind: 'invalid',
      violations: [
        {
          field: joinPath(prefix, ['Views']),
          rule: task.Kind === 'stop' ? 'required' : 'value',
          message: task.Kind === 'stop' ? 'is required for a stop task' : 'belongs to stop tasks only',
        },
      ],
    };
  }
  return { kind: 'task', task };
};
