/**
 * The guardrail: a request outside the stage's allow-list is refused before any Glue call. The same rules
 * generate the functions' IAM policy (deploy/), so the code's check and the permission agree.
 */
import { matchesGlob } from './glob.ts';
import type { AllowRule } from './stack-config.ts';

/** Why a request is outside the allow-list. */
export type NotAllowedReason = 'catalog-not-allowed' | 'database-not-allowed' | 'table-not-allowed';

export type AllowVerdict =
  | { readonly kind: 'allowed' }
  | { readonly kind: 'not-allowed'; readonly reason: NotAllowedReason; readonly detail: string };

interface Target {
  readonly CatalogId: string;
  readonly DatabaseName: string;
  /** Absent for a scope: then only the catalog and the database are checked. */
  readonly TableName?: string;
}

/**
 * A rule without `catalogId` covers the function's own account only, so another account's catalog is
 * refused unless a rule names it.
 * @example checkAllowed([{ database: 'sales', tables: ['*'] }], '123456789012',
 *   { CatalogId: '123456789012', DatabaseName: 'sales', TableName: 'daily_mv' }) // { kind: 'allowed' }
 */
export const checkAllowed = (
  rules: readonly AllowRule[],
  ownAccountId: string,
  target: Target,
): AllowVerdict => {
  const inCatalog = rules.filter((rule) => (rule.catalogId ?? ownAccountId) === target.CatalogId);
  if (inCatalog.length === 0) {
    return {
      kind: 'not-allowed',
      reason: 'catalog-not-allowed',
      detail:
        target.CatalogId === ownAccountId
          ? `no allow rule covers the catalog of account ${target.CatalogId}`
          : `catalog ${target.CatalogId} is not this account's and no allow rule names it`,
    };
  }
  const inDatabase = inCatalog.filter((rule) => matchesGlob(rule.database, target.DatabaseName));
  if (inDatabase.length === 0) {
    return {
      kind: 'not-allowed',
      reason: 'database-not-allowed',
      detail: `database ${target.DatabaseName} is not in the allow-list`,
    };
  }
  const { TableName } = target;
  if (TableName === undefined) return { kind: 'allowed' };
  if (inDatabase.some((rule) => rule.tables.some((pattern) => matchesGlob(pattern, TableName)))) {
    return { kind: 'allowed' };
  }
  return {
    kind: 'not-allowed',
    reason: 'table-not-allowed',
    detail: `table ${target.DatabaseName}.${TableName} is not in the allow-list`,
  };
};
