/**
 * `plan`: what a request, a cost guard or a maintenance window of the stage would stop right now. Reads
 * the stage configuration and lists the running refreshes (read-only List calls); never stops anything.
 */
import type { Command } from 'commander';
import { createGlueRefreshRuns } from '../../adapters/glue-refresh-runs.ts';
import type { CommandContext } from '../context.ts';
import { EXIT, UsageError } from '../errors.ts';
import { formatDuration, formatTable, plural } from '../format.ts';
import { addRequestOptions, compact, jsonOption } from '../options.ts';
import { costGuardRequest, maintenanceWindowRequest, type Plan, planRequest } from '../plan.ts';
import {
  checkRequest,
  describeInvalid,
  gatherRequests,
  hasTargetFlags,
  type RequestFlags,
} from '../request-input.ts';
import { loadStageConfig } from '../stage-config.ts';
import { targetOf } from './send.ts';

interface PlanOptions extends RequestFlags {
  readonly file?: string;
  readonly alarm?: string;
  readonly window?: string;
  readonly config?: string;
  readonly accountId?: string;
  readonly queueUrl?: string;
  readonly json?: boolean;
}

const WHY: Readonly<Record<string, string>> = {
  'not-allowed': 'outside the allow-list',
  'run-guard': 'run guard',
  'not-current-run': 'not the current run',
};

export const renderPlan = (plan: Plan, configFile: string): string => {
  const lines: string[] = [];
  lines.push(
    `plan for ${plan.origin}: ${targetOf(plan.request)} in catalog ${plan.catalogId} (allow-list from ${configFile})`,
  );
  if (plan.refused) {
    lines.push(`the stack would refuse the request as ${plan.refused.reason}: ${plan.refused.detail}`);
  }
  if (plan.dryRun) lines.push(`dry run: ${plan.dryRun}; the stops below would be reported, not sent`);
  if (plan.stops.length === 0) {
    lines.push(
      plan.leftAlone.length === 0
        ? 'would stop nothing: no refresh of these views is running'
        : 'would stop nothing: every running refresh of these views is left alone',
    );
  } else {
    lines.push(`would stop ${plural(plan.stops.length, 'running refresh', 'running refreshes')}:`);
    lines.push(
      formatTable(
        ['VIEW', 'RUN ID', 'STATUS', 'STARTED', 'RUNNING FOR'],
        plan.stops.map((s) => [
          s.view,
          s.runId,
          s.status,
          s.startedAt ?? '?',
          s.runningForMs !== undefined ? formatDuration(s.runningForMs) : '?',
        ]),
      ).trimEnd(),
    );
  }
  if (plan.leftAlone.length > 0) {
    lines.push(`left alone (${plan.leftAlone.length}):`);
    lines.push(
      formatTable(
        ['VIEW', 'RUN ID', 'STARTED', 'RUNNING FOR', 'WHY'],
        plan.leftAlone.map((l) => [
          l.view,
          l.runId ?? '?',
          l.startedAt ?? '?',
          l.runningForMs !== undefined ? formatDuration(l.runningForMs) : '?',
          `${WHY[l.why] ?? l.why}: ${l.detail}`,
        ]),
      ).trimEnd(),
    );
  }
  if (plan.outsideScope > 0) {
    lines.push(
      `${plural(plan.outsideScope, 'other running refresh', 'other running refreshes')} of ${plan.request.DatabaseName} ${plan.outsideScope === 1 ? 'is' : 'are'} not named by the request`,
    );
  }
  for (const note of plan.notes) lines.push(`note: ${note}`);
  return `${lines.join('\n')}\n`;
};

export const registerPlan = (program: Command, context: CommandContext): void => {
  const command = program
    .command('plan')
    .summary('show what a request, cost guard or window would stop right now (stops nothing)')
    .description(
      'Works out, with read-only List calls, what the stack would stop right now for a request (flags or ' +
        '--file), a cost guard of the stage (--alarm) or a maintenance window (--window): the running refreshes, ' +
        'the allow-list of the stage configuration applied, and what is left alone and why. Nothing is stopped.',
    );
  addRequestOptions(command)
    .option('--alarm <name>', 'plan the cost guard of this CloudWatch alarm, as if it went into ALARM now')
    .option('--window <name>', 'plan this maintenance window, as if its schedule fired now')
    .option('--config <file>', 'the stage configuration (default: config/<stage>.json)')
    .option('--account-id <id>', 'the stack’s account (default: read from the --stage stack)')
    .option('--queue-url <url-or-arn>', 'the stop queue, whose account is the stack’s (instead of --stage)')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  glue-mv-stop plan --stage prod --database sales --tables '*'
  glue-mv-stop plan --stage prod --alarm sales-glue-dpu-spend
  glue-mv-stop plan --stage prod --window weekend-maintenance --json
  glue-mv-stop plan --config config/prod.json --account-id 123456789012 --file request.json`,
    )
    .action(async (_options: unknown, self: Command) => {
      const options = context.options<PlanOptions>(self);
      const chosen = [
        hasTargetFlags(options) || options.file !== undefined ? 'a request' : undefined,
        options.alarm !== undefined ? '--alarm' : undefined,
        options.window !== undefined ? '--window' : undefined,
      ].filter((c) => c !== undefined);
      if (chosen.length !== 1) {
        throw new UsageError(
          chosen.length === 0
            ? 'what to plan? give a request (--database with --table or --tables, or --file), --alarm or --window'
            : `plan one thing at a time, not ${chosen.join(' and ')}`,
        );
      }
      const now = context.now();
      const stageOptions = compact({ stage: options.stage, config: options.config });
      const { file, config } = await loadStageConfig(context.io, stageOptions);
      if (options.window !== undefined) {
        const window = config.maintenanceWindows.find((w) => w.name === options.window);
        if (window && !window.enabled)
          context.warn(`note: window ${window.name} is disabled: it has no schedule`);
      }
      const requests =
        options.alarm !== undefined
          ? [
              {
                origin: `cost guard ${options.alarm}`,
                checked: checkRequest({
                  source: '--alarm',
                  value: costGuardRequest(config, options.alarm, now),
                }),
              },
            ]
          : options.window !== undefined
            ? [
                {
                  origin: `maintenance window ${options.window}`,
                  checked: checkRequest({
                    source: '--window',
                    value: maintenanceWindowRequest(config, options.window, now),
                  }),
                },
              ]
            : (await gatherRequests(context.io, options)).map((input) => ({
                origin: 'request',
                checked: checkRequest(input),
              }));
      const invalid = requests.flatMap((r) => (r.checked.kind === 'invalid' ? [r.checked] : []));
      for (const item of invalid) for (const line of describeInvalid(item)) context.warn(`invalid: ${line}`);
      const valid = requests.flatMap((r) =>
        r.checked.kind === 'valid' ? [{ origin: r.origin, request: r.checked.request }] : [],
      );
      const plans: Plan[] = [];
      if (valid.length > 0) {
        const accountId = await context
          .stack(self, compact({ accountId: options.accountId, queueUrl: options.queueUrl }))
          .accountId();
        const runs = createGlueRefreshRuns(context.aws(self).glue());
        for (const { origin, request } of valid) {
          plans.push(await planRequest(request, origin, { config, accountId, runs, now }));
        }
      }
      if (options.json) {
        context.printJson({ config: file, plannedAt: now.toISOString(), plans, invalid });
      } else {
        for (const plan of plans) context.print(renderPlan(plan, file));
        if (plans.length > 0) context.print('nothing was stopped: a plan only lists.');
      }
      context.setExitCode(invalid.length > 0 ? EXIT.failed : EXIT.ok);
    });
};
