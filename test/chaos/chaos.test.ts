/**
 * The chaos suite's own pieces (`npm run chaos` itself takes minutes and is not part of `npm test`): the
 * seeded plan, the oracle, the settings reader, the report, the execution environments and the event source;
 * and a small run with scope requests through the built queue bundle.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../scripts/build.ts';
import { fanOutSettings } from '../../src/runtime/stop-runtime.ts';
import { EnvironmentPool, type InvocationResult } from './environments.ts';
import { ChaosEventSource } from './event-source.ts';
import {
  acceptedStopsByRun,
  type DeadLetter,
  glueCallsByPart,
  judge,
  judgeScopes,
  type OracleRequest,
  type OracleRun,
  type ScopeFacts,
  type ScopeViewFacts,
  scopeViewsOf,
} from './oracle.ts';
import {
  CHAOS_DATABASE,
  chooseSome,
  DEFAULT_SCOPE_SHARES,
  DELAY_BEYOND_SOCKET_TIMEOUT_MS,
  duplicatesTask,
  faultKey,
  faultLabel,
  glueFaultMix,
  killAfterMs,
  planRequests,
  planScopes,
  requestBody,
  scopePrefix,
  scopeRequestBody,
  sendOrder,
} from './plan.ts';
import { percentile, renderMarkdown, replaceSection, SECTION_END, SECTION_START, targets } from './report.ts';
import { deployedSettings, simulatedVisibilityTimeoutSeconds } from './settings.ts';
import { runChaos } from './suite.ts';

describe('the seeded plan', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(planRequests(7, 200)).toEqual(planRequests(7, 200));
    expect(planRequests(7, 200)).not.toEqual(planRequests(8, 200));
  });

  it('has 1 % poison of both kinds, 5 % duplicates among the views, and a mix of guards', () => {
    const plan = planRequests(11, 1000);
    const poison = plan.filter((r) => r.kind !== 'view');
    expect(poison).toHaveLength(10);
    expect(poison.filter((r) => r.kind === 'denied')).toHaveLength(5);
    expect(plan.filter((r) => r.duplicate)).toHaveLength(50);
    expect(plan.filter((r) => r.duplicate && r.kind !== 'view')).toEqual([]);
    // A plain table has no run: a guarded request for it would never reach the refused stop.
    expect(plan.filter((r) => r.kind === 'not-a-view' && r.issuedAt)).toEqual([]);
    const combos = new Set(plan.map((r) => `${r.idempotencyKey !== undefined}/${r.issuedAt}`));
    expect(combos).toEqual(new Set(['true/true', 'true/false', 'false/true', 'false/false']));
    expect(new Set(plan.map((r) => r.tableName)).size).toBe(1000);
  });

  it('chooseSome picks the requested number, in index order', () => {
    const picked = chooseSome(3, 'x', [5, 1, 9, 3, 7], 3);
    expect(picked).toHaveLength(3);
    expect(picked).toEqual([...picked].sort((a, b) => a - b));
    expect(chooseSome(3, 'x', [1, 2], 5)).toEqual([1, 2]);
  });

  it('writes the request body with the guards it was planned with', () => {
    const [request] = planRequests(1, 1);
    if (!request) throw new Error('no request');
    const body = requestBody({ ...request, idempotencyKey: 'k', issuedAt: true }, '2026-11-29T02:00:00.000Z');
    expect(body).toMatchObject({
      DatabaseName: 'chaos',
      TableName: request.tableName,
      IdempotencyKey: 'k',
      IssuedAt: '2026-11-29T02:00:00.000Z',
    });
    const bare = requestBody(
      { ...request, issuedAt: false, index: 0, kind: 'view', duplicate: false, tableName: 't' },
      'x',
    );
    expect(bare).not.toHaveProperty('IssuedAt');
  });

  it('the fault mix has the issue’s rates, and every fault has its own label', () => {
    const mix = glueFaultMix();
    const rate = (kind: string) => mix.filter((f) => f.kind === kind).reduce((sum, f) => sum + f.rate, 0);
    expect(rate('throttle')).toBeCloseTo(0.3);
    expect(rate('internal-error') + rate('service-unavailable')).toBeCloseTo(0.1);
    expect(rate('operation-timeout')).toBeCloseTo(0.05);
    expect(rate('connection-reset')).toBeCloseTo(0.05);
    expect(rate('delay')).toBeCloseTo(0.02);
    expect(rate('hang')).toBeCloseTo(0.005);
    expect(mix.find((f) => f.kind === 'delay')?.delayMs).toBe(DELAY_BEYOND_SOCKET_TIMEOUT_MS);
    expect(new Set(mix.map((f) => faultLabel(mix, f))).size).toBe(mix.length);
    expect(faultLabel(mix, { kind: 'malformed-response' })).toBeUndefined();
  });

  it('faults are keyed by operation and view', () => {
    const call = (table: string) => ({
      operation: 'Stop',
      input: { DatabaseName: 'chaos', TableName: table },
      index: 0,
    });
    expect(faultKey(call('a'))).toBe(faultKey({ ...call('a'), index: 9 }));
    expect(faultKey(call('a'))).not.toBe(faultKey(call('b')));
  });

  it('kills about the configured share of invocations, within the window', () => {
    const kills = Array.from({ length: 10_000 }, (_, i) => killAfterMs(5, i, 1_000)).filter(
      (k) => k !== undefined,
    );
    expect(kills.length / 10_000).toBeGreaterThan(0.015);
    expect(kills.length / 10_000).toBeLessThan(0.025);
    for (const k of kills) expect(k).toBeGreaterThanOrEqual(0);
    for (const k of kills) expect(k).toBeLessThan(1_000);
    expect(killAfterMs(5, 3, 1_000)).toBe(killAfterMs(5, 3, 1_000));
  });
});

describe('the seeded scope plan', () => {
  it('is the same for the same seed and differs for another', () => {
    expect(planScopes(7, 20, 1000)).toEqual(planScopes(7, 20, 1000));
    expect(planScopes(7, 20, 1000)).not.toEqual(planScopes(8, 20, 1000));
  });

  it('gives each scope 10 to 50 views of its own, in the shared database by glob or in its own by `*`', () => {
    const scopes = planScopes(11, 20, 1000);
    const views = scopes.flatMap((s) => s.views);
    expect(new Set(views.map((v) => v.tableName)).size).toBe(views.length);
    for (const scope of scopes) {
      expect(scope.views.length).toBeGreaterThanOrEqual(10);
      expect(scope.views.length).toBeLessThanOrEqual(50);
      for (const view of scope.views) expect(view.tableName.startsWith(scopePrefix(scope.index))).toBe(true);
      if (scope.layout === 'glob') {
        expect(scope.databaseName).toBe(CHAOS_DATABASE);
        expect(scope.tableNames).toEqual([`${scopePrefix(scope.index)}*`]);
      } else {
        expect(scope.databaseName).not.toBe(CHAOS_DATABASE);
        expect(scope.tableNames).toEqual(['*']);
      }
    }
    expect(scopes.filter((s) => s.layout === 'database')).toHaveLength(10);
    expect(new Set(scopes.filter((s) => s.layout === 'database').map((s) => s.databaseName)).size).toBe(
      scopes.filter((s) => s.layout === 'database').length,
    );
    // A glob of one scope never matches another scope's views.
    expect(views.filter((v) => v.tableName.startsWith(scopePrefix(1))).length).toBe(scopes[1]?.views.length);
  });

  it('has the configured shares of denied, finished and replaced views and of duplicated scopes', () => {
    const scopes = planScopes(11, 20, 1000);
    const views = scopes.flatMap((s) => s.views);
    const count = (kind: string) => views.filter((v) => v.kind === kind).length;
    expect(count('denied')).toBe(Math.round(views.length * DEFAULT_SCOPE_SHARES.denied));
    expect(count('finished')).toBe(Math.round(views.length * DEFAULT_SCOPE_SHARES.finished));
    expect(count('replaced')).toBe(Math.round(views.length * DEFAULT_SCOPE_SHARES.replaced));
    expect(scopes.filter((s) => s.duplicate)).toHaveLength(4);
    // Finished runs end before the expansion or while it runs; replaced ones before the expansion or the task.
    for (const view of views) {
      if (view.kind === 'finished') expect(['before-expansion', 'after-expansion']).toContain(view.change);
      else if (view.kind === 'replaced') expect(['before-expansion', 'before-task']).toContain(view.change);
      else expect(view.change).toBeUndefined();
    }
    expect(new Set(views.map((v) => v.change))).toEqual(
      new Set([undefined, 'before-expansion', 'after-expansion', 'before-task']),
    );
    const combos = new Set(scopes.map((s) => `${s.idempotencyKey !== undefined}/${s.issuedAt}`));
    expect(combos.size).toBeGreaterThan(2);
  });

  it('sends every exact request in order, each scope once, right after the request it is placed after', () => {
    const requests = planRequests(3, 50);
    const scopes = planScopes(3, 6, 50);
    const order = sendOrder(requests, scopes);
    expect(order.filter((m) => m.kind === 'exact').map((m) => m.request.index)).toEqual(
      requests.map((r) => r.index),
    );
    expect(order.flatMap((m) => (m.kind === 'scope' ? [m.scope.index] : [])).sort((a, b) => a - b)).toEqual(
      scopes.map((s) => s.index),
    );
    order.forEach((m, i) => {
      if (m.kind !== 'scope') return;
      const before = order.slice(0, i).filter((p) => p.kind === 'exact');
      expect(before.at(-1)?.kind === 'exact' ? before.at(-1)?.request.index : -1).toBe(
        before.length === 0 ? -1 : m.scope.sendAfter,
      );
    });
  });

  it('writes the scope request body with its guards, and decides task duplicates by the views alone', () => {
    const [scope] = planScopes(1, 1, 10);
    if (!scope) throw new Error('no scope');
    const body = scopeRequestBody(
      { ...scope, idempotencyKey: 'k', issuedAt: true },
      '2026-11-29T02:00:00.000Z',
    );
    expect(body).toMatchObject({
      DatabaseName: scope.databaseName,
      TableNames: scope.tableNames,
      IdempotencyKey: 'k',
      IssuedAt: '2026-11-29T02:00:00.000Z',
    });
    expect(body).not.toHaveProperty('TableName');
    expect(scopeRequestBody({ ...scope, issuedAt: false }, 'x')).not.toHaveProperty('IssuedAt');
    expect(duplicatesTask(5, ['b', 'a'], 0.5)).toBe(duplicatesTask(5, ['a', 'b'], 0.5));
    expect(duplicatesTask(5, ['a'], 1)).toBe(true);
    expect(duplicatesTask(5, ['a'], 0)).toBe(false);
  });
});

describe('the oracle', () => {
  const view = (index: number, extra: Partial<OracleRequest> = {}): OracleRequest => ({
    index,
    kind: 'view',
    tableName: `mv_${index}`,
    runId: `run-${index}`,
    ...extra,
  });
  const runs = (entries: Record<string, OracleRun>) => new Map(Object.entries(entries));

  it('a stopped run is stopped; a running one is parked, redriven or nowhere by the dead-letter queue', () => {
    const result = judge({
      requests: [view(0), view(1), view(2), view(3), view(4)],
      runs: runs({
        'run-0': { status: 'STOPPED', acceptedStops: 1 },
        'run-1': { status: 'RUNNING', acceptedStops: 0 },
        'run-2': { status: 'RUNNING', acceptedStops: 0 },
        'run-3': { status: 'RUNNING', acceptedStops: 0 },
        'run-4': { status: 'SUCCEEDED', acceptedStops: 0 },
      }),
      deadLetters: [
        { tableName: 'mv_1', reason: 'glue-access-denied' },
        { tableName: 'mv_2' },
        { tableName: 'zzz' },
      ],
    });
    expect(result.verdicts.map((v) => v.end)).toEqual([
      'stopped',
      'parked',
      'redriven',
      'nowhere',
      'not-running',
    ]);
    expect(result.lost).toBe(2);
    expect(result.lostRedriven).toBe(1);
    expect(result.lostNowhere).toBe(1);
    expect(result.stoppedOrParked).toBe(3);
    expect(result.refusedViews).toBe(1);
    expect(result.parkedReasons).toEqual({ 'glue-access-denied': 1 });
    expect(result.strayDeadLetters).toBe(1);
    expect(result.doubleStops).toBe(0);
  });

  it('poison must be parked with a reason, and is never counted lost', () => {
    const result = judge({
      requests: [
        { index: 0, kind: 'not-a-view', tableName: 'plain_0' },
        { index: 1, kind: 'denied', tableName: 'denied_1', runId: 'run-1' },
        { index: 2, kind: 'denied', tableName: 'denied_2', runId: 'run-2' },
      ],
      runs: runs({
        'run-1': { status: 'RUNNING', acceptedStops: 0 },
        'run-2': { status: 'RUNNING', acceptedStops: 0 },
      }),
      deadLetters: [
        { tableName: 'plain_0', reason: 'glue-invalid-input' },
        { tableName: 'denied_1', reason: 'x' },
        { tableName: 'denied_2' },
      ],
    });
    expect(result.verdicts.map((v) => [v.end, v.stoppedOrParked, v.lost])).toEqual([
      ['parked', true, false],
      ['parked', true, false],
      ['redriven', false, false],
    ]);
    expect(result.poison).toBe(3);
    expect(result.poisonParked).toBe(2);
    expect(result.refusedViews).toBe(0);
  });

  it('a run stopped twice, or the new run stopped by a duplicate, is a double stop', () => {
    const result = judge({
      requests: [view(0), view(1, { duplicateRunId: 'new-1' }), view(2, { duplicateRunId: 'new-2' })],
      runs: runs({
        'run-0': { status: 'STOPPED', acceptedStops: 2 },
        'run-1': { status: 'STOPPED', acceptedStops: 1 },
        'new-1': { status: 'STOPPED', acceptedStops: 1 },
        'run-2': { status: 'STOPPED', acceptedStops: 1 },
        'new-2': { status: 'RUNNING', acceptedStops: 0 },
      }),
      deadLetters: [],
    });
    expect(result.verdicts.map((v) => v.doubleStops)).toEqual([1, 1, 0]);
    expect(result.doubleStops).toBe(2);
  });

  it('counts accepted stops per run from the call log', () => {
    const counts = acceptedStopsByRun([
      { operation: 'StopMaterializedViewRefreshTaskRun', runId: 'a' },
      { operation: 'StopMaterializedViewRefreshTaskRun', runId: 'a' },
      { operation: 'StopMaterializedViewRefreshTaskRun' },
      { operation: 'StartMaterializedViewRefreshTaskRun', runId: 'b' },
    ]);
    expect([...counts]).toEqual([['a', 2]]);
  });
});

describe('the scope oracle', () => {
  const scopes: ScopeFacts[] = [
    { index: 0, databaseName: 'chaos', tableNames: ['scope_0000_*'], key: 'key:s0' },
    { index: 1, databaseName: 'chaos_scope_0001', tableNames: ['*'], key: 'message:m1' },
  ];
  const view = (scope: number, n: number, extra: Partial<ScopeViewFacts> = {}): ScopeViewFacts => ({
    scope,
    tableName: `${scopePrefix(scope)}v${n}`,
    kind: 'view',
    runId: `run-${scope}-${n}`,
    newerRunIds: [],
    ...extra,
  });
  const runs = (entries: Record<string, OracleRun>) => new Map(Object.entries(entries));
  const viewKey = `scope-${'a'.repeat(64)}`;

  it('judges each view like a request, and a denied view by its parking under its own key', () => {
    const views = [
      view(0, 0),
      view(0, 1, { kind: 'finished' }),
      view(0, 2, { kind: 'denied', refusedByGlue: true }),
      view(0, 3),
      view(0, 4),
      view(1, 0, { kind: 'denied' }),
    ];
    const result = judgeScopes({
      scopes,
      views,
      runs: runs({
        'run-0-0': { status: 'STOPPED', acceptedStops: 1 },
        'run-0-1': { status: 'SUCCEEDED', acceptedStops: 0 },
        'run-0-2': { status: 'RUNNING', acceptedStops: 0 },
        'run-0-3': { status: 'RUNNING', acceptedStops: 0 },
        'run-0-4': { status: 'RUNNING', acceptedStops: 0 },
        'run-1-0': { status: 'RUNNING', acceptedStops: 0 },
      }),
      deadLetters: [
        {
          shape: 'exact',
          tableName: 'scope_0000_v2',
          reason: 'glue-access-denied',
          idempotencyKey: viewKey,
          parentIdempotencyKey: 'key:s0',
        },
        { shape: 'exact', tableName: 'scope_0000_v3' },
        // A task parked on its last delivery names its views: parked, though not under the view's key.
        {
          shape: 'task',
          databaseName: 'chaos_scope_0001',
          tableNames: ['*'],
          views: ['scope_0001_v0'],
          reason: 'retries-exhausted',
        },
      ],
    });
    expect(result.verdicts.map((v) => v.end)).toEqual([
      'stopped',
      'not-running',
      'parked',
      'redriven',
      'nowhere',
      'parked',
    ]);
    expect(result.verdicts.map((v) => v.parkedAs)).toEqual([
      undefined,
      undefined,
      'view',
      undefined,
      undefined,
      'task',
    ]);
    expect(result.lost).toBe(2);
    expect(result.lostRedriven).toBe(1);
    expect(result.lostNowhere).toBe(1);
    expect(result.stoppedOrParked).toBe(4);
    expect(result.denied).toBe(2);
    expect(result.deniedParked).toBe(2);
    expect(result.deniedParkedUnderViewKey).toBe(1);
    expect(result.deniedRefused).toBe(1);
    expect(result.deniedRefusedParkedUnderViewKey).toBe(1);
    expect(result.parkedAs).toEqual({ view: 1, task: 1, scope: 0 });
    expect(result.refusedViews).toBe(0);
    expect(result.parkedReasons).toEqual({ 'glue-access-denied': 1, 'retries-exhausted': 1 });
    expect(result.byKind.denied.parked).toBe(2);
  });

  it('a parking under another parent key is not under the view’s own key', () => {
    const result = judgeScopes({
      scopes,
      views: [view(0, 0, { kind: 'denied', refusedByGlue: true })],
      runs: runs({ 'run-0-0': { status: 'RUNNING', acceptedStops: 0 } }),
      deadLetters: [
        {
          shape: 'exact',
          tableName: 'scope_0000_v0',
          reason: 'glue-access-denied',
          idempotencyKey: viewKey,
          parentIdempotencyKey: 'key:other',
        },
      ],
    });
    expect(result.verdicts[0]?.end).toBe('parked');
    expect(result.deniedParkedUnderViewKey).toBe(0);
    expect(result.deniedRefusedParkedUnderViewKey).toBe(0);
    expect(result.deniedRefused).toBe(1);
  });

  it('counts runs stopped twice and newer runs stopped', () => {
    const result = judgeScopes({
      scopes,
      views: [
        view(0, 0, { newerRunIds: ['new-0'] }),
        view(0, 1, { kind: 'replaced', newerRunIds: ['new-1', 'newer-1'] }),
        view(0, 2),
      ],
      runs: runs({
        'run-0-0': { status: 'STOPPED', acceptedStops: 1 },
        'new-0': { status: 'STOPPED', acceptedStops: 1 },
        'run-0-1': { status: 'SUCCEEDED', acceptedStops: 0 },
        'new-1': { status: 'SUCCEEDED', acceptedStops: 0 },
        'newer-1': { status: 'RUNNING', acceptedStops: 0 },
        'run-0-2': { status: 'STOPPED', acceptedStops: 2 },
      }),
      deadLetters: [],
    });
    expect(result.verdicts.map((v) => [v.end, v.newerRunsStopped, v.doubleStops])).toEqual([
      ['stopped', 1, 0],
      ['not-running', 0, 0],
      ['stopped', 0, 1],
    ]);
    expect(result.newerRuns).toBe(3);
    expect(result.newerRunsStopped).toBe(1);
    expect(result.doubleStops).toBe(1);
  });

  it('names the views of exact, task and scope dead letters, and nothing else', () => {
    const viewsByScope = new Map([
      [0, ['scope_0000_v0', 'scope_0000_v1']],
      [1, ['scope_0001_v0']],
    ]);
    const tables = new Set([...viewsByScope.values()].flat());
    const of = (letter: DeadLetter) => scopeViewsOf(letter, scopes, viewsByScope, tables);
    expect(of({ shape: 'exact', tableName: 'scope_0000_v1' })).toEqual({
      views: ['scope_0000_v1'],
      as: 'view',
    });
    expect(of({ tableName: 'scope_0000_v1' })).toEqual({ views: ['scope_0000_v1'], as: 'view' });
    expect(of({ shape: 'exact', tableName: 'mv_00001' })).toBeUndefined();
    expect(
      of({ shape: 'scope', databaseName: 'chaos', tableNames: ['scope_0000_*'], reason: 'x' })?.views,
    ).toEqual(['scope_0000_v0', 'scope_0000_v1']);
    expect(of({ shape: 'task', databaseName: 'chaos_scope_0001', tableNames: ['*'] })).toEqual({
      views: ['scope_0001_v0'],
      as: 'task',
    });
    expect(of({ shape: 'scope', databaseName: 'chaos', tableNames: ['mv_*'] })).toBeUndefined();
    expect(of({ shape: 'other' })).toBeUndefined();
  });

  it('counts Glue calls by part: pages and scope views for scopes, exact views for exact requests', () => {
    const list = 'ListMaterializedViewRefreshTaskRuns';
    const stop = 'StopMaterializedViewRefreshTaskRun';
    const parts = glueCallsByPart(
      [
        { operation: list, input: { DatabaseName: 'chaos' }, attempt: 1 },
        { operation: list, input: { DatabaseName: 'chaos' }, attempt: 2 },
        { operation: list, input: { DatabaseName: 'chaos', TableName: 'scope_0000_v0' }, attempt: 1 },
        { operation: stop, input: { DatabaseName: 'chaos', TableName: 'scope_0000_v0' }, attempt: 1 },
        { operation: list, input: { DatabaseName: 'chaos', TableName: 'mv_00001' }, attempt: 1 },
        { operation: stop, input: { DatabaseName: 'chaos', TableName: 'mv_00001' }, attempt: 1 },
        { operation: stop, input: { DatabaseName: 'chaos', TableName: 'mv_00001' }, attempt: 2 },
      ],
      new Set(['scope_0000_v0']),
    );
    expect(parts.scope).toEqual({ pageLists: 2, pageReads: 1, viewLists: 1, stops: 1 });
    expect(parts.exact).toEqual({ pageLists: 0, pageReads: 0, viewLists: 1, stops: 2 });
  });
});

describe('settings and report', () => {
  it('reads the function timeout and the queue settings from serverless.yml', async () => {
    const settings = deployedSettings(await readFile(path.join(projectRoot, 'serverless.yml'), 'utf8'));
    expect(settings.functionTimeoutSeconds).toBeGreaterThanOrEqual(1);
    expect(settings.batchSize).toBeGreaterThanOrEqual(1);
    expect(simulatedVisibilityTimeoutSeconds(settings)).toBeGreaterThan(settings.functionTimeoutSeconds);
  });

  it('reads nested blocks only, and fails loudly on a missing value', () => {
    const yml = [
      'params:',
      '  default:',
      '    batchSize: 10',
      '    maximumConcurrency: 5',
      '    maximumBatchingWindow: 1 # seconds',
      '    maxReceiveCount: 4',
      '  ci:',
      '    maxReceiveCount: 9',
      'provider:',
      '  name: aws',
      '  timeout: 60',
      '  environment:',
      '    timeout: 1',
    ].join('\n');
    expect(deployedSettings(yml)).toEqual({
      functionTimeoutSeconds: 60,
      batchSize: 10,
      maximumConcurrency: 5,
      maximumBatchingWindow: 1,
      maxReceiveCount: 4,
    });
    expect(() => deployedSettings(yml.replace('  timeout: 60', '  memorySize: 1'))).toThrow(
      /provider.timeout/,
    );
  });

  it('replaces only the chaos section', () => {
    const doc = `# R\n\n<!-- fuzz:start -->\nf\n<!-- fuzz:end -->\n\n${SECTION_START}\nold\n${SECTION_END}\n\ntail\n`;
    const out = replaceSection(doc, '## new\n');
    expect(out).toBe(
      `# R\n\n<!-- fuzz:start -->\nf\n<!-- fuzz:end -->\n\n${SECTION_START}\n## new\n${SECTION_END}\n\ntail\n`,
    );
    expect(replaceSection(out, 'again')).toContain(`${SECTION_START}\nagain\n${SECTION_END}`);
    expect(() => replaceSection('# R\n', 'x')).toThrow(/markers/);
  });

  it('percentile is the nearest rank', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([3, 1, 2, 4], 50)).toBe(2);
    expect(percentile([3, 1, 2, 4], 100)).toBe(4);
  });
});

describe('execution environments (child processes)', () => {
  let dir: string;
  let bundle: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'glue-mv-stop-chaos-test-'));
    bundle = path.join(dir, 'index.cjs');
    // A stand-in bundle: answers with what the context says, after `wait` ms; `throw` makes it reject.
    await writeFile(
      bundle,
      `globalThis.loads = (globalThis.loads ?? 0) + 1;
exports.handler = async (event, context) => {
  await new Promise((r) => setTimeout(r, event.wait ?? 0));
  if (event.throw) throw new Error('boom');
  return { arn: context.invokedFunctionArn, remaining: context.getRemainingTimeInMillis(), loads: globalThis.loads, pid: process.pid };
};\n`,
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const responseOf = (result: InvocationResult) => {
    if (result.kind !== 'response') throw new Error(`expected a response, got ${result.kind}`);
    return result.response as { arn: string; remaining: number; loads: number; pid: number };
  };

  it('reuses an environment, gives the context Lambda gives, and replaces it after a timeout or a kill', async () => {
    const pool = new EnvironmentPool({ env: {}, bundle, functionTimeoutMs: 1_000 }, 1);
    try {
      const first = responseOf(await pool.invoke(0, { wait: 0 }));
      expect(first.arn).toMatch(/^arn:aws:lambda:[^:]+:123456789012:function:/);
      expect(first.remaining).toBeGreaterThan(500);
      expect(first.remaining).toBeLessThanOrEqual(1_000);
      const second = responseOf(await pool.invoke(0, { wait: 200 }));
      expect(second.pid).toBe(first.pid); // warm
      expect(second.loads).toBe(1); // the module loaded once
      expect(second.remaining).toBeLessThanOrEqual(800);

      expect((await pool.invoke(0, { throw: true })).kind).toBe('error');
      expect(pool.coldStarts).toBe(1); // an error does not end the environment

      expect((await pool.invoke(0, { wait: 5_000 })).kind).toBe('timeout');
      expect((await pool.invoke(0, { wait: 2_000 }, { killAfterMs: 100 })).kind).toBe('killed');
      const fresh = responseOf(await pool.invoke(0, {}));
      expect(fresh.pid).not.toBe(first.pid);
      expect(pool.coldStarts).toBe(3);
    } finally {
      pool.destroyAll();
    }
  });

  it('a bundle that fails its cold start is an InitError', async () => {
    const broken = path.join(dir, 'broken.cjs');
    await writeFile(broken, "throw new Error('config missing');\n");
    const pool = new EnvironmentPool({ env: {}, bundle: broken, functionTimeoutMs: 1_000 }, 1);
    await expect(pool.invoke(0, {})).rejects.toThrow(/config missing/);
  });
});

describe('the chaos event source (fauxqs)', () => {
  it('deletes handled records, redrives exhausted ones, delivers duplicates with the same message id', async () => {
    const sqsServer = await startFauxqs({
      port: 0,
      host: '127.0.0.1',
      logger: false,
      defaultRegion: 'us-east-1',
    });
    const url = (name: string) =>
      sqsServer.createQueue(name).queueUrl.replace(/^https?:\/\/[^/]+/, sqsServer.address);
    const queueUrl = url('q');
    const deadLetterQueueUrl = url('dlq');
    const sqs = new SQSClient({
      endpoint: sqsServer.address,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    try {
      for (const body of ['ok', 'fail', 'dup']) {
        await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      }
      const seen: { body: string; messageId: string; receiveCount: string }[] = [];
      const duplicated = new Set<string>();
      const source: ChaosEventSource = new ChaosEventSource({
        sqsEndpoint: sqsServer.address,
        region: 'us-east-1',
        queueUrl,
        deadLetterQueueUrl,
        batchSize: 10,
        concurrency: 1,
        visibilityTimeoutSeconds: 1,
        maxReceiveCount: 2,
        idleMs: 300,
        deadlineAt: Date.now() + 8_000,
        invoke: async (_slot, event: SQSEvent) => {
          for (const r of event.Records) {
            seen.push({
              body: r.body,
              messageId: r.messageId,
              receiveCount: r.attributes.ApproximateReceiveCount,
            });
          }
          const failed = event.Records.filter((r) => r.body === 'fail');
          return {
            kind: 'response',
            response: { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.messageId })) },
            durationMs: 1,
          };
        },
        onHandled: (record, message, duplicate) => {
          if (record.body === 'dup' && !duplicate && !duplicated.has(record.messageId)) {
            duplicated.add(record.messageId);
            source.duplicate(message, record, 0);
          }
        },
      });
      const stats = await source.run();

      expect(stats.incomplete).toBe(false);
      expect(stats.redriven).toBe(1);
      expect(stats.duplicatesDelivered).toBe(1);
      const dups = seen.filter((s) => s.body === 'dup');
      expect(dups).toHaveLength(2);
      expect(dups[1]?.messageId).toBe(dups[0]?.messageId);
      expect(Number(dups[1]?.receiveCount)).toBeGreaterThan(Number(dups[0]?.receiveCount));
      expect(seen.filter((s) => s.body === 'fail').map((s) => s.receiveCount)).toEqual(['1', '2']);
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, MaxNumberOfMessages: 10 }),
      );
      expect(Messages.map((m) => m.Body)).toEqual(['fail']);
    } finally {
      sqs.destroy();
      await sqsServer.stop();
    }
  });
});

describe('a small chaos run with scope requests (built queue bundle, no Glue faults, no kills)', () => {
  const shares = {
    ...DEFAULT_SCOPE_SHARES,
    viewsMin: 12,
    viewsMax: 24,
    denied: 0.05,
    finished: 0.1,
    replaced: 0.1,
    duplicate: 0.5,
    taskDuplicate: 0.5,
  };
  const SCOPES = 3;
  /** The first seed whose scopes have both layouts and every kind of view and change, one duplicated. */
  const seed =
    Array.from({ length: 1000 }, (_, i) => i + 1).find((candidate) => {
      const scopes = planScopes(candidate, SCOPES, 20, shares);
      const views = scopes.flatMap((s) => s.views);
      return (
        new Set(scopes.map((s) => s.layout)).size === 2 &&
        scopes.some((s) => s.duplicate) &&
        views.some((v) => v.kind === 'denied') &&
        new Set(views.map((v) => `${v.kind}/${v.change}`)).size === 6
      );
    }) ?? 1;

  it('stops or parks every exact request and scope view, and stops no run that started later', {
    timeout: 240_000,
  }, async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'glue-mv-stop-chaos-run-'));
    try {
      const run = await runChaos({
        seed,
        requests: 20,
        scopes: SCOPES,
        scopeShares: shares,
        faults: [],
        killShare: 0,
        // 16 views per stop task: the larger scopes are split into two tasks.
        glueRate: 4,
        timeLimitMs: 200_000,
        workDir: dir,
      });
      const f = run.figures;
      const sc = f.scopes;
      if (!sc) throw new Error('no scope figures');

      expect(run.problemLines).toEqual([]);
      expect(targets(f).filter((t) => !t.met)).toEqual([]);
      // The tasks the queue function sent itself reached the queue the event source drains.
      const { batchSize } = deployedSettings(
        await readFile(path.join(projectRoot, 'serverless.yml'), 'utf8'),
      );
      expect(sc.viewsPerTask).toBe(fanOutSettings('sqs', 4, batchSize).viewsPerTask);
      expect(sc.tasks.stop).toBeGreaterThan(SCOPES);
      expect(sc.tasks.viewsPerTaskMax).toBeLessThanOrEqual(sc.viewsPerTask);
      expect(sc.oracle.denied).toBeGreaterThan(0);
      expect(sc.oracle.deniedRefused).toBe(sc.oracle.denied);
      expect(sc.oracle.deniedParkedUnderViewKey).toBe(sc.oracle.denied);
      expect(sc.tasks.fallbacks).toBeGreaterThanOrEqual(sc.oracle.denied);
      expect(sc.replacements.made).toBe(sc.replacements.planned);
      expect(sc.duplicates.scopesDelivered).toBe(sc.duplicates.scopesPlanned);
      expect(sc.oracle.newerRuns).toBeGreaterThan(sc.replacements.made);
      expect(sc.oracle.byKind.view.stopped).toBe(
        Object.values(sc.oracle.byKind.view).reduce((a, b) => a + b, 0),
      );
      expect(sc.glue.stops).toBeGreaterThanOrEqual(sc.oracle.ends.stopped);
      const markdown = renderMarkdown(f);
      expect(markdown).toContain('#### How the scope views ended');
      expect(markdown).toContain(`--scopes ${SCOPES} --glue-rate 4`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
