/**
 * What handleStopRequest writes into commands and outcomes, field by field: the details the broader
 * scenarios in handle-stop-request.test.ts do not pin down.
 */
import { describe, expect, it } from 'vitest';
import type { AllowRule } from '../../src/policy/stack-config.ts';
import { parseStopMessageBody } from '../../src/request/parse.ts';
import { handleStopRequest, type IncomingStopRequest } from '../../src/stop/handle-stop-request.ts';
import type { OnceResult, StopCommand } from '../../src/stop/ports.ts';
import { FUNCTION_ACCOUNT_ID } from './support/records.ts';

const DECIDED_AT = '2026-11-29T02:00:07.000Z';

const incoming = (request: Record<string, unknown>): IncomingStopRequest => {
  const body = JSON.stringify(request);
  return {
    parsed: parseStopMessageBody(body),
    delivery: { kind: 'sqs', messageId: 'm-1' },
    accountId: FUNCTION_ACCOUNT_ID,
    original: body,
  };
};

/** Dependencies whose `once` records the command and answers `answer` instead of running it. */
const ports = (
  options: { allow?: readonly AllowRule[]; answer?: (command: StopCommand) => OnceResult } = {},
) => {
  const commands: StopCommand[] = [];
  const deps = {
    commands: {
      stopper: { stopRefresh: async () => undefined },
      runs: {
        activeRuns: async () => [],
        page: async () => ({ active: [], tables: new Set<string>(), listed: 0 }),
      },
      queue: { enqueue: async () => undefined },
      allow: [],
    },
    once: async (command: StopCommand) => {
      commands.push(command);
      return (
        options.answer?.(command) ??
        (command.kind === 'scope'
          ? { result: 'expanded' as const, decidedAt: DECIDED_AT, queued: 0, detail: 'none', replayed: false }
          : { result: 'stop-requested' as const, decidedAt: DECIDED_AT, replayed: false })
      );
    },
    parker: { park: async () => undefined },
    report: () => undefined,
    policy: { allow: [...(options.allow ?? [{ database: '*', tables: ['*'] }])], dryRun: false },
  };
  return { deps, commands };
};

describe('handleStopRequest: details of commands and outcomes', () => {
  it('says why it did not start a request whose deadline has passed', async () => {
    const { deps } = ports();
    const passed = { at: 0, signal: AbortSignal.abort() };

    const outcome = await handleStopRequest(
      { ...incoming({ DatabaseName: 'sales', TableName: 'daily_mv' }), deadline: passed },
      deps,
    );

    expect(outcome).toMatchObject({
      outcome: 'retry',
      reason: 'deadline-exceeded',
      detail: 'not started: the invocation deadline has passed',
    });
  });

  it('keys a dry run apart from the real request: dry-run: before the key', async () => {
    const { deps, commands } = ports();

    await handleStopRequest(incoming({ DatabaseName: 'sales', TableName: 'daily_mv', DryRun: true }), deps);
    await handleStopRequest(incoming({ DatabaseName: 'sales', TableName: 'daily_mv' }), deps);

    expect(commands.map((c) => c.idempotencyKey)).toEqual(['dry-run:message:m-1', 'message:m-1']);
  });

  it('leaves requestedBy and reason out of a scope command when the request has neither', async () => {
    const { deps, commands } = ports();

    await handleStopRequest(incoming({ DatabaseName: 'sales', TableNames: ['*'] }), deps);

    expect(commands).toHaveLength(1);
    expect(commands[0]).not.toHaveProperty('requestedBy');
    expect(commands[0]).not.toHaveProperty('reason');
  });

  it('reports an expanded result recorded without detail with an empty detail', async () => {
    const { deps } = ports({
      answer: () => ({ result: 'expanded', decidedAt: DECIDED_AT, queued: 3, replayed: true }),
    });

    const outcome = await handleStopRequest(incoming({ DatabaseName: 'sales', TableNames: ['*'] }), deps);

    expect(outcome).toMatchObject({ outcome: 'expanded', queued: 3, replayed: true, detail: '' });
  });

  it('retries, as unexpected-error, a table command whose record says expanded', async () => {
    const { deps } = ports({
      answer: () => ({ result: 'expanded', decidedAt: DECIDED_AT, queued: 1, replayed: true }),
    });

    const outcome = await handleStopRequest(incoming({ DatabaseName: 'sales', TableName: 'daily_mv' }), deps);

    expect(outcome).toMatchObject({
      outcome: 'retry',
      reason: 'unexpected-error',
      detail: 'a table command recorded the result expanded, which belongs to the other kind',
    });
  });
});

describe('handleStopRequest: the allow-list for scopes', () => {
  const salesHourly: readonly AllowRule[] = [{ database: 'sales', tables: ['hourly_*'] }];

  it('refuses a scope of exact names in a database outside the allow-list for its database', async () => {
    const { deps, commands } = ports({ allow: salesHourly });

    const outcome = await handleStopRequest(
      incoming({ DatabaseName: 'hr', TableNames: ['salaries_mv'] }),
      deps,
    );

    expect(outcome).toMatchObject({ outcome: 'not-allowed', reason: 'database-not-allowed' });
    expect(commands).toEqual([]);
  });

  it('checks a scope with any glob by its database only, leaving the names to the expansion', async () => {
    const { deps, commands } = ports({ allow: salesHourly });

    const outcome = await handleStopRequest(
      incoming({ DatabaseName: 'sales', TableNames: ['daily_mv', 'weekly_*'] }),
      deps,
    );

    expect(outcome).toMatchObject({ outcome: 'expanded' });
    expect(commands).toHaveLength(1);
  });
});
