/**
 * The stop request contract: what producers put in an SQS message body or an EventBridge event `detail`.
 *
 * The three target fields keep the spelling and the rules of the Glue API's own request syntax
 * (https://docs.aws.amazon.com/glue/latest/webapi/API_StopMaterializedViewRefreshTaskRun.html);
 * the other fields are metadata this tool adds. Unknown fields are refused so that a typo
 * (`Tablename`) is reported instead of silently ignored.
 */
import * as z from 'zod/mini';
import type { ScopeStopRequest, StopRequest, TableStopRequest } from './types.ts';

/** Longest name the Glue API accepts for CatalogId, DatabaseName and TableName. */
export const NAME_MAX_LENGTH = 255;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;
export const REASON_MAX_LENGTH = 1024;
export const REQUESTED_BY_MAX_LENGTH = 255;
/** Most table names or globs one scope request may list. */
export const TABLE_NAMES_MAX_ITEMS = 100;
/** A derived key carries its parent's (a producer key of up to 255 characters plus a namespace). */
export const PARENT_KEY_MAX_LENGTH = 512;
/**
 * An instant as `IssuedAt` takes it: ISO-8601 in UTC, years 0000 to 9999. `toISOString` writes other
 * years with six digits and a sign (`+275760-09-13T…`), which the contract refuses, so such an instant
 * (an absurd SentTimestamp or event time) gives `undefined` rather than a request the stop queue refuses.
 */
export const issuedAtOf = (millis: number): string | undefined => {
  const date = new Date(millis);
  if (Number.isNaN(date.getTime())) return undefined;
  const iso = date.toISOString();
  return /^\d{4}-/.test(iso) ? iso : undefined;
};

/** The API's pattern for MaterializedViewRefreshTaskRunId. */
export const RUN_ID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * The API's pattern `[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*` allows every code point
 * except controls other than tab, U+FFFE, U+FFFF and lone surrogates. It is checked in two parts: this
 * regex, which any regex dialect reads the same way (so the published JSON Schema works with every
 * validator), and a well-formedness check for lone surrogates, which only a Unicode-aware regex could
 * express. Lengths count code points, as zod does.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: naming the refused control characters is the point.
export const NO_CONTROL_CHARACTERS = /^[^\u0000-\u0008\u000A-\u001F\uFFFE\uFFFF]*$/;

/** Same message for both halves of the API pattern: producers see one rule, `pattern`. */
const PATTERN_MESSAGE =
  'must not contain control characters (tab excepted), U+FFFE, U+FFFF or lone surrogates';

const text = (maxLength: number, description: string) =>
  z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.maxLength(maxLength, `must be at most ${maxLength} characters`),
      z.regex(NO_CONTROL_CHARACTERS, PATTERN_MESSAGE),
      z.refine((value) => value.isWellFormed(), { error: PATTERN_MESSAGE, params: { rule: 'pattern' } }),
    )
    .register(z.globalRegistry, { description });

export const stopRequestSchema = z
  .strictObject({
    CatalogId: z.optional(
      text(
        NAME_MAX_LENGTH,
        "ID of the Data Catalog that holds the materialized view. Defaults to the function's own AWS account ID.",
      ),
    ),
    DatabaseName: text(NAME_MAX_LENGTH, 'Database that holds the materialized view.'),
    TableName: z.optional(
      text(
        NAME_MAX_LENGTH,
        'Materialized view whose refresh task run is to be stopped. Give this or TableNames.',
      ),
    ),
    TableNames: z.optional(
      z
        .array(text(NAME_MAX_LENGTH, 'A table name, or a glob with * and ?.'))
        .check(
          z.minLength(1, 'must name at least one table, or "*" for all'),
          z.maxLength(TABLE_NAMES_MAX_ITEMS, `must list at most ${TABLE_NAMES_MAX_ITEMS} names`),
        )
        .register(z.globalRegistry, {
          description:
            'A scope instead of one view: stop every running refresh in the database whose table matches one of ' +
            'these names or globs (* any characters, ? one character; ["*"] = all tables). Give this or TableName.',
        }),
    ),
    RunId: z.optional(
      z
        .string()
        .check(z.regex(RUN_ID_PATTERN, 'must be a refresh task run ID (a UUID)'))
        .register(z.globalRegistry, {
          description: 'Run guard: stop only if this is still the current run of the table.',
        }),
    ),
    IssuedAt: z.optional(
      z.iso
        .datetime({ offset: true, error: 'must be an ISO-8601 date-time, e.g. 2026-11-29T02:00:00Z' })
        .register(z.globalRegistry, {
          description: 'Run guard: stop only a run that started at or before this time.',
        }),
    ),
    DryRun: z.optional(
      z.boolean().register(z.globalRegistry, {
        description: 'Run every step (validation, guardrails, expansion, idempotency) but send no stop.',
      }),
    ),
    ParentIdempotencyKey: z.optional(
      text(PARENT_KEY_MAX_LENGTH, "Set on requests derived from a scope request: the parent request's key."),
    ),
    IdempotencyKey: z.optional(
      text(
        IDEMPOTENCY_KEY_MAX_LENGTH,
        'Key chosen by the producer: requests with the same key are acted on once. ' +
          'Defaults to the EventBridge event id, else the SQS message id.',
      ),
    ),
    Reason: z.optional(text(REASON_MAX_LENGTH, 'Why the stop is asked for, kept in logs and outcomes.')),
    RequestedBy: z.optional(text(REQUESTED_BY_MAX_LENGTH, 'Who or what asked for the stop.')),
  })
  .register(z.globalRegistry, {
    title: 'StopMaterializedViewRefreshRequest',
    description:
      'Asks glue-mv-stop to stop the running refresh task run of one Glue materialized view (TableName), or of ' +
      'every view of a database that matches a scope (TableNames).',
  });

export type { ScopeStopRequest, StopRequest, TableStopRequest } from './types.ts';

// Compile-time proof that the published types describe exactly what the schema accepts: every field of
// the schema is in the types with the same type, and every request the types allow passes the schema
// (the rule "TableName or TableNames, not both" is checked in parse.ts).
type SchemaOutput = z.infer<typeof stopRequestSchema>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const typesAreSchemaOutputs: StopRequest extends SchemaOutput ? true : false = true;
const sameFields: Same<keyof SchemaOutput, keyof TableStopRequest | keyof ScopeStopRequest> = true;
void [typesAreSchemaOutputs, sameFields];

/** The Glue API's target triple, with the catalog resolved. */
export interface StopTarget {
  readonly CatalogId: string;
  readonly DatabaseName: string;
  readonly TableName: string;
}

/** A scope: the tables of one database matching any of `TableNames` (names or globs). */
export interface ScopeTarget {
  readonly CatalogId: string;
  readonly DatabaseName: string;
  readonly TableNames: readonly string[];
}
