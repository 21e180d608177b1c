'use strict';
/**
 * Variable resolver for serverless.yml: turns the stage params `glueCatalogId` and `glueDatabases` into
 * the IAM `Resource` list for `glue:StopMaterializedViewRefreshTaskRun` (Serverless variables cannot
 * map over a list, so this file does it).
 *
 *   Resource: ${file(./deploy/glue-resources.cjs):stopResources}
 *
 * The list holds the catalog ARN, one database ARN per database, and one `table/<db>/*` ARN per
 * database (every table and materialized view in it). `glueDatabases: '*'` means every database of the
 * catalog. An empty `glueCatalogId` means the stack's own account: the ARNs are then `Fn::Sub` strings
 * with `${AWS::AccountId}`, which needs no AWS credentials at package time.
 */

/**
 * Characters a database name may not contain here: wildcards (`*`, `?`) would widen the policy, and
 * `/`, `:`, `,`, `$`, `{`, `}` and whitespace would break the ARN or the Fn::Sub string.
 */
const UNSAFE_NAME = /[*?/:,${}\s]/u;
const ACCOUNT_ID = /^\d{12}$/u;
const ALL_DATABASES = '*';

/** Splits the comma-separated `glueDatabases` param into unique names, or `['*']` for all databases. */
function parseDatabases(value) {
  if (Array.isArray(value)) return parseDatabases(value.join(','));
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error('param glueDatabases must list database names separated by commas, or be "*"');
  }
  const names = [
    ...new Set(
      value
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    ),
  ];
  if (names.includes(ALL_DATABASES)) {
    if (names.length > 1) throw new Error('param glueDatabases: "*" cannot be combined with names');
    return [ALL_DATABASES];
  }
  for (const name of names) {
    if (name.length > 255 || UNSAFE_NAME.test(name)) {
      throw new Error(
        `param glueDatabases: "${name}" is not a usable database name (no wildcards, "/", ":", ",", "$", braces or spaces; at most 255 characters)`,
      );
    }
  }
  if (names.length === 0) throw new Error('param glueDatabases lists no database');
  return names;
}

/** The catalog's account: a 12-digit account ID, or empty for the stack's own account. */
function parseCatalogId(value) {
  const id = value == null ? '' : String(value).trim();
  if (id !== '' && !ACCOUNT_ID.test(id)) {
    throw new Error(
      `param glueCatalogId must be a 12-digit AWS account ID, or empty for the stack's account; got "${id}"`,
    );
  }
  return id;
}

/**
 * IAM resources for the stop action, as CloudFormation values.
 * @param {{ catalogId?: unknown, databases: unknown }} params
 */
function glueStopResources({ catalogId, databases }) {
  const account = parseCatalogId(catalogId) || `\${AWS::AccountId}`;
  const prefix = `arn:\${AWS::Partition}:glue:\${AWS::Region}:${account}`;
  const names = parseDatabases(databases);
  const arns = [
    `${prefix}:catalog`,
    ...names.map((db) => `${prefix}:database/${db}`),
    ...names.map((db) => `${prefix}:table/${db}/*`),
  ];
  return arns.map((arn) => ({ 'Fn::Sub': arn }));
}

module.exports = {
  parseDatabases,
  parseCatalogId,
  glueStopResources,
  /** Serverless variable source: `${file(./deploy/glue-resources.cjs):stopResources}`. */
  stopResources: async ({ resolveVariable }) =>
    glueStopResources({
      catalogId: await resolveVariable('param:glueCatalogId'),
      databases: await resolveVariable('param:glueDatabases'),
    }),
};
