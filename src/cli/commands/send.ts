/**
 * `send`: stop requests from flags, a file or standard input, checked with the contract, sent to the
 * stack's stop queue (SQS, default) or its event bus (EventBridge) by the producer client.
 */
import { type Command, Option } from 'commander';
import { createStopClient, type StopResult } from '../../client/index.ts';
import type { StopRequest } from '../../request/contract.ts';
import type { Violation } from '../../request/parse.ts';
import type { CommandContext } from '../context.ts';
import { EXIT } from '../errors.ts';
import { formatTarget, plural } from '../format.ts';
import { addRequestOptions, compact, jsonOption } from '../options.ts';
import { createProgress } from '../progress.ts';
import { checkRequest, describeInvalid, gatherRequests, type RequestFlags } from '../request-input.ts';

interface SendOptions extends RequestFlags {
  readonly file?: string;
  readonly via: 'sqs' | 'eventbridge';
  readonly checkOnly?: boolean;
  readonly queueUrl?: string;
  readonly eventBus?: string;
  readonly json?: boolean;
}

export const targetOf = (request: StopRequest): string =>
  request.TableName !== undefined
    ? formatTarget(request.DatabaseName, request.TableName)
    : formatTarget(request.DatabaseName, request.TableNames);

type ItemResult =
  | { readonly source: string; readonly kind: 'invalid'; readonly violations: readonly Violation[] }
  | { readonly source: string; readonly target: string; readonly result: StopResult };

export const registerSend = (program: Command, context: CommandContext): void => {
  const command = program
    .command('send')
    .summary('send stop requests to the stack (SQS or EventBridge)')
    .description(
      'Checks stop requests with the stack’s contract and sends the valid ones to the stop queue (default) or ' +
        'the event bus, ten per call, sending again what a call reports as failed. Invalid requests are ' +
        'reported with their line, field and rule, and are not sent. Exit 1 if any request was invalid or not sent.',
    );
  addRequestOptions(command)
    .option('--dry-run', 'ask the stack for a dry run: every step, no stop (DryRun)')
    .addOption(new Option('--via <transport>', 'how to send').choices(['sqs', 'eventbridge']).default('sqs'))
    .option('--queue-url <url-or-arn>', 'the stop queue (default: output StopQueueUrl of the --stage stack)')
    .option('--event-bus <name-or-arn>', 'with --via eventbridge: the bus (default: the --stage stack’s)')
    .option('--check-only', 'check the requests, send nothing')
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  glue-mv-stop send --stage prod --database sales --table daily_revenue_mv --reason "runaway cost"
  glue-mv-stop send --stage prod --database sales --tables 'daily_*,orders_mv' --dry-run
  glue-mv-stop send --stage prod --file requests.ndjson --requested-by ops
  jq -c '.[]' requests.json | glue-mv-stop send --stage prod --file - --via eventbridge

--reason, --requested-by and --dry-run also fill in what the requests of a file leave out.`,
    )
    .action(async (_options: unknown, self: Command) => {
      const options = context.options<SendOptions>(self);
      const inputs = await gatherRequests(context.io, options);
      const checked = inputs.map(checkRequest);
      const valid = checked.filter((c) => c.kind === 'valid');
      const invalid = checked.filter((c) => c.kind === 'invalid');
      for (const item of invalid) for (const line of describeInvalid(item)) context.warn(`invalid: ${line}`);

      const results: ItemResult[] = invalid.map((item) => ({
        source: item.source,
        kind: 'invalid' as const,
        violations: item.violations,
      }));
      const destination = options.via === 'eventbridge' ? 'EventBridge' : 'SQS';
      if (valid.length > 0 && !options.checkOnly) {
        const aws = context.aws(self);
        const stack = context.stack(
          self,
          compact({ queueUrl: options.queueUrl, eventBus: options.eventBus }),
        );
        const client =
          options.via === 'eventbridge'
            ? createStopClient({ eventBusName: await stack.eventBusName(), eventBridge: aws.eventBridge() })
            : createStopClient({ queueUrl: await stack.stopQueueUrl(), sqs: aws.sqs() });
        const progress = createProgress(context.io.stderr, 'sending', valid.length);
        let sent: StopResult[];
        try {
          sent = await client.stopMany(
            valid.map((c) => c.request),
            { onProgress: (done) => progress.update(done) },
          );
        } finally {
          progress.finish();
        }
        sent.forEach((result, i) => {
          const item = valid[i];
          if (!item) return;
          results.push({ source: item.source, target: targetOf(item.request), result });
          if (result.kind === 'failed') {
            context.warn(
              `not sent: ${item.source}: ${targetOf(item.request)}: ${result.code}: ${result.message} (after ${plural(result.attempts, 'attempt')})`,
            );
          } else if (result.kind === 'invalid') {
            context.warn(`invalid: ${item.source}: ${result.message}`);
          }
        });
      }

      // In the order the requests were given.
      const order = new Map(checked.map((c, i) => [c.source, i]));
      results.sort((a, b) => (order.get(a.source) ?? 0) - (order.get(b.source) ?? 0));
      const count = (kind: string) =>
        results.filter((r) => ('result' in r ? r.result.kind : r.kind) === kind).length;
      const summary = {
        sent: count('sent'),
        invalid: count('invalid'),
        failed: count('failed'),
        checked: options.checkOnly ? valid.length : undefined,
      };
      if (options.json) {
        context.printJson({
          via: options.via,
          ...summary,
          results: results.map((r) =>
            'result' in r
              ? { source: r.source, target: r.target, ...r.result }
              : { source: r.source, kind: r.kind, violations: r.violations },
          ),
        });
      } else if (options.checkOnly) {
        context.print(
          `${plural(valid.length, 'valid request')}, ${invalid.length} invalid; nothing sent (--check-only)`,
        );
      } else {
        const one = results.length === 1 ? results[0] : undefined;
        if (one && 'result' in one && one.result.kind === 'sent') {
          const id =
            one.result.transport === 'sqs'
              ? `message ${one.result.messageId}`
              : `event ${one.result.eventId}`;
          context.print(`sent ${one.target} by ${destination} (${id})`);
        } else {
          context.print(
            `sent ${summary.sent} of ${plural(results.length, 'request')}${summary.sent > 0 ? ` by ${destination}` : ''}` +
              (summary.invalid > 0 ? `; ${summary.invalid} invalid` : '') +
              (summary.failed > 0 ? `; ${summary.failed} not sent` : ''),
          );
        }
      }
      context.setExitCode(summary.invalid > 0 || summary.failed > 0 ? EXIT.failed : EXIT.ok);
    });
};
