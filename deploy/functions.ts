/**
 * The stack's functions, one row each: the table the roles, alarms and dashboard are generated from.
 * The functions themselves (handler, package, events) are declared in serverless.yml's `functions:`; a
 * template test checks that both list the same functions, and that each handler runs with the `trigger`
 * given here.
 */
import type { Trigger } from '../src/stop/outcome.ts';

export interface FunctionRow {
  /** The key in serverless.yml's `functions:`. */
  readonly name: string;
  /** The `trigger` its runtime is created with (handlers/*.ts): the metrics' `trigger` dimension. */
  readonly trigger: Trigger;
  /** What invokes it, in a few words (dashboard titles). */
  readonly source: string;
  /**
   * How it is invoked: by the SQS event source (a failed record is retried by SQS, then redriven), or
   * asynchronously by EventBridge or Scheduler (Lambda retries twice, then the on-failure destination).
   */
  readonly invocation: 'event-source' | 'async';
  /**
   * Whether it calls Glue (List and Stop), and the stage param that bounds how many of its instances run
   * at once: the Glue budget is shared among all of them (deploy/stage-config.ts `glueRatePerInstance`).
   * The alarm and schedule functions hand scopes to the stop queue and make no Glue call.
   */
  readonly glue: { readonly concurrencyParam: 'maximumConcurrency' | 'eventConcurrency' } | undefined;
}

export const FUNCTIONS = [
  {
    name: 'stopFromQueue',
    trigger: 'sqs',
    source: 'stop queue',
    invocation: 'event-source',
    glue: { concurrencyParam: 'maximumConcurrency' },
  },
  {
    name: 'stopFromEvent',
    trigger: 'eventbridge',
    source: 'stop events',
    invocation: 'async',
    glue: { concurrencyParam: 'eventConcurrency' },
  },
  { name: 'stopFromAlarm', trigger: 'alarm', source: 'cost guards', invocation: 'async', glue: undefined },
  {
    name: 'stopFromSchedule',
    trigger: 'schedule',
    source: 'maintenance windows',
    invocation: 'async',
    glue: undefined,
  },
] as const satisfies readonly FunctionRow[];

export type FunctionName = (typeof FUNCTIONS)[number]['name'];

export const EVERY_FUNCTION: readonly FunctionName[] = FUNCTIONS.map((fn) => fn.name);

/** Functions that call Glue: they share the stage's Glue budget and hold the Glue permissions. */
export const GLUE_CALLERS: readonly FunctionRow[] = FUNCTIONS.filter((fn) => fn.glue !== undefined);

/** Functions invoked asynchronously: they have an on-failure destination (the dead-letter queue). */
export const ASYNC_FUNCTIONS: readonly FunctionRow[] = FUNCTIONS.filter((fn) => fn.invocation === 'async');

export const functionNamed = (name: FunctionName): FunctionRow => {
  const found = FUNCTIONS.find((fn) => fn.name === name);
  if (!found) throw new Error(`no function ${name}`);
  return found;
};

/** `stopFromQueue` → `StopFromQueue`: osls's prefix of the function's logical IDs. */
const pascal = (name: string): string => `${name.charAt(0).toUpperCase()}${name.slice(1)}`;

/** Logical IDs osls gives a function's resources, and the role serverless.yml names (`<Fn>Role`). */
export const lambdaFunctionId = (fn: FunctionRow): string => `${pascal(fn.name)}LambdaFunction`;
export const logGroupId = (fn: FunctionRow): string => `${pascal(fn.name)}LogGroup`;
export const roleId = (fn: FunctionRow): string => `${pascal(fn.name)}Role`;
/** The logical ID of one of the function's own resources (`StopFromQueue` + `ErrorsAlarm`). */
export const functionResourceId = (fn: FunctionRow, suffix: string): string => `${pascal(fn.name)}${suffix}`;

/** `stopFromQueue` → `stop-from-queue`: the role's policy name (and the bundle's folder). */
export const kebab = (name: string): string =>
  name.replace(/[A-Z]/gu, (letter) => `-${letter.toLowerCase()}`);
