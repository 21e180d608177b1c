/**
 * The outcome event the stack publishes (`outcome-events.ts`), as a zod schema: the contract subscribers
 * rely on, published as JSON Schema (`docs/contract/outcome-event.schema.json`, `npm run schema`) and
 * documented field by field in `docs/outcome-events.md`. Version 1 has exactly these fields; a change to
 * them is a new version.
 *
 * The detail is a `StopOutcome` (`src/stop/outcome.ts`) other than `retry`, plus `version`. The compile-time
 * check at the end keeps the two in step: the build fails when a variant or a field changes on one side only.
 */
import * as z from 'zod/mini';
import type {
  NotAllowedReason,
  RejectionReason,
  RetryOutcome,
  StopOutcome,
  Trigger,
} from '../stop/outcome.ts';
import { OUTCOME_EVENT_DETAIL_TYPE, OUTCOME_EVENT_SOURCE } from './outcome-events.ts';

const described = <T extends z.core.$ZodType>(schema: T, description: string): T => {
  z.globalRegistry.add(schema, { description });
  return schema;
};

const TRIGGERS = ['sqs', 'eventbridge', 'alarm', 'schedule'] as const;
const FINISHED_OUTCOMES = [
  'stop-requested',
  'already-stopping',
  'not-running',
  'skipped',
  'dry-run',
] as const;
const NOT_ALLOWED_REASONS = ['catalog-not-allowed', 'database-not-allowed', 'table-not-allowed'] as const;
const REJECTION_REASONS = [
  'invalid-request',
  'glue-invalid-input',
  'glue-access-denied',
  'table-not-found',
  'idempotency-key-reused',
  'retries-exhausted',
] as const;

const text = (description: string) => described(z.string(), description);

/** What every outcome event says, whatever its outcome. */
const common = {
  version: described(z.literal('1'), 'Version of this schema.'),
  trigger: described(
    z.enum(TRIGGERS),
    'How the request arrived: sqs, eventbridge, alarm (cost guard) or schedule (maintenance window).',
  ),
  dryRun: described(z.boolean(), 'Whether no stop was (or will be) sent.'),
  replayed: described(z.boolean(), 'Answered from the idempotency record, without calling Glue.'),
  durationMs: described(
    z.number().check(z.nonnegative()),
    'Milliseconds from receipt to outcome in the function.',
  ),
  messageId: z.optional(text('The SQS message, when the request came from the stop queue.')),
  eventId: z.optional(text('The EventBridge event, alarm event or scheduler execution.')),
  idempotencyKey: z.optional(
    text('key:<producer key>, event:<event id> or message:<SQS message id>; valid requests only.'),
  ),
  parentIdempotencyKey: z.optional(text('The key of the scope request a derived request came from.')),
  requestedBy: z.optional(
    text("The request's RequestedBy (for cost guards the alarm, for windows the window)."),
  ),
  requestReason: z.optional(text("The request's Reason.")),
};

const target = described(
  z.strictObject({ CatalogId: z.string(), DatabaseName: z.string(), TableName: z.string() }),
  'The materialized view an exact request named (CatalogId resolved).',
);
const scope = described(
  z.strictObject({ CatalogId: z.string(), DatabaseName: z.string(), TableNames: z.array(z.string()) }),
  'The scope a scope request named: the views of the database matching any of TableNames.',
);
const detail = text(
  'Human text: which field broke which rule, what Glue said, which run was skipped and why, what a dry run ' +
    'would have stopped, how many requests a scope was expanded into.',
);

/** The fields of a refusal; it names a view, a scope, or (a request that could not be read) nothing. */
const refusalFields = <Outcome extends string, Reason extends string>(
  outcome: Outcome,
  reasons: readonly [Reason, ...Reason[]],
) => ({
  ...common,
  outcome: z.literal(outcome),
  reason: described(z.enum(reasons), 'Stable code of why the request was refused.'),
  detail,
});
const notAllowed = refusalFields('not-allowed', NOT_ALLOWED_REASONS);
const rejected = refusalFields('rejected', REJECTION_REASONS);

/** The `detail` of an outcome event: one variant per published outcome, tagged by `outcome`. */
export const outcomeEventDetailSchema = described(
  z.union([
    z.strictObject({
      ...common,
      outcome: z.enum(FINISHED_OUTCOMES),
      target,
      runId: z.optional(text('The refresh task run stopped, skipped, or that a dry run would stop.')),
      detail: z.optional(detail),
    }),
    z.strictObject({
      ...common,
      outcome: z.literal('expanded'),
      scope,
      queued: described(
        z.number().check(z.int(), z.nonnegative()),
        'How many exact stop requests the scope was expanded into.',
      ),
      detail,
    }),
    z.union([z.strictObject({ ...notAllowed, target }), z.strictObject({ ...notAllowed, scope })]),
    z.union([
      z.strictObject({ ...rejected, target }),
      z.strictObject({ ...rejected, scope }),
      z.strictObject(rejected),
    ]),
  ]),
  'The final outcome of one stop request (every outcome but retry).',
);

/** The whole event as a rule or a subscriber sees it; the envelope's other fields are EventBridge's. */
export const outcomeEventSchema = z
  .looseObject({
    source: z.literal(OUTCOME_EVENT_SOURCE),
    'detail-type': z.literal(OUTCOME_EVENT_DETAIL_TYPE),
    detail: outcomeEventDetailSchema,
  })
  .register(z.globalRegistry, {
    title: 'MaterializedViewRefreshStopOutcome',
    description:
      'An outcome event of glue-mv-stop on EventBridge: the audit trail of every stop and refusal ' +
      '(docs/outcome-events.md).',
  });

export type OutcomeEventDetail = z.infer<typeof outcomeEventDetailSchema>;

// Compile-time proof that the schema and the outcomes agree: every published outcome (with its version) is
// a detail the schema describes, every detail it describes is a published outcome, and the code lists
// above name exactly the union members of the core's types.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Published = Exclude<StopOutcome, RetryOutcome> & { readonly version: '1' };
/** zod types an optional field `T | undefined`; the outcomes leave it out instead (exactOptionalPropertyTypes). */
type Present<T> = T extends unknown ? { [K in keyof T]: Exclude<T[K], undefined> } : never;
/** True when every member of the union `T` is assignable to `U` (checked member by member). */
type EachFits<T, U> = [T extends unknown ? (T extends U ? never : T) : never] extends [never] ? true : false;
/** The outcomes' lists are read-only; what the schema parses is a plain array. */
type ReadOnly<T> = T extends readonly (infer E)[]
  ? readonly ReadOnly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: ReadOnly<T[K]> }
    : T;
const outcomesFitSchema: EachFits<Published, ReadOnly<OutcomeEventDetail>> = true;
const schemaFitsOutcomes: EachFits<Present<OutcomeEventDetail>, Published> = true;
const sameTriggers: Same<(typeof TRIGGERS)[number], Trigger> = true;
const sameNotAllowed: Same<(typeof NOT_ALLOWED_REASONS)[number], NotAllowedReason> = true;
const sameRejections: Same<(typeof REJECTION_REASONS)[number], RejectionReason> = true;
void [outcomesFitSchema, schemaFitsOutcomes, sameTriggers, sameNotAllowed, sameRejections];
