/** `runs`: the running refreshes of a database (or of some of its views), how long each has run. */
import type { Command } from 'commander';
import { createGlueRefreshRuns } from '../../adapters/glue-refresh-runs.ts';
import { isGlob, matchesGlob } from '../../policy/glob.ts';
import type { CommandContext } from '../context.ts';
import { EXIT, UsageError } from '../errors.ts';
import { formatDuration, formatTable, plural } from '../format.ts';
import { compact, jsonOption } from '../options.ts';

interface RunsOptions {
  readonly database?: string;
  readonly tables?: string;
  readonly catalogId?: string;
  readonly queueUrl?: string;
  readonly json?: boolean;
}

export const registerRuns = (program: Command, context: CommandContext): void => {
  program
    .command('runs')
    .summary('list the running refreshes of a database')
    .description(
      'Lists the refreshes that are STARTING or RUNNING in a database, or in the views --tables names, with ' +
        'their run ids, start times and how long each has run. Read-only.',
    )
    .option('--database <name>', 'the database (required)')
    .option('--tables <list>', 'only these views: comma-separated names or globs (* any characters, ? one)')
    .option('--catalog-id <id>', 'the Data Catalog (account ID); default: the --stage stack’s account')
    .option('--queue-url <url-or-arn>', 'the stop queue, whose account is the catalog (instead of --stage)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  glue-mv-stop runs --stage prod --database sales
  glue-mv-stop runs --catalog-id 123456789012 --region eu-west-1 --database sales --tables 'daily_*' --json`,
    )
    .action(async (_options: unknown, self: Command) => {
      const options = context.options<RunsOptions>(self);
      if (options.database === undefined) throw new UsageError('which database? pass --database <name>');
      const patterns = options.tables
        ?.split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '') ?? ['*'];
      const catalogId =
        options.catalogId ?? (await context.stack(self, compact({ queueUrl: options.queueUrl })).accountId());
      const single = patterns.length === 1 && !isGlob(patterns[0] ?? '*') ? patterns[0] : undefined;
      const active = await createGlueRefreshRuns(context.aws(self).glue()).activeRuns({
        CatalogId: catalogId,
        DatabaseName: options.database,
        ...(single !== undefined ? { TableName: single } : {}),
      });
      const now = context.now().getTime();
      const runs = active
        .filter((run) => patterns.some((p) => matchesGlob(p, run.target.TableName)))
        .map((run) => ({
          view: `${run.target.DatabaseName}.${run.target.TableName}`,
          catalogId: run.target.CatalogId,
          runId: run.runId,
          status: run.status,
          ...(run.startedAt !== undefined
            ? { startedAt: run.startedAt, runningForMs: Math.max(0, now - Date.parse(run.startedAt)) }
            : {}),
        }))
        .sort((a, b) => a.view.localeCompare(b.view) || a.runId.localeCompare(b.runId));
      if (options.json) {
        context.printJson({ catalogId, database: options.database, tables: patterns, runs });
      } else if (runs.length === 0) {
        context.print(
          `no refresh is running in ${options.database}${options.tables ? ` matching ${options.tables}` : ''}`,
        );
      } else {
        context.print(
          formatTable(
            ['VIEW', 'RUN ID', 'STATUS', 'STARTED', 'RUNNING FOR'],
            runs.map((r) => [
              r.view,
              r.runId,
              r.status,
              r.startedAt ?? '?',
              r.runningForMs !== undefined ? formatDuration(r.runningForMs) : '?',
            ]),
          ),
        );
        context.print(
          `${plural(runs.length, 'running refresh', 'running refreshes')} in catalog ${catalogId}`,
        );
      }
      context.setExitCode(EXIT.ok);
    });
};
