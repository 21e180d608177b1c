/**
 * `dlq list | show | redrive`: the dead-letter queue read, explained and moved back to the stop queue.
 * Reading hides messages briefly (SQS has no peek); every message the command does not delete is handed
 * back at once when it ends, also on failure (see `dead-letter-queue.ts`).
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type Command, Option } from 'commander';
import { matchesGlob } from '../../policy/glob.ts';
import type { CommandContext } from '../context.ts';
import {
  deleteMessages,
  type HeldMessage,
  type MoveResult,
  moveMessages,
  releaseMessages,
  scanQueue,
} from '../dead-letter-queue.ts';
import { classifyDeadLetter, type DeadLetter } from '../dead-letters.ts';
import { CliFailure, EXIT } from '../errors.ts';
import { formatDuration, formatTable, plural } from '../format.ts';
import { compact, duration, jsonOption, positiveInteger, visibilitySeconds } from '../options.ts';
import { createProgress, type Progress } from '../progress.ts';

interface DlqFilters {
  readonly reason?: string;
  readonly outcome?: string;
  readonly trigger?: string;
  readonly kind?: string;
  readonly target?: string;
  readonly olderThan?: number;
}

interface ScanFlags {
  readonly dlqUrl?: string;
  readonly limit: number;
  readonly visibilityTimeout: number;
  readonly json?: boolean;
}

const listOf = (text: string | undefined): string[] | undefined =>
  text
    ?.split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');

/** Whether a message passes every filter given (each comma list is "any of"). */
export const matchesFilters = (letter: DeadLetter, filters: DlqFilters, now: Date): boolean => {
  const among = (value: string, list: string | undefined) => {
    const allowed = listOf(list);
    return allowed === undefined || allowed.includes(value);
  };
  if (!among(letter.reason, filters.reason)) return false;
  if (!among(letter.outcome, filters.outcome)) return false;
  if (!among(letter.trigger, filters.trigger)) return false;
  if (!among(letter.kind, filters.kind)) return false;
  if (filters.target !== undefined && !matchesGlob(filters.target, letter.target)) return false;
  if (filters.olderThan !== undefined) {
    if (letter.sentAt === undefined) return false;
    if (now.getTime() - Date.parse(letter.sentAt) < filters.olderThan) return false;
  }
  return true;
};

const addScanOptions = (command: Command, visibilityDefault: number): Command =>
  command
    .option(
      '--dlq-url <url-or-arn>',
      'the dead-letter queue (default: output DeadLetterQueueUrl of the --stage stack)',
    )
    .addOption(
      new Option('--limit <n>', 'read at most this many messages')
        .argParser(positiveInteger('--limit'))
        .default(1000),
    )
    .addOption(
      new Option(
        '--visibility-timeout <seconds>',
        'how long messages read stay hidden from others at most; all are handed back when the command ends',
      )
        .argParser(visibilitySeconds)
        .default(visibilityDefault),
    );

const addFilterOptions = (command: Command): Command =>
  command
    .option(
      '--reason <list>',
      'only these reasons (comma-separated), e.g. glue-access-denied,retries-exhausted',
    )
    .option(
      '--outcome <list>',
      'only these outcomes: rejected, not-allowed, failed-invocation, undelivered, gave-up',
    )
    .option('--trigger <list>', 'only these triggers: sqs, eventbridge, alarm, schedule')
    .option(
      '--kind <list>',
      'only these kinds: parked, invocation-record, undelivered-event, stop-queue-give-up',
    )
    .option('--target <glob>', 'only messages whose target matches, e.g. "sales.*" or "sales.daily_*"')
    .addOption(
      new Option(
        '--older-than <duration>',
        'only messages in the queue longer than this (2h, 30m, 7d)',
      ).argParser(duration),
    );

interface Scanned {
  readonly sqs: SQSClient;
  readonly dlqUrl: string;
  readonly held: HeldMessage[];
  readonly letters: DeadLetter[];
  readonly approximateTotal: number;
}

/** Reads the queue, then runs `use`, then hands back every message `use` did not consume. */
const withScan = async (
  context: CommandContext,
  self: Command,
  flags: ScanFlags,
  use: (scan: Scanned) => Promise<{ consumed: ReadonlySet<string> } | undefined>,
  enough?: (held: readonly HeldMessage[]) => boolean,
): Promise<void> => {
  const sqs = context.aws(self).sqs();
  const dlqUrl = await context.stack(self, compact({ dlqUrl: flags.dlqUrl })).deadLetterQueueUrl();
  let progress: Progress | undefined;
  let held: HeldMessage[] = [];
  let consumed: ReadonlySet<string> = new Set();
  try {
    const scan = await scanQueue(sqs, dlqUrl, {
      visibilityTimeout: flags.visibilityTimeout,
      limit: flags.limit,
      ...(enough ? { enough } : {}),
      ...(context.io.signal ? { signal: context.io.signal } : {}),
      onProgress: (done, total) => {
        progress ??= createProgress(context.io.stderr, 'reading', total);
        progress.update(done);
      },
    });
    progress?.finish();
    held = scan.held;
    const letters = held.map((h) => classifyDeadLetter(h.message));
    if (held.length >= flags.limit) {
      context.warn(`note: read the first ${plural(flags.limit, 'message')} (--limit); there may be more`);
    } else if (held.length < scan.approximateTotal) {
      context.warn(
        `note: read ${held.length} of about ${scan.approximateTotal} messages (others may be held by another reader)`,
      );
    }
    consumed =
      (await use({ sqs, dlqUrl, held, letters, approximateTotal: scan.approximateTotal }))?.consumed ??
      consumed;
  } finally {
    progress?.finish();
    const back = held.filter((h) => !consumed.has(h.message.MessageId ?? ''));
    const refused = await releaseMessages(sqs, dlqUrl, back);
    if (refused > 0)
      context.warn(
        `note: ${refused} messages could not be handed back at once; they return when their visibility timeout ends`,
      );
  }
};

const ageOf = (letter: DeadLetter, now: Date): string =>
  letter.sentAt !== undefined ? formatDuration(now.getTime() - Date.parse(letter.sentAt)) : '?';

const summaryOf = (letter: DeadLetter) => ({
  messageId: letter.messageId,
  kind: letter.kind,
  outcome: letter.outcome,
  reason: letter.reason,
  trigger: letter.trigger,
  target: letter.target,
  ...(letter.detail !== undefined ? { detail: letter.detail } : {}),
  ...(letter.sentAt !== undefined ? { sentAt: letter.sentAt } : {}),
  redrive: letter.redrive.kind === 'send' ? 'send' : 'keep',
  ...(letter.redrive.kind === 'keep' ? { keptBecause: letter.redrive.why } : {}),
});

interface Group {
  readonly outcome: string;
  readonly reason: string;
  readonly trigger: string;
  readonly target: string;
  count: number;
  oldest?: string;
}

const groupsOf = (letters: readonly DeadLetter[]): Group[] => {
  const groups = new Map<string, Group>();
  for (const letter of letters) {
    const key = [letter.outcome, letter.reason, letter.trigger, letter.target].join('\u0000');
    const group =
      groups.get(key) ??
      ({
        outcome: letter.outcome,
        reason: letter.reason,
        trigger: letter.trigger,
        target: letter.target,
        count: 0,
      } as Group);
    group.count++;
    if (letter.sentAt !== undefined && (group.oldest === undefined || letter.sentAt < group.oldest)) {
      group.oldest = letter.sentAt;
    }
    groups.set(key, group);
  }
  return [...groups.values()].sort(
    (a, b) => b.count - a.count || a.outcome.localeCompare(b.outcome) || a.target.localeCompare(b.target),
  );
};

const KIND_TEXT: Readonly<Record<DeadLetter['kind'], string>> = {
  parked: 'parked: refused by the stack, with its reason',
  'invocation-record':
    'invocation record: Lambda gave up on an asynchronous invocation (on-failure destination)',
  'undelivered-event':
    'undelivered event: an EventBridge rule or a Scheduler schedule could not invoke its function',
  'stop-queue-give-up': 'moved by the stop queue’s redrive policy after its last receive',
};

const prettyBody = (text: string): string => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

export const registerDlq = (program: Command, context: CommandContext): void => {
  const dlq = program
    .command('dlq')
    .summary('read and redrive the dead-letter queue')
    .description(
      'The dead-letter queue holds what the stack refused (parked with its reason) and what AWS could not ' +
        'deliver or gave up on. list groups it, show explains one message, redrive moves messages back to the ' +
        'stop queue once their cause is fixed, or deletes them.',
    );

  const list = dlq
    .command('list')
    .summary('the messages of the dead-letter queue, grouped')
    .description(
      'Reads the dead-letter queue and groups its messages by outcome, reason, trigger and target, with the ' +
        'oldest of each group. --messages lists them one by one, with the ids `dlq show` takes.',
    )
    .option('--messages', 'one line per message instead of groups');
  addFilterOptions(addScanOptions(list, 30))
    .addOption(jsonOption())
    .action(async (_options: unknown, self: Command) => {
      const options = context.options<ScanFlags & DlqFilters & { messages?: boolean }>(self);
      const now = context.now();
      await withScan(context, self, options, async ({ letters, dlqUrl, approximateTotal }) => {
        const matched = letters.filter((l) => matchesFilters(l, options, now));
        const groups = groupsOf(matched);
        if (options.json) {
          context.printJson({
            queueUrl: dlqUrl,
            approximateTotal,
            read: letters.length,
            matched: matched.length,
            groups,
            messages: matched.map(summaryOf),
          });
        } else if (matched.length === 0) {
          context.print(
            letters.length === 0
              ? 'the dead-letter queue is empty'
              : `none of ${plural(letters.length, 'message')} matches`,
          );
        } else if (options.messages) {
          context.print(
            formatTable(
              ['MESSAGE ID', 'AGE', 'OUTCOME', 'REASON', 'TRIGGER', 'TARGET', 'REDRIVE'],
              matched.map((l) => [
                l.messageId,
                ageOf(l, now),
                l.outcome,
                l.reason,
                l.trigger,
                l.target,
                l.redrive.kind === 'send' ? 'yes' : 'no',
              ]),
            ),
          );
        } else {
          context.print(
            formatTable(
              ['COUNT', 'OUTCOME', 'REASON', 'TRIGGER', 'TARGET', 'OLDEST'],
              groups.map((g) => [
                String(g.count),
                g.outcome,
                g.reason,
                g.trigger,
                g.target,
                g.oldest !== undefined ? `${formatDuration(now.getTime() - Date.parse(g.oldest))} ago` : '?',
              ]),
            ),
          );
          context.print(`${plural(matched.length, 'message')} in ${plural(groups.length, 'group')}`);
        }
        return undefined;
      });
      context.setExitCode(EXIT.ok);
    });

  const show = dlq
    .command('show')
    .summary('one message of the dead-letter queue, whole')
    .description(
      'Finds one message by its id and shows everything about it: what kind it is, outcome, reason, detail, ' +
        'its attributes, and the original body (a parked body restored as the stack would read it).',
    )
    .argument('<message-id>', 'the message id, as `dlq list --messages` shows it');
  addScanOptions(show, 30)
    .addOption(jsonOption())
    .action(async (messageId: string, _options: unknown, self: Command) => {
      const options = context.options<ScanFlags>(self);
      const now = context.now();
      await withScan(
        context,
        self,
        options,
        async ({ letters }) => {
          const letter = letters.find((l) => l.messageId === messageId);
          if (!letter) {
            throw new CliFailure(
              `message ${messageId} is not in the dead-letter queue (read ${plural(letters.length, 'message')})`,
            );
          }
          if (options.json) {
            context.printJson(letter);
            return undefined;
          }
          const rows: [string, string][] = [
            ['message', letter.messageId],
            ['kind', KIND_TEXT[letter.kind]],
            ['outcome', letter.outcome],
            ['reason', letter.reason],
            ['trigger', letter.trigger],
            ['target', letter.target],
            ...(letter.detail !== undefined ? ([['detail', letter.detail]] as [string, string][]) : []),
            [
              'in queue',
              letter.sentAt !== undefined ? `since ${letter.sentAt} (${ageOf(letter, now)})` : '?',
            ],
            ['received', letter.receiveCount !== undefined ? plural(letter.receiveCount, 'time') : '?'],
            [
              'redrive',
              letter.redrive.kind === 'send'
                ? 'sends the original below to the stop queue'
                : `no: ${letter.redrive.why}`,
            ],
          ];
          const width = Math.max(...rows.map(([k]) => k.length));
          const lines = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
          const attributes = Object.entries(letter.attributes);
          if (attributes.length > 0) {
            lines.push('attributes:', ...attributes.map(([k, v]) => `  ${k} = ${v}`));
          }
          lines.push(
            letter.kind === 'parked' ? 'original (restored):' : 'body:',
            prettyBody(letter.original),
          );
          context.print(lines.join('\n'));
          return undefined;
        },
        (held) => held.some((h) => h.message.MessageId === messageId),
      );
      context.setExitCode(EXIT.ok);
    });

  const redrive = dlq
    .command('redrive')
    .summary('move messages back to the stop queue, or delete them')
    .description(
      'Moves the messages that match the filters to the stop queue, each one sent first and deleted from the ' +
        'dead-letter queue only once the stop queue has it. A parked request is sent as its restored original; ' +
        'everything else as its body, which the stop queue reads as it is. Messages that cannot succeed as ' +
        'they are (invalid requests, bodies SQS refuses, cut bodies) stay; --delete deletes the matching ' +
        'messages instead of moving them. --dry-run shows what would happen. Exit 1 if any could not be moved.',
    )
    .option('--delete', 'delete the matching messages instead of moving them (for what must not be redriven)')
    .option('--dry-run', 'show what would be moved or deleted; change nothing')
    .option('--queue-url <url-or-arn>', 'the stop queue (default: output StopQueueUrl of the --stage stack)');
  addFilterOptions(addScanOptions(redrive, 120))
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Examples:
  glue-mv-stop dlq redrive --stage prod --reason glue-access-denied --dry-run
  glue-mv-stop dlq redrive --stage prod --reason retries-exhausted --target 'sales.*' --older-than 1h
  glue-mv-stop dlq redrive --stage prod --reason invalid-request --delete`,
    )
    .action(async (_options: unknown, self: Command) => {
      const options = context.options<
        ScanFlags & DlqFilters & { delete?: boolean; dryRun?: boolean; queueUrl?: string }
      >(self);
      const now = context.now();
      const stack = context.stack(self, compact({ queueUrl: options.queueUrl, dlqUrl: options.dlqUrl }));
      // Resolved before anything is read, so a wrong stop queue fails before a message is held.
      const stopQueueUrl = options.delete ? undefined : await stack.stopQueueUrl();
      await withScan(context, self, options, async ({ sqs, dlqUrl, held, letters }) => {
        const matched = held.flatMap((h, i) => {
          const letter = letters[i];
          return letter && matchesFilters(letter, options, now) ? [{ held: h, letter }] : [];
        });
        const act = options.delete ? matched : matched.filter((m) => m.letter.redrive.kind === 'send');
        const kept = options.delete ? [] : matched.filter((m) => m.letter.redrive.kind === 'keep');
        const verb = options.delete ? 'delete' : 'move';
        const rows = act.map((m) => [
          m.letter.messageId,
          ageOf(m.letter, now),
          m.letter.outcome,
          m.letter.reason,
          m.letter.target,
        ]);
        if (options.dryRun) {
          if (options.json) {
            context.printJson({
              dryRun: true,
              action: verb,
              [verb === 'move' ? 'wouldMove' : 'wouldDelete']: act.map((m) => summaryOf(m.letter)),
              wouldKeep: kept.map((m) => summaryOf(m.letter)),
              unmatched: letters.length - matched.length,
            });
          } else {
            if (act.length > 0) {
              context.print(`would ${verb} ${plural(act.length, 'message')}:`);
              context.print(formatTable(['MESSAGE ID', 'AGE', 'OUTCOME', 'REASON', 'TARGET'], rows));
            } else {
              context.print(`would ${verb} nothing`);
            }
            for (const k of kept)
              context.print(
                `would keep ${k.letter.messageId}: ${k.letter.redrive.kind === 'keep' ? k.letter.redrive.why : ''}`,
              );
            context.print(
              `dry run: nothing changed; ${plural(letters.length - matched.length, 'other message')} not matched`,
            );
          }
          return undefined;
        }
        const progress = createProgress(
          context.io.stderr,
          options.delete ? 'deleting' : 'moving',
          act.length,
        );
        let results: MoveResult[];
        try {
          results =
            stopQueueUrl === undefined
              ? await deleteMessages(
                  sqs,
                  dlqUrl,
                  act.map((m) => m.held),
                  (done) => progress.update(done),
                )
              : await moveMessages(
                  sqs,
                  dlqUrl,
                  stopQueueUrl,
                  act.map((m) => ({
                    held: m.held,
                    body: m.letter.redrive.kind === 'send' ? m.letter.redrive.body : '',
                  })),
                  (done) => progress.update(done),
                );
        } finally {
          progress.finish();
        }
        const consumed = new Set(
          results
            .filter((r) => r.kind === 'moved' || r.kind === 'deleted')
            .map((r) => r.held.message.MessageId ?? ''),
        );
        const count = (kind: MoveResult['kind']) => results.filter((r) => r.kind === kind).length;
        const failures = results.filter((r) => r.kind !== 'moved' && r.kind !== 'deleted');
        for (const failure of failures) {
          const id = failure.held.message.MessageId;
          if (failure.kind === 'sent-not-deleted') {
            context.warn(
              `sent but not deleted: ${id}: ${failure.error} (it is on the stop queue and still in the dead-letter queue)`,
            );
          } else if ('error' in failure) {
            context.warn(`not ${options.delete ? 'deleted' : 'moved'}: ${id}: ${failure.error}`);
          }
        }
        for (const k of kept)
          context.warn(
            `kept ${k.letter.messageId}: ${k.letter.redrive.kind === 'keep' ? k.letter.redrive.why : ''}`,
          );
        const summary = {
          moved: count('moved'),
          deleted: count('deleted'),
          kept: kept.length,
          failed: failures.length,
          unmatched: letters.length - matched.length,
        };
        if (options.json) {
          context.printJson({
            ...summary,
            results: results.map((r) => ({
              messageId: r.held.message.MessageId,
              result: r.kind,
              ...('newMessageId' in r ? { newMessageId: r.newMessageId } : {}),
              ...('error' in r ? { error: r.error } : {}),
            })),
            keptMessages: kept.map((k) => summaryOf(k.letter)),
          });
        } else {
          context.print(
            (options.delete
              ? `deleted ${summary.deleted} of ${plural(act.length, 'message')}`
              : `moved ${summary.moved} of ${plural(act.length, 'message')} to the stop queue`) +
              (summary.kept > 0 ? `; kept ${summary.kept} that cannot be redriven as they are` : '') +
              (summary.failed > 0 ? `; ${summary.failed} failed` : '') +
              `; ${summary.unmatched} not matched`,
          );
        }
        context.setExitCode(failures.length > 0 ? EXIT.failed : EXIT.ok);
        return { consumed };
      });
    });
};
