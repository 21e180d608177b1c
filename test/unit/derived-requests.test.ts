/**
 * Requests the functions make themselves (from a window, from an alarm, from a scope's expansion) go to the
 * stop queue, which checks them against the same contract as a producer's: none may ever be refused there.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { alarmStateChange, scheduleDelivery } from '../../local/events.ts';
import { decideOnAlarm, parseAlarmStateChange } from '../../src/policy/cost-guard.ts';
import {
  schedulePayloadSchema,
  schedulePayloadTemplate,
  scopeRequestForWindow,
} from '../../src/policy/schedule-payload.ts';
import { costGuardSchema, maintenanceWindowSchema } from '../../src/policy/stack-config.ts';
import type { TableStopRequest } from '../../src/request/contract.ts';
import { parseStopRequest } from '../../src/request/parse.ts';
import { expandScope } from '../../src/stop/run-command.ts';
import { allowedCharacter, controlCharacter, issuedAt, loneSurrogate } from './support/arbitraries.ts';
import { FUNCTION_ACCOUNT_ID } from './support/records.ts';

/** Any text at all: what an operator might type, an alarm might say, or a crafted redrive might carry. */
const anyText = (maxLength: number) =>
  fc
    .array(
      fc.oneof(
        { weight: 6, arbitrary: allowedCharacter },
        { weight: 1, arbitrary: controlCharacter },
        { weight: 1, arbitrary: loneSurrogate },
        { weight: 1, arbitrary: fc.constantFrom('\uFFFE', '\uFFFF', '*', '?', ' ', '/', '$') },
      ),
      { minLength: 0, maxLength },
    )
    .map((chars) => chars.join(''));

/** Mostly names an operator would write, some of them anything at all. */
const nameCandidate = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_*?.-]{1,12}$/), anyText(12));
const scopeCandidate = fc.record({
  database: nameCandidate,
  tables: fc.array(nameCandidate, { minLength: 1, maxLength: 4 }),
});

const contractRefusals = (request: unknown) => {
  const parsed = parseStopRequest(request);
  return parsed.kind === 'valid' ? [] : parsed.violations;
};

describe('requests derived from the stage configuration', () => {
  it('a window the configuration accepts yields, at any scheduled time, a request the contract accepts', () => {
    fc.assert(
      fc.property(
        fc.record({
          name: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/), anyText(70)),
          scope: scopeCandidate,
          dryRun: fc.boolean(),
        }),
        issuedAt,
        (candidate, scheduledTime) => {
          const window = z.safeParse(maintenanceWindowSchema, { ...candidate, schedule: 'rate(1 hour)' });
          fc.pre(window.success);
          if (!window.success) return;
          const delivered = scheduleDelivery(schedulePayloadTemplate(window.data), { scheduledTime });

          const payload = z.safeParse(schedulePayloadSchema, delivered);

          expect(payload.success).toBe(true);
          if (!payload.success) return;
          expect(contractRefusals(scopeRequestForWindow(payload.data))).toEqual([]);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('an alarm the configuration guards yields, whatever its name and reason, a request the contract accepts', () => {
    fc.assert(
      fc.property(
        fc.record({ alarmName: anyText(300), scope: scopeCandidate, dryRun: fc.boolean() }),
        anyText(2_000),
        fc.constantFrom('OK', 'INSUFFICIENT_DATA'),
        (candidate, reason, from) => {
          const guard = z.safeParse(costGuardSchema, candidate);
          fc.pre(guard.success);
          if (!guard.success) return;
          const event = parseAlarmStateChange(
            alarmStateChange(guard.data.alarmName, { from, to: 'ALARM', reason }),
          );
          fc.pre(event.kind === 'valid');

          const decision = decideOnAlarm(event.event, [guard.data]);

          expect(decision.kind === 'stop').toBe(true);
          if (decision.kind === 'stop') expect(contractRefusals(decision.request)).toEqual([]);
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('requests derived from a scope', () => {
  it('every exact request an expansion queues is accepted by the contract, whatever the parent key', async () => {
    await fc.assert(
      fc.asyncProperty(
        anyText(600).filter((key) => key.length > 0),
        fc.array(
          fc.array(allowedCharacter, { minLength: 1, maxLength: 20 }).map((c) => c.join('')),
          {
            minLength: 1,
            maxLength: 5,
          },
        ),
        fc.option(
          anyText(1_024).filter(
            (r) => contractRefusals({ DatabaseName: 'd', TableName: 't', Reason: r }).length === 0,
          ),
          { nil: undefined },
        ),
        async (parentKey, tables, reason) => {
          const queued: TableStopRequest[] = [];
          await expandScope(
            {
              kind: 'scope',
              idempotencyKey: parentKey,
              target: { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableNames: ['*'] },
              issuedAt: '2026-11-29T02:00:00Z',
              accountId: FUNCTION_ACCOUNT_ID,
              dryRun: false,
              ...(reason !== undefined ? { reason } : {}),
            },
            {
              runs: {
                activeRuns: async () =>
                  tables.map((tableName, i) => ({
                    runId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
                    target: { CatalogId: FUNCTION_ACCOUNT_ID, DatabaseName: 'sales', TableName: tableName },
                    status: 'RUNNING' as const,
                  })),
              },
              stopper: { stopRefresh: async () => undefined },
              queue: { enqueue: async (requests) => void queued.push(...requests) },
              allow: [{ database: '*', tables: ['*'] }],
            },
          );

          expect(queued.length).toBeGreaterThan(0);
          for (const request of queued) expect(contractRefusals(request)).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
