/**
 * One IAM role per function, generated from one table, `PERMISSIONS`: each row is a policy statement
 * (`Sid`) on one resource, and says which functions may call which of its actions. A function's role
 * holds the rows that grant it at least one action, in table order, with just its actions. To give a
 * function a new permission, add a row (or a function to an action's list); nothing else changes.
 *
 * osls v3 has no per-function IAM statements, so serverless.yml names each role with
 * `role: !Sub '${<Fn>Role.Arn}'` (the `!Sub` form keeps osls from adding a `DependsOn` that duplicates
 * the reference, cfn-lint W3005).
 */
import {
  ACCOUNT,
  actions,
  assumedBy,
  getAtt,
  type Json,
  type JsonObject,
  PARTITION,
  policyDocument,
  REGION,
  type Resources,
  type Statement,
  sub,
} from './cfn.ts';
import {
  EVERY_FUNCTION,
  FUNCTIONS,
  type FunctionName,
  type FunctionRow,
  GLUE_CALLERS,
  kebab,
  logGroupId,
  roleId,
} from './functions.ts';

export const GLUE_STOP = 'glue:StopMaterializedViewRefreshTaskRun';
export const GLUE_LIST = 'glue:ListMaterializedViewRefreshTaskRuns';

/**
 * Actions cfn-lint does not know (W3037: its list comes from the Service Authorization Reference, which
 * does not have the Glue materialized-view actions yet; they exist in the Glue API). A role that has one
 * carries a W3037 waiver in its Metadata; docs/deployment.md explains it.
 */
const UNLISTED_ACTIONS: readonly string[] = [GLUE_STOP, GLUE_LIST];

/** What a statement's resource is made of besides the stack's own resources. */
export interface RoleSettings {
  readonly service: string;
  /** The Glue ARNs of the allow rules (deploy/glue-resources.ts). */
  readonly glueArns: readonly Json[];
  /** The bus outcome events are published to (param eventBusName). */
  readonly eventBusName: string;
}

export interface PermissionRow {
  readonly sid: string;
  readonly resource: (fn: FunctionRow, settings: RoleSettings) => Json;
  /** Each action, in the statement's order, with the functions that may call it. */
  readonly actions: Readonly<Record<string, readonly FunctionName[]>>;
}

/** Functions that call Glue (deploy/functions.ts): they list and stop. The alarm and schedule functions
 * hand scopes to the stop queue and have no Glue permission. */
const GLUE_CALLERS_BY_NAME = GLUE_CALLERS.map((fn) => fn.name as FunctionName);
/** The stop queue's event source runs stopFromQueue with its role: only it receives and deletes. */
const CONSUMERS: readonly FunctionName[] = ['stopFromQueue'];

export const PERMISSIONS: readonly PermissionRow[] = [
  {
    sid: 'OwnLogGroup',
    resource: (fn) => getAtt(logGroupId(fn), 'Arn'),
    actions: { 'logs:CreateLogStream': EVERY_FUNCTION, 'logs:PutLogEvents': EVERY_FUNCTION },
  },
  {
    // The allow rules' ARNs, for both actions: see docs/deployment.md on what Glue authorizes.
    sid: 'MaterializedViewRefreshRuns',
    resource: (_, { glueArns }) => glueArns,
    actions: { [GLUE_STOP]: GLUE_CALLERS_BY_NAME, [GLUE_LIST]: GLUE_CALLERS_BY_NAME },
  },
  {
    sid: 'IdempotencyRecords',
    resource: () => getAtt('IdempotencyTable', 'Arn'),
    actions: {
      'dynamodb:GetItem': EVERY_FUNCTION,
      'dynamodb:PutItem': EVERY_FUNCTION,
      'dynamodb:UpdateItem': EVERY_FUNCTION,
      'dynamodb:DeleteItem': EVERY_FUNCTION,
      // What stop tasks record of their views, many items per call (src/adapters/view-ledger.ts).
      'dynamodb:BatchGetItem': CONSUMERS,
      'dynamodb:BatchWriteItem': CONSUMERS,
    },
  },
  {
    // Refused requests parked by the code; for the asynchronously invoked functions also the on-failure
    // destination, which Lambda sends to with the function's role.
    sid: 'DeadLetters',
    resource: () => getAtt('DeadLetterQueue', 'Arn'),
    actions: { 'sqs:SendMessage': EVERY_FUNCTION },
  },
  {
    // Scopes handed to the stop queue (cost guards, windows, scope events) and the tasks of an expansion.
    sid: 'FanOut',
    resource: () => getAtt('StopQueue', 'Arn'),
    actions: { 'sqs:SendMessage': EVERY_FUNCTION },
  },
  {
    sid: 'PublishOutcomes',
    resource: (_, { eventBusName }) =>
      sub(`arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/${eventBusName}`),
    actions: { 'events:PutEvents': EVERY_FUNCTION },
  },
  {
    sid: 'ConsumeStopQueue',
    resource: () => getAtt('StopQueue', 'Arn'),
    actions: {
      'sqs:ReceiveMessage': CONSUMERS,
      'sqs:DeleteMessage': CONSUMERS,
      'sqs:GetQueueAttributes': CONSUMERS,
      'sqs:ChangeMessageVisibility': CONSUMERS,
    },
  },
];

/** The statements of one function's policy. */
export const statementsFor = (
  fn: FunctionRow,
  settings: RoleSettings,
  permissions: readonly PermissionRow[] = PERMISSIONS,
): Statement[] =>
  permissions.flatMap((row) => {
    const granted = Object.entries(row.actions)
      .filter(([, functions]) => (functions as readonly string[]).includes(fn.name))
      .map(([action]) => action);
    if (granted.length === 0) return [];
    return [
      { Sid: row.sid, Effect: 'Allow', Action: actions(granted), Resource: row.resource(fn, settings) },
    ];
  });

const lintWaivers = (statements: readonly Statement[]): JsonObject | undefined => {
  const all = statements.flatMap((statement) =>
    typeof statement.Action === 'string' ? [statement.Action] : statement.Action,
  );
  return all.some((action) => UNLISTED_ACTIONS.includes(action))
    ? { 'cfn-lint': { config: { ignore_checks: ['W3037'] } } }
    : undefined;
};

/** `<Fn>Role` for every function of the table. */
export const functionRoles = (
  settings: RoleSettings,
  functions: readonly FunctionRow[] = FUNCTIONS,
): Resources =>
  Object.fromEntries(
    functions.map((fn) => {
      const statements = statementsFor(fn, settings);
      const metadata = lintWaivers(statements);
      return [
        roleId(fn),
        {
          Type: 'AWS::IAM::Role',
          ...(metadata ? { Metadata: metadata } : {}),
          Properties: {
            Description: `${settings.service} ${fn.name} execution role`,
            AssumeRolePolicyDocument: assumedBy('lambda.amazonaws.com'),
            Policies: [{ PolicyName: kebab(fn.name), PolicyDocument: policyDocument(statements) }],
          },
        },
      ];
    }),
  );
