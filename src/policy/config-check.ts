/**
 * The check of a stage configuration as an operator sees it: every error the schema and the rules across
 * fields find (`validateStackConfig`), and warnings for what is valid but cannot do anything, each tied to
 * the file and the field, one line each:
 *
 *   config/prod.json: allow.0.table: unknown field "table" (did you mean "tables"?) (unknown-field)
 *   config/prod.json: maintenanceWindows.0.schedule: minutes field "75": 75 is out of range 0-59 (cron-expression)
 *   config/prod.json: costGuards.0.scope: warning: … lies entirely outside the allow-list … (outside-allow-list)
 *
 * Packaging (deploy/stage-config.ts) and the local run use it; `parseStackConfig` throws the same errors.
 */
import { checkAllowed } from './allow-list.ts';
import { isGlob, matchesGlob } from './glob.ts';
import { type AllowRule, type Scope, type StackConfig, validateStackConfig } from './stack-config.ts';

/** One problem of one configuration file. Errors stop packaging; warnings are printed and packaging goes on. */
export interface ConfigProblem {
  readonly severity: 'error' | 'warning';
  /** The file as the operator knows it, e.g. `config/prod.json`. */
  readonly file: string;
  /**
   * Dotted path of the field, e.g. `maintenanceWindows.0.schedule`; `(root)` for the document, `''` for the
   * file as a whole (it cannot be read, or is not JSON).
   */
  readonly path: string;
  /** The rule broken, a stable code: `unknown-field`, `cron-expression`, `time-zone`, `outside-allow-list`, … */
  readonly rule: string;
  readonly message: string;
}

/**
 * Stands for the stack's own account, unknown until deployment: an allow rule or a scope without
 * `catalogId` means it. Not 12 digits, so it never equals an account a rule or a scope names.
 */
const OWN_ACCOUNT = 'own-account';

/**
 * Whether some name matches both globs (`*` any run of characters, `?` exactly one): a walk over pairs of
 * positions in the two patterns, so at most |a| × |b| steps.
 * @example globsOverlap('campaign_*', '*_mv') // true: campaign_x_mv
 */
export const globsOverlap = (a: string, b: string): boolean => {
  const p = [...a];
  const q = [...b];
  const seen = new Set<number>();
  const pending: (readonly [number, number])[] = [[0, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [i, j] = next;
    const key = i * (q.length + 1) + j;
    if (seen.has(key)) continue;
    seen.add(key);
    if (i === p.length && j === q.length) return true;
    const [x, y] = [p[i], q[j]];
    // A `*` matches nothing more, or takes the next character the other pattern produces.
    if (x === '*') pending.push([i + 1, j], ...(j < q.length ? [[i, j + 1] as const] : []));
    if (y === '*') pending.push([i, j + 1], ...(i < p.length ? [[i + 1, j] as const] : []));
    if (x !== undefined && y !== undefined && x !== '*' && y !== '*' && (x === '?' || y === '?' || x === y)) {
      pending.push([i + 1, j + 1]);
    }
  }
  return false;
};

/**
 * Why nothing in `scope` can ever be stopped under `allow`, or `undefined` when something can. The scope's
 * database is a name (it becomes a request's DatabaseName); its tables may be globs.
 */
const whyOutside = (allow: readonly AllowRule[], scope: Scope): string | undefined => {
  const catalog = scope.catalogId ?? OWN_ACCOUNT;
  const target = { CatalogId: catalog, DatabaseName: scope.database };
  const verdict = checkAllowed(allow, OWN_ACCOUNT, target);
  if (verdict.kind === 'not-allowed') {
    if (verdict.reason === 'database-not-allowed')
      return `database "${scope.database}" is not in the allow-list`;
    return scope.catalogId
      ? `no allow rule names catalog ${scope.catalogId} (a rule without catalogId covers the stack's own account only)`
      : "no allow rule covers the stack's own catalog";
  }
  const rules = allow.filter(
    (rule) => (rule.catalogId ?? OWN_ACCOUNT) === catalog && matchesGlob(rule.database, scope.database),
  );
  const reachable = scope.tables.some((table) =>
    isGlob(table)
      ? rules.some((rule) => rule.tables.some((pattern) => globsOverlap(pattern, table)))
      : checkAllowed(allow, OWN_ACCOUNT, { ...target, TableName: table }).kind === 'allowed',
  );
  if (reachable) return undefined;
  const tables = scope.tables.map((table) => `"${table}"`).join(', ');
  return `no table matching ${tables} is allowed in database "${scope.database}"`;
};

/** Cost guards and windows that are valid but can never stop anything. */
const allowListWarnings = (config: StackConfig): Omit<ConfigProblem, 'severity' | 'file'>[] => {
  const warn = (path: string, what: string, why: string) => ({
    path,
    rule: 'outside-allow-list',
    message: `${what} can never stop anything: its scope lies entirely outside the allow-list (${why})`,
  });
  return [
    ...config.costGuards.flatMap((guard, index) => {
      const why = whyOutside(config.allow, guard.scope);
      return why ? [warn(`costGuards.${index}.scope`, `cost guard "${guard.alarmName}"`, why)] : [];
    }),
    ...config.maintenanceWindows.flatMap((window, index) => {
      const why = whyOutside(config.allow, window.scope);
      return why
        ? [warn(`maintenanceWindows.${index}.scope`, `maintenance window "${window.name}"`, why)]
        : [];
    }),
  ];
};

/**
 * Checks a stage configuration (the parsed JSON of `file`). `config` is there when it has no errors;
 * `problems` lists every error, or else every warning, in document order.
 * @example checkStackConfig({ allow: [{ database: 'sales', table: ['x'] }] }, 'config/prod.json').problems
 *   // [{ severity: 'error', file: 'config/prod.json', path: 'allow.0.table', rule: 'unknown-field',
 *   //    message: 'unknown field "table" (did you mean "tables"?)' }]
 */
export const checkStackConfig = (
  value: unknown,
  file: string,
): { config?: StackConfig; problems: ConfigProblem[] } => {
  const { config, violations } = validateStackConfig(value);
  if (!config) return { problems: violations.map((v) => ({ severity: 'error', file, ...v })) };
  return {
    config,
    problems: allowListWarnings(config).map((w) => ({ severity: 'warning', file, ...w })),
  };
};

/**
 * One line per problem: file, field, (for a warning, the word), what is wrong, and the rule in parentheses.
 * @example formatProblem(problem) // 'config/prod.json: allow.0.table: unknown field "table" (did you mean "tables"?) (unknown-field)'
 */
export const formatProblem = (problem: ConfigProblem): string =>
  [
    problem.file,
    ...(problem.path ? [problem.path] : []),
    `${problem.severity === 'warning' ? 'warning: ' : ''}${problem.message} (${problem.rule})`,
  ].join(': ');

/** Whether any of the problems stops the configuration from being used. */
export const hasErrors = (problems: readonly ConfigProblem[]): boolean =>
  problems.some((problem) => problem.severity === 'error');
