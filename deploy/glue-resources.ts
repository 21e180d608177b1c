/**
 * The IAM `Resource` list for the Glue materialized-view actions (`glue:StopMaterializedViewRefreshTaskRun`,
 * `glue:ListMaterializedViewRefreshTaskRuns`) of the function roles (deploy/roles.ts), generated from the
 * `allow` rules of the stage's configuration (`config/<stage>.json`, see stage-config.ts).
 *
 * Each rule grants, in its catalog's account (the stack's own account when the rule has no `catalogId`):
 *   - the root catalog            arn:<partition>:glue:<region>:<account>:catalog
 *   - the database (or pattern)   …:database/<database>
 *   - each table (or pattern)     …:table/<database>/<table>
 * IAM reads `*` and `?` in a resource ARN exactly as the allow-list globs do (any run of characters, one
 * character), so the policy and the code's allow-list check agree. The ARNs are `Fn::Sub` strings with
 * `${AWS::Partition}`, `${AWS::Region}` and, for the own account, `${AWS::AccountId}`: no AWS
 * credentials are needed at package time. The configuration schema refuses the characters that could
 * break an ARN or an `Fn::Sub` string (white space, "/", ":", ",", "$", braces, backslash).
 *
 * IAM limits a role's inline policies to 10,240 characters in all (white space not counted). The list is
 * in every function role, so packaging fails, naming the configuration file, when it alone would take
 * more than `GLUE_ARNS_BUDGET_CHARS`: the rest of the largest role needs about 1.5 K.
 */
import type { AllowRule } from '../src/policy/stack-config.ts';
import { ACCOUNT, PARTITION, REGION } from './cfn.ts';
import { StageConfigError } from './stage-config.ts';

export const GLUE_ARNS_BUDGET_CHARS = 8000;

export type FnSub = { readonly 'Fn::Sub': string };

/** Characters an ARN list takes in a deployed policy: longest partition and region, quotes and commas. */
const deployedLength = (arns: readonly FnSub[]): number =>
  arns.reduce(
    (total, { 'Fn::Sub': arn }) =>
      total +
      arn
        .replaceAll(PARTITION, 'aws-us-gov')
        .replaceAll(REGION, 'ap-southeast-5')
        .replaceAll(ACCOUNT, '123456789012').length +
      3,
    2,
  );

/** An allow rule as parsed (`AllowRule`), or as written, with `tables` left out. */
type Rule = Pick<AllowRule, 'database'> & {
  readonly catalogId?: string | undefined;
  readonly tables?: readonly string[] | undefined;
};

/** Unique ARNs: catalogs, then databases, then tables, in rule order. */
export const glueResourceArns = (allow: readonly Rule[]): FnSub[] => {
  if (!Array.isArray(allow) || allow.length === 0) {
    throw new Error('the configuration allows no database: "allow" must have at least one rule');
  }
  const catalogs: string[] = [];
  const databases: string[] = [];
  const tables: string[] = [];
  for (const rule of allow) {
    const prefix = `arn:${PARTITION}:glue:${REGION}:${rule.catalogId ?? ACCOUNT}`;
    catalogs.push(`${prefix}:catalog`);
    databases.push(`${prefix}:database/${rule.database}`);
    for (const table of rule.tables ?? ['*']) tables.push(`${prefix}:table/${rule.database}/${table}`);
  }
  return [...new Set([...catalogs, ...databases, ...tables])].map((arn) => ({ 'Fn::Sub': arn }));
};

/** `glueResourceArns`, failing when the list would not fit the roles' inline policy size limit. */
export const checkedGlueResourceArns = (
  allow: readonly Rule[],
  { configFile = 'the configuration', budget = GLUE_ARNS_BUDGET_CHARS } = {},
): FnSub[] => {
  const arns = glueResourceArns(allow);
  const length = deployedLength(arns);
  if (length > budget) {
    throw new StageConfigError(
      `${configFile}: the allow rules expand to ${arns.length} Glue ARNs (about ${length} characters in each ` +
        `function role), over the ${budget}-character share of IAM's 10,240-character inline policy limit ` +
        'per role. Use glob patterns ("campaign_*", "*") instead of long table lists.',
    );
  }
  return arns;
};
