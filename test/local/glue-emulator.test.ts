import {
  AccessDeniedException,
  EntityNotFoundException,
  GetMaterializedViewRefreshTaskRunCommand,
  GlueClient,
  type GlueClientConfig,
  GlueServiceException,
  InvalidInputException,
  ListMaterializedViewRefreshTaskRunsCommand,
  MaterializedViewRefreshTaskNotRunningException,
  MaterializedViewRefreshTaskRunningException,
  MaterializedViewRefreshTaskStoppingException,
  OperationTimeoutException,
  paginateListMaterializedViewRefreshTaskRuns,
  StartMaterializedViewRefreshTaskRunCommand,
  StopMaterializedViewRefreshTaskRunCommand,
  ThrottlingException,
} from '@aws-sdk/client-glue';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type FaultHookCall,
  type GlueEmulator,
  type GlueEmulatorOptions,
  seededFaults,
  seededUnit,
  startGlueEmulator,
} from '../../local/glue-emulator.ts';
import { testClientConfig } from './test-client.ts';

const ACCOUNT = '123456789012';
const STOP = 'StopMaterializedViewRefreshTaskRun';
const DB = 'sales';
const TABLE = 'daily_totals_mv';

/** A real client with the SDK's standard retry logic (3 attempts) but 10 ms back-off, so tests stay fast. */
function glueClient(emulator: GlueEmulator, extra: Partial<GlueClientConfig> = {}): GlueClient {
  return new GlueClient({ ...testClientConfig(emulator.url), ...extra });
}

const stop = (c: GlueClient, tableName = TABLE, databaseName = DB) =>
  c.send(
    new StopMaterializedViewRefreshTaskRunCommand({
      CatalogId: undefined,
      DatabaseName: databaseName,
      TableName: tableName,
    }),
  );

/** Resolves to the rejection of `p` (fails the test if `p` resolves). */
async function rejectionOf(p: Promise<unknown>): Promise<Record<string, unknown> & Error> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown> & Error;
  }
  throw new Error('expected the call to fail');
}

async function withEmulator<T>(
  options: GlueEmulatorOptions,
  body: (emu: GlueEmulator) => Promise<T>,
): Promise<T> {
  const emu = await startGlueEmulator(options);
  try {
    return await body(emu);
  } finally {
    await emu.close();
  }
}

describe('glue emulator (driven by @aws-sdk/client-glue)', () => {
  let emu: GlueEmulator;
  let glue: GlueClient;

  beforeAll(async () => {
    emu = await startGlueEmulator();
  });
  afterAll(async () => {
    await emu.close();
  });
  beforeEach(() => {
    emu.reset();
    glue = glueClient(emu);
  });

  describe('StopMaterializedViewRefreshTaskRun', () => {
    it('stops a RUNNING run: answers {} and the run is STOPPED at once by default', async () => {
      const runId = emu.seedRun({ databaseName: DB, tableName: TABLE });

      const out = await stop(glue);

      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(Object.keys(out).filter((k) => k !== '$metadata')).toEqual([]);
      const [run] = emu.runsOf({ databaseName: DB, tableName: TABLE });
      expect(run).toMatchObject({ runId, status: 'STOPPED', stopping: false });
      expect(run?.endTime).toBeInstanceOf(Date);

      const got = await glue.send(
        new GetMaterializedViewRefreshTaskRunCommand({
          CatalogId: ACCOUNT,
          MaterializedViewRefreshTaskRunId: runId,
        }),
      );
      expect(got.MaterializedViewRefreshTaskRun?.Status).toBe('STOPPED');
      expect(got.MaterializedViewRefreshTaskRun?.EndTime).toBeInstanceOf(Date);
    });

    it('a stop while the run is still being stopped gets MaterializedViewRefreshTaskStoppingException', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE, stopping: true });

      const err = await rejectionOf(stop(glue));

      expect(err).toBeInstanceOf(MaterializedViewRefreshTaskStoppingException);
      expect(err).toBeInstanceOf(GlueServiceException);
      expect(err.$metadata).toMatchObject({ httpStatusCode: 400 });
      expect(emu.callCount(STOP)).toBe(1); // a client fault: not retried
    });

    it('nothing running (only finished runs) gets MaterializedViewRefreshTaskNotRunningException', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE, status: 'SUCCEEDED' });
      emu.seedRun({ databaseName: DB, tableName: TABLE, status: 'FAILED', errorMessage: 'boom' });

      await expect(stop(glue)).rejects.toBeInstanceOf(MaterializedViewRefreshTaskNotRunningException);
      expect(emu.calls.map((c) => c.errorCode)).toEqual(['MaterializedViewRefreshTaskNotRunningException']);
    });

    it('a run that finished on its own is no longer stoppable', async () => {
      const runId = emu.seedRun({ databaseName: DB, tableName: TABLE, status: 'STARTING' });
      emu.finishRun(runId, 'SUCCEEDED');

      await expect(stop(glue)).rejects.toBeInstanceOf(MaterializedViewRefreshTaskNotRunningException);
      expect(emu.getRun(runId)?.status).toBe('SUCCEEDED');
    });

    it('an unregistered table gets EntityNotFoundException', async () => {
      emu.addTable({ databaseName: DB, tableName: TABLE });

      const err = await rejectionOf(stop(glue, 'no_such_table'));

      expect(err).toBeInstanceOf(EntityNotFoundException);
      expect(err.message).toContain('no_such_table');
    });

    it('a table that is not a materialized view gets InvalidInputException', async () => {
      emu.addTable({ databaseName: DB, tableName: 'orders', plain: true });

      const err = await rejectionOf(stop(glue, 'orders'));

      expect(err).toBeInstanceOf(InvalidInputException);
      expect(err.message).toContain('not a materialized view');
    });

    it('stops only the run of the addressed catalog/table', async () => {
      const mine = emu.seedRun({ databaseName: DB, tableName: TABLE });
      const other = emu.seedRun({ databaseName: DB, tableName: 'other_mv' });
      const otherCatalog = emu.seedRun({ catalogId: '999999999999', databaseName: DB, tableName: TABLE });

      await stop(glue);

      expect(emu.getRun(mine)?.status).toBe('STOPPED');
      expect(emu.getRun(other)?.status).toBe('RUNNING');
      expect(emu.getRun(otherCatalog)?.status).toBe('RUNNING');
    });
  });

  describe('input validation', () => {
    it.each([
      ['empty', ''],
      ['256 characters', 'a'.repeat(256)],
      ['a control character', 'bad\u0001name'],
      ['a newline', 'bad\nname'],
      ['a lone high surrogate', 'bad\uD800name'],
      ['a lone low surrogate', 'bad\uDC00name'],
    ])('TableName with %s gets InvalidInputException naming the field', async (_label, tableName) => {
      emu.addTable({ databaseName: DB, tableName: 'x' });

      const err = await rejectionOf(stop(glue, tableName));

      expect(err).toBeInstanceOf(InvalidInputException);
      expect(err.message).toContain("'TableName'");
      expect(emu.calls[0]?.input.TableName).toBe(tableName); // reached the wire unchanged
    });

    it('an invalid CatalogId or DatabaseName is reported too, all errors at once', async () => {
      const err = await rejectionOf(
        glue.send(
          new StopMaterializedViewRefreshTaskRunCommand({ CatalogId: '', DatabaseName: '', TableName: 'ok' }),
        ),
      );

      expect(err).toBeInstanceOf(InvalidInputException);
      expect(err.message).toMatch(/^2 validation errors detected/);
      expect(err.message).toContain("'CatalogId'");
      expect(err.message).toContain("'DatabaseName'");
    });

    it('a missing DatabaseName gets InvalidInputException naming it', async () => {
      const err = await rejectionOf(
        glue.send(
          new StartMaterializedViewRefreshTaskRunCommand({
            CatalogId: undefined,
            DatabaseName: undefined,
            TableName: 't',
          }),
        ),
      );

      expect(err).toBeInstanceOf(InvalidInputException);
      expect(err.message).toContain("'DatabaseName'");
      expect(err.message).toContain('must not be null');
      expect(emu.calls[0]?.input).toEqual({ TableName: 't' }); // the SDK omits unset members
    });

    it('accepts 255-character, tab and supplementary-plane names', async () => {
      for (const name of ['a'.repeat(255), 'with\ttab', 'emoji_\u{1F600}_名前']) {
        const runId = emu.seedRun({ databaseName: name, tableName: name });
        await expect(stop(glue, name, name)).resolves.toBeDefined();
        expect(emu.getRun(runId)?.status).toBe('STOPPED');
      }
      // 255 code points even when they take 510 UTF-16 units.
      const wide = '\u{1F600}'.repeat(255);
      emu.seedRun({ databaseName: DB, tableName: wide });
      await expect(stop(glue, wide)).resolves.toBeDefined();
    });

    it('GetMaterializedViewRefreshTaskRun rejects a non-UUID run id', async () => {
      await expect(
        glue.send(
          new GetMaterializedViewRefreshTaskRunCommand({
            CatalogId: ACCOUNT,
            MaterializedViewRefreshTaskRunId: 'nope',
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidInputException);
    });
  });

  describe('access and catalog', () => {
    it('deny() answers AccessDeniedException, which the SDK does not retry', async () => {
      await withEmulator(
        { deny: (r) => r.operation === STOP && r.tableName === 'secret_mv' },
        async (denying) => {
          const c = glueClient(denying);
          const allowed = denying.seedRun({ databaseName: DB, tableName: TABLE });
          denying.seedRun({ databaseName: DB, tableName: 'secret_mv' });

          const err = await rejectionOf(stop(c, 'secret_mv'));
          await stop(c);

          expect(err).toBeInstanceOf(AccessDeniedException);
          expect(err.message).toContain('glue:StopMaterializedViewRefreshTaskRun');
          expect(denying.calls.map((x) => x.status)).toEqual([400, 200]);
          expect(denying.runsOf({ databaseName: DB, tableName: 'secret_mv' })[0]?.status).toBe('RUNNING');
          expect(denying.getRun(allowed)?.status).toBe('STOPPED');
        },
      );
    });

    it('an omitted CatalogId means the emulator account; an explicit one is honoured', async () => {
      const runId = emu.seedRun({ databaseName: DB, tableName: TABLE });
      const elsewhere = emu.seedRun({ catalogId: '210987654321', databaseName: DB, tableName: TABLE });

      await stop(glue); // CatalogId: undefined
      expect(emu.calls[0]?.input).not.toHaveProperty('CatalogId');
      expect(emu.getRun(runId)?.status).toBe('STOPPED');
      expect(emu.getRun(elsewhere)?.status).toBe('RUNNING');

      await glue.send(
        new StopMaterializedViewRefreshTaskRunCommand({
          CatalogId: '210987654321',
          DatabaseName: DB,
          TableName: TABLE,
        }),
      );
      expect(emu.getRun(elsewhere)?.status).toBe('STOPPED');
    });

    it('a run is not visible through another catalog', async () => {
      const runId = emu.seedRun({ databaseName: DB, tableName: TABLE });
      await expect(
        glue.send(
          new GetMaterializedViewRefreshTaskRunCommand({
            CatalogId: '210987654321',
            MaterializedViewRefreshTaskRunId: runId,
          }),
        ),
      ).rejects.toBeInstanceOf(EntityNotFoundException);
    });
  });

  describe('Start / Get', () => {
    it('starts a run (auto-registering the table), refuses a second one, and reports it via Get', async () => {
      const started = await glue.send(
        new StartMaterializedViewRefreshTaskRunCommand({
          CatalogId: undefined,
          DatabaseName: DB,
          TableName: TABLE,
          FullRefresh: true,
        }),
      );
      const runId = started.MaterializedViewRefreshTaskRunId ?? '';
      expect(runId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

      await expect(
        glue.send(
          new StartMaterializedViewRefreshTaskRunCommand({
            CatalogId: undefined,
            DatabaseName: DB,
            TableName: TABLE,
          }),
        ),
      ).rejects.toBeInstanceOf(MaterializedViewRefreshTaskRunningException);

      const { MaterializedViewRefreshTaskRun: run } = await glue.send(
        new GetMaterializedViewRefreshTaskRunCommand({
          CatalogId: undefined,
          MaterializedViewRefreshTaskRunId: runId,
        }),
      );
      expect(run).toMatchObject({
        MaterializedViewRefreshTaskRunId: runId,
        CustomerId: ACCOUNT,
        CatalogId: ACCOUNT,
        DatabaseName: DB,
        TableName: TABLE,
        Status: 'RUNNING',
        RefreshType: 'FULL',
      });
      // awsJson1_1 epoch-second timestamps arrive as Dates, with millisecond precision kept.
      expect(run?.CreationTime).toBeInstanceOf(Date);
      expect(Math.abs((run?.StartTime?.getTime() ?? 0) - Date.now())).toBeLessThan(5_000);
      expect(run?.EndTime).toBeUndefined();
    });

    it('autoCreateTables: false makes Start on an unknown table EntityNotFoundException', async () => {
      await withEmulator({ autoCreateTables: false }, async (strict) => {
        const c = glueClient(strict);
        await expect(
          c.send(
            new StartMaterializedViewRefreshTaskRunCommand({
              CatalogId: undefined,
              DatabaseName: DB,
              TableName: TABLE,
            }),
          ),
        ).rejects.toBeInstanceOf(EntityNotFoundException);

        strict.addTable({ databaseName: DB, tableName: TABLE });
        const out = await c.send(
          new StartMaterializedViewRefreshTaskRunCommand({
            CatalogId: undefined,
            DatabaseName: DB,
            TableName: TABLE,
          }),
        );
        expect(strict.runsOf({ databaseName: DB, tableName: TABLE }).map((r) => r.runId)).toEqual([
          out.MaterializedViewRefreshTaskRunId,
        ]);
      });
    });

    it('Get of an unknown run id gets EntityNotFoundException', async () => {
      await expect(
        glue.send(
          new GetMaterializedViewRefreshTaskRunCommand({
            CatalogId: ACCOUNT,
            MaterializedViewRefreshTaskRunId: '00000000-0000-4000-8000-000000000000',
          }),
        ),
      ).rejects.toBeInstanceOf(EntityNotFoundException);
    });
  });

  describe('time-dependent state (injected clock)', () => {
    it('with stoppingDurationMs the run stays RUNNING while being stopped, then turns STOPPED', async () => {
      let clock = Date.parse('2030-01-01T00:00:00Z');
      await withEmulator(
        { stoppingDurationMs: 30_000, startingDurationMs: 5_000, now: () => clock },
        async (e) => {
          const c = glueClient(e);
          const started = await c.send(
            new StartMaterializedViewRefreshTaskRunCommand({
              CatalogId: undefined,
              DatabaseName: DB,
              TableName: TABLE,
            }),
          );
          const runId = started.MaterializedViewRefreshTaskRunId ?? '';
          const status = async () =>
            (
              await c.send(
                new GetMaterializedViewRefreshTaskRunCommand({
                  CatalogId: undefined,
                  MaterializedViewRefreshTaskRunId: runId,
                }),
              )
            ).MaterializedViewRefreshTaskRun?.Status;

          expect(await status()).toBe('STARTING');
          clock += 5_000;
          expect(await status()).toBe('RUNNING');

          await stop(c);
          expect(await status()).toBe('RUNNING'); // there is no STOPPING status value
          expect(e.getRun(runId)).toMatchObject({ status: 'RUNNING', stopping: true });
          await expect(stop(c)).rejects.toBeInstanceOf(MaterializedViewRefreshTaskStoppingException);
          // A new run cannot start while the old one is still winding down.
          await expect(
            c.send(
              new StartMaterializedViewRefreshTaskRunCommand({
                CatalogId: undefined,
                DatabaseName: DB,
                TableName: TABLE,
              }),
            ),
          ).rejects.toBeInstanceOf(MaterializedViewRefreshTaskRunningException);

          clock += 30_000;
          expect(await status()).toBe('STOPPED');
          expect(e.getRun(runId)?.endTime?.toISOString()).toBe('2030-01-01T00:00:35.000Z');
          await expect(stop(c)).rejects.toBeInstanceOf(MaterializedViewRefreshTaskNotRunningException);
        },
      );
    });
  });

  describe('ListMaterializedViewRefreshTaskRuns', () => {
    function seedMany(n: number, tableName = TABLE): Set<string> {
      const ids = new Set<string>();
      for (let i = 0; i < n; i++) {
        ids.add(emu.seedRun({ databaseName: DB, tableName, status: i === n - 1 ? 'RUNNING' : 'SUCCEEDED' }));
      }
      return ids;
    }

    it('pages 250 runs with MaxResults 100 as 100 + 100 + 50, every run exactly once, newest first', async () => {
      const ids = seedMany(250);
      seedMany(7, 'other_mv');
      const pageSizes: number[] = [];
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await glue.send(
          new ListMaterializedViewRefreshTaskRunsCommand({
            CatalogId: undefined,
            DatabaseName: DB,
            TableName: TABLE,
            MaxResults: 100,
            NextToken: token,
          }),
        );
        const runs = page.MaterializedViewRefreshTaskRuns ?? [];
        pageSizes.push(runs.length);
        seen.push(...runs.map((r) => r.MaterializedViewRefreshTaskRunId ?? ''));
        token = page.NextToken;
      } while (token !== undefined);

      expect(pageSizes).toEqual([100, 100, 50]);
      expect(new Set(seen)).toEqual(ids);
      expect(seen).toHaveLength(250);
      expect(seen[0]).toBe([...ids].at(-1)); // newest first
    });

    it('works with the SDK paginator, defaults to 100 per page, and filters by catalog/database/table', async () => {
      seedMany(120);
      seedMany(30, 'other_mv');
      emu.seedRun({ databaseName: 'other_db', tableName: TABLE });
      emu.seedRun({ catalogId: '210987654321', databaseName: DB, tableName: TABLE });

      const pages: number[] = [];
      for await (const page of paginateListMaterializedViewRefreshTaskRuns(
        { client: glue },
        { CatalogId: undefined, DatabaseName: DB },
      )) {
        pages.push(page.MaterializedViewRefreshTaskRuns?.length ?? 0);
      }
      expect(pages).toEqual([100, 50]);

      const all = await glue.send(
        new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: undefined, MaxResults: 1000 }),
      );
      expect(all.MaterializedViewRefreshTaskRuns).toHaveLength(151);
      expect(all.NextToken).toBeUndefined();
    });

    it('keeps pages stable when runs are added between pages', async () => {
      const ids = seedMany(5);
      const first = await glue.send(
        new ListMaterializedViewRefreshTaskRunsCommand({
          CatalogId: undefined,
          TableName: TABLE,
          MaxResults: 3,
        }),
      );
      emu.finishRun([...ids].at(-1) ?? '', 'SUCCEEDED');
      emu.seedRun({ databaseName: DB, tableName: TABLE }); // newer than the token's position
      const second = await glue.send(
        new ListMaterializedViewRefreshTaskRunsCommand({
          CatalogId: undefined,
          TableName: TABLE,
          MaxResults: 3,
          NextToken: first.NextToken,
        }),
      );
      const seen = [
        ...(first.MaterializedViewRefreshTaskRuns ?? []),
        ...(second.MaterializedViewRefreshTaskRuns ?? []),
      ];
      expect(new Set(seen.map((r) => r.MaterializedViewRefreshTaskRunId))).toEqual(ids);
      expect(second.NextToken).toBeUndefined();
    });

    it.each([
      ['garbage', 'not-a-token'],
      ['base64 of non-token JSON', Buffer.from('{"x":1}').toString('base64url')],
    ])('an invalid NextToken (%s) gets InvalidInputException', async (_label, token) => {
      await expect(
        glue.send(new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: undefined, NextToken: token })),
      ).rejects.toBeInstanceOf(InvalidInputException);
    });

    it('a NextToken is rejected for a different query and after reset()', async () => {
      seedMany(3);
      const { NextToken } = await glue.send(
        new ListMaterializedViewRefreshTaskRunsCommand({
          CatalogId: undefined,
          TableName: TABLE,
          MaxResults: 1,
        }),
      );
      expect(NextToken).toBeTypeOf('string');
      await expect(
        glue.send(
          new ListMaterializedViewRefreshTaskRunsCommand({
            CatalogId: undefined,
            TableName: 'other_mv',
            NextToken,
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidInputException);
      emu.reset();
      await expect(
        glue.send(
          new ListMaterializedViewRefreshTaskRunsCommand({
            CatalogId: undefined,
            TableName: TABLE,
            NextToken,
          }),
        ),
      ).rejects.toBeInstanceOf(InvalidInputException);
    });

    it.each([0, 1001])('MaxResults %i is out of range (1..1000)', async (max) => {
      const err = await rejectionOf(
        glue.send(new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: undefined, MaxResults: max })),
      );
      expect(err).toBeInstanceOf(InvalidInputException);
      expect(err.message).toContain("'MaxResults'");
    });
  });

  describe('faults and SDK retries', () => {
    it('throttle once: the SDK retries and succeeds; calls show both attempts', async () => {
      const runId = emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ operation: STOP, kind: 'throttle' });

      const out = await stop(glue);

      expect(out.$metadata.attempts).toBe(2);
      expect(emu.calls.map((c) => [c.operation, c.status, c.errorCode, c.fault, c.attempt])).toEqual([
        [STOP, 400, 'ThrottlingException', 'throttle', 1],
        [STOP, 200, undefined, undefined, 2],
      ]);
      expect(emu.getRun(runId)?.status).toBe('STOPPED');
    });

    it('throttle on every attempt surfaces ThrottlingException after 3 attempts', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ kind: 'throttle', times: Number.POSITIVE_INFINITY });

      const err = await rejectionOf(stop(glue));

      expect(err).toBeInstanceOf(ThrottlingException);
      expect(err.$metadata).toMatchObject({ httpStatusCode: 400, attempts: 3 });
      expect(emu.callCount(STOP)).toBe(3);
    });

    it('internal-error (500 InternalServiceException) is retried by the SDK', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ kind: 'internal-error', times: 2 });

      await stop(glue);

      expect(emu.calls.map((c) => c.status)).toEqual([500, 500, 200]);
      expect(emu.calls[0]?.errorCode).toBe('InternalServiceException');
    });

    it('service-unavailable (503) is retried; when persistent the SDK gives a generic GlueServiceException', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ kind: 'service-unavailable', times: 3 });

      const err = await rejectionOf(stop(glue));

      expect(err).toBeInstanceOf(GlueServiceException);
      expect(err.name).toBe('ServiceUnavailableException');
      expect(err.$metadata).toMatchObject({ httpStatusCode: 503, attempts: 3 });
      expect(emu.calls.map((c) => c.status)).toEqual([503, 503, 503]);
    });

    it('operation-timeout gets OperationTimeoutException and is NOT retried', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ operation: STOP, kind: 'operation-timeout' });

      const err = await rejectionOf(stop(glue));

      expect(err).toBeInstanceOf(OperationTimeoutException);
      expect(emu.callCount()).toBe(1);
      expect(emu.runsOf({ databaseName: DB, tableName: TABLE })[0]?.status).toBe('RUNNING');
    });

    it('connection-reset once: the SDK retries (ECONNRESET is transient) and succeeds', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ kind: 'connection-reset' });

      const out = await stop(glue);

      expect(out.$metadata.attempts).toBe(2);
      expect(emu.calls.map((c) => [c.status, c.fault])).toEqual([
        [0, 'connection-reset'],
        [200, undefined],
      ]);
    });

    it('persistent connection-reset: a network error with code ECONNRESET and no HTTP status', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ kind: 'connection-reset', times: 3 });

      const err = await rejectionOf(stop(glue));

      expect(err).not.toBeInstanceOf(GlueServiceException);
      expect(err.code).toBe('ECONNRESET');
      // @smithy/node-http-handler renames ECONNRESET/EPIPE/ETIMEDOUT/ECONNREFUSED errors to TimeoutError.
      expect(err.name).toBe('TimeoutError');
      expect((err.$metadata as { httpStatusCode?: number }).httpStatusCode).toBeUndefined();
      expect(emu.callCount(STOP)).toBe(3);
    });

    it('afterOperation: the stop happens but the answer is lost, so the SDK retry sees NotRunning', async () => {
      const runId = emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ operation: STOP, kind: 'connection-reset', afterOperation: true });

      await expect(stop(glue)).rejects.toBeInstanceOf(MaterializedViewRefreshTaskNotRunningException);

      expect(emu.getRun(runId)?.status).toBe('STOPPED');
      expect(emu.calls.map((c) => c.errorCode ?? c.fault)).toEqual([
        'connection-reset',
        'MaterializedViewRefreshTaskNotRunningException',
      ]);
    });

    it('malformed-response (500, HTML body) is retried; when persistent it surfaces with status 500', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ kind: 'malformed-response', times: 3 });

      const err = await rejectionOf(stop(glue));

      // Not a GlueServiceException: the JSON parse failure itself, decorated with $metadata.
      expect(err).toBeInstanceOf(SyntaxError);
      expect(err.$metadata).toMatchObject({ httpStatusCode: 500, attempts: 3 });
      expect(emu.calls.map((c) => c.status)).toEqual([500, 500, 500]);
      expect(emu.runsOf({ databaseName: DB, tableName: TABLE })[0]?.status).toBe('RUNNING');
    });

    it('match and operation restrict a fault to the requests they describe', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.seedRun({ databaseName: DB, tableName: 'other_mv' });
      emu.injectFault({
        operation: STOP,
        kind: 'operation-timeout',
        match: (input) => input.TableName === 'other_mv',
      });

      await glue.send(new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: undefined }));
      await stop(glue);
      await expect(stop(glue, 'other_mv')).rejects.toBeInstanceOf(OperationTimeoutException);
      await stop(glue, 'other_mv'); // the fault was used up

      expect(emu.calls.map((c) => [c.operation, c.fault ?? c.status])).toEqual([
        ['ListMaterializedViewRefreshTaskRuns', 200],
        [STOP, 200],
        [STOP, 'operation-timeout'],
        [STOP, 200],
      ]);
    });

    it('clearFaults() removes pending faults', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ kind: 'operation-timeout', times: 5 });
      emu.clearFaults();

      await stop(glue);
      expect(emu.calls.map((c) => c.status)).toEqual([200]);
    });

    it('hang never answers; close() destroys the socket and ends promptly', async () => {
      const hanging = await startGlueEmulator();
      const c = glueClient(hanging, { maxAttempts: 1, retryStrategy: new ConfiguredRetryStrategy(1, 0) });
      hanging.seedRun({ databaseName: DB, tableName: TABLE });
      hanging.injectFault({ kind: 'hang' });

      const pending = rejectionOf(stop(c));
      await expect.poll(() => hanging.callCount(STOP), { timeout: 2_000, interval: 10 }).toBe(1);
      await new Promise((r) => setTimeout(r, 50));
      expect(hanging.calls[0]).toMatchObject({ status: 0, fault: 'hang' });

      const closedAt = performance.now();
      await hanging.close();
      const err = await pending;

      expect(performance.now() - closedAt).toBeLessThan(1_000);
      expect(err.code).toBe('ECONNRESET');
      expect(hanging.runsOf({ databaseName: DB, tableName: TABLE })[0]?.status).toBe('RUNNING');
      await hanging.close(); // idempotent
    });
  });

  describe('latency and rate limiting', () => {
    it('setLatency delays every answer', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.setLatency(120);

      const t0 = performance.now();
      await stop(glue);

      expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    });

    it('a burst above the rate limit gets ThrottlingException for the excess', async () => {
      const clock = Date.now();
      await withEmulator(
        { rateLimit: { requestsPerSecond: 1, burst: 3 }, now: () => clock },
        async (limited) => {
          const c = glueClient(limited, { maxAttempts: 1, retryStrategy: new ConfiguredRetryStrategy(1, 0) });
          const results = await Promise.allSettled(
            Array.from({ length: 6 }, () =>
              c.send(new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: undefined })),
            ),
          );

          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
          const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
          expect(rejected).toHaveLength(3);
          for (const reason of rejected) expect(reason).toBeInstanceOf(ThrottlingException);
          expect(limited.calls.filter((x) => x.errorCode === 'ThrottlingException')).toHaveLength(3);
        },
      );
    });

    it('the bucket refills at requestsPerSecond', async () => {
      let clock = Date.now();
      await withEmulator({ rateLimit: { requestsPerSecond: 2 }, now: () => clock }, async (limited) => {
        const c = glueClient(limited, { maxAttempts: 1, retryStrategy: new ConfiguredRetryStrategy(1, 0) });
        const list = () => c.send(new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: undefined }));
        await list();
        await list();
        await expect(list()).rejects.toBeInstanceOf(ThrottlingException);
        clock += 500; // one token
        await list();
        await expect(list()).rejects.toBeInstanceOf(ThrottlingException);
      });
    });
  });

  describe('wire protocol', () => {
    it('answers raw awsJson1_1 requests without a signature, and errors carry __type and x-amzn-errortype', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      const post = (target: string, body: string) =>
        fetch(emu.url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target },
          body,
        });

      const ok = await post(`AWSGlue.${STOP}`, JSON.stringify({ DatabaseName: DB, TableName: TABLE }));
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('application/x-amz-json-1.1');
      expect(await ok.json()).toEqual({});

      const notRunning = await post(
        `AWSGlue.${STOP}`,
        JSON.stringify({ DatabaseName: DB, TableName: TABLE }),
      );
      expect(notRunning.status).toBe(400);
      expect(notRunning.headers.get('x-amzn-errortype')).toBe(
        'MaterializedViewRefreshTaskNotRunningException',
      );
      expect(await notRunning.json()).toMatchObject({
        __type: 'MaterializedViewRefreshTaskNotRunningException',
      });

      const unknown = await post('AWSGlue.GetTables', '{}');
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });

      const badJson = await post(`AWSGlue.${STOP}`, '{not json');
      expect(badJson.status).toBe(400);
      expect(badJson.headers.get('x-amzn-errortype')).toBe('SerializationException');

      expect(emu.calls.map((c) => c.operation)).toEqual([STOP, STOP, 'GetTables', STOP]);
    });

    it('is reachable through AWS_ENDPOINT_URL_GLUE with no endpoint in the client config', async () => {
      const runId = emu.seedRun({ databaseName: DB, tableName: TABLE });
      const previous = process.env.AWS_ENDPOINT_URL_GLUE;
      process.env.AWS_ENDPOINT_URL_GLUE = emu.url;
      try {
        const c = new GlueClient({
          region: 'us-east-1',
          credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        });
        await stop(c);
      } finally {
        if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_GLUE;
        else process.env.AWS_ENDPOINT_URL_GLUE = previous;
      }
      expect(emu.getRun(runId)?.status).toBe('STOPPED');
    });

    it('reset() clears runs, tables, faults and calls', async () => {
      emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ kind: 'throttle', times: 10 });
      await glue
        .send(new ListMaterializedViewRefreshTaskRunsCommand({ CatalogId: undefined }))
        .catch(() => undefined);
      expect(emu.callCount()).toBeGreaterThan(0);

      emu.reset();

      expect(emu.callCount()).toBe(0);
      expect(emu.runsOf({ databaseName: DB, tableName: TABLE })).toEqual([]);
      await expect(stop(glue)).rejects.toBeInstanceOf(EntityNotFoundException);
      expect(emu.calls.map((c) => c.fault)).toEqual([undefined]);
    });
  });
});

describe('glue emulator: delays, fault hooks and seeded faults', () => {
  const call = (operation: string, tableName: string, index = 0): FaultHookCall => ({
    operation,
    input: { DatabaseName: DB, TableName: tableName },
    index,
  });

  it('a delay fault runs the operation on arrival and answers normally, only late', async () => {
    await withEmulator({}, async (emu) => {
      const glue = glueClient(emu);
      const runId = emu.seedRun({ databaseName: DB, tableName: TABLE });
      emu.injectFault({ operation: STOP, kind: 'delay', delayMs: 300 });

      const t0 = performance.now();
      const pending = stop(glue);
      await expect.poll(() => emu.callCount(STOP), { timeout: 2_000, interval: 5 }).toBe(1);
      expect(emu.getRun(runId)?.status).toBe('STOPPED'); // before the answer
      const out = await pending;

      expect(performance.now() - t0).toBeGreaterThanOrEqual(280);
      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(emu.calls[0]).toMatchObject({ status: 200, fault: 'delay', runId });
    });
  });

  it('a delay fault needs delayMs', async () => {
    await withEmulator({}, async (emu) => {
      expect(() => emu.injectFault({ kind: 'delay' })).toThrow(/delayMs/);
      expect(() => emu.injectFault({ kind: 'delay', delayMs: -1 })).toThrow(/delayMs/);
    });
  });

  it('calls name the run a Start created or a Stop was accepted for, lost answers included', async () => {
    await withEmulator({}, async (emu) => {
      const glue = glueClient(emu);
      const started = await glue.send(
        new StartMaterializedViewRefreshTaskRunCommand({
          CatalogId: undefined,
          DatabaseName: DB,
          TableName: TABLE,
        }),
      );
      emu.injectFault({ operation: STOP, kind: 'connection-reset', afterOperation: true });
      await expect(stop(glue)).rejects.toBeInstanceOf(MaterializedViewRefreshTaskNotRunningException);

      expect(emu.calls.map((c) => [c.operation, c.fault ?? c.errorCode ?? c.status, c.runId])).toEqual([
        ['StartMaterializedViewRefreshTaskRun', 200, started.MaterializedViewRefreshTaskRunId],
        [STOP, 'connection-reset', started.MaterializedViewRefreshTaskRunId],
        [STOP, 'MaterializedViewRefreshTaskNotRunningException', undefined],
      ]);
    });
  });

  it('a fault hook is asked for every call no injected fault matched, with the call index', async () => {
    const seen: FaultHookCall[] = [];
    await withEmulator(
      {
        faultHook: (c) => {
          seen.push(c);
          return c.input.TableName === 'throttled_mv' ? { kind: 'throttle' } : undefined;
        },
      },
      async (emu) => {
        const glue = glueClient(emu, { maxAttempts: 1, retryStrategy: new ConfiguredRetryStrategy(1, 0) });
        emu.seedRun({ databaseName: DB, tableName: TABLE });
        emu.seedRun({ databaseName: DB, tableName: 'throttled_mv' });
        emu.injectFault({ operation: STOP, kind: 'operation-timeout' });

        await expect(stop(glue)).rejects.toBeInstanceOf(OperationTimeoutException); // injected: hook not asked
        await expect(stop(glue, 'throttled_mv')).rejects.toBeInstanceOf(ThrottlingException);
        await stop(glue);

        expect(seen.map((c) => [c.index, c.input.TableName])).toEqual([
          [1, 'throttled_mv'],
          [2, TABLE],
        ]);
        expect(emu.calls.map((c) => c.fault ?? c.status)).toEqual(['operation-timeout', 'throttle', 200]);

        emu.setFaultHook(undefined);
        await stop(glue, 'throttled_mv');
        emu.setFaultHook(() => ({ kind: 'internal-error' }));
        emu.reset(); // back to the hook from the options
        emu.seedRun({ databaseName: DB, tableName: 'throttled_mv' });
        await expect(stop(glue, 'throttled_mv')).rejects.toBeInstanceOf(ThrottlingException);
      },
    );
  });

  it('seededUnit is a pure function of its arguments, spread over [0, 1)', () => {
    expect(seededUnit(1, 'a', 0)).toBe(seededUnit(1, 'a', 0));
    expect(seededUnit(1, 'a', 0)).not.toBe(seededUnit(2, 'a', 0));
    expect(seededUnit(1, 'a', 0)).not.toBe(seededUnit(1, 'a', 1));
    const draws = Array.from({ length: 10_000 }, (_, i) => seededUnit(42, 'k', i));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });

  it('seededFaults picks faults at their rates, reproducibly, per key whatever the interleaving', () => {
    const options = {
      seed: 7,
      faults: [
        { kind: 'throttle', rate: 0.3 },
        { kind: 'delay', rate: 0.1, delayMs: 50 },
      ],
      key: (c: FaultHookCall) => `${c.operation}:${String(c.input.TableName)}`,
    } as const;
    const a = seededFaults(options);
    const b = seededFaults(options);
    const kinds = (hook: typeof a, order: readonly string[]) =>
      order.map((table) => `${table}:${hook(call(STOP, table))?.kind ?? '-'}`);
    // The same calls per table in another interleaving get the same decisions.
    const first = kinds(a, ['x', 'y', 'x', 'y', 'x', 'y']);
    const second = kinds(b, ['y', 'y', 'y', 'x', 'x', 'x']);
    expect([...first].sort()).toEqual([...second].sort());

    const hook = seededFaults({ seed: options.seed, faults: options.faults });
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const kind = hook(call(STOP, TABLE, i))?.kind ?? 'none';
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    expect((counts.get('throttle') ?? 0) / 20_000).toBeCloseTo(0.3, 1);
    expect((counts.get('delay') ?? 0) / 20_000).toBeCloseTo(0.1, 1);
  });

  it('seededFaults refuses rates outside 0..1, a sum above 1 and a delay without delayMs', () => {
    expect(() => seededFaults({ seed: 1, faults: [{ kind: 'throttle', rate: 1.5 }] })).toThrow(/0\.\.1/);
    expect(() =>
      seededFaults({
        seed: 1,
        faults: [
          { kind: 'throttle', rate: 0.6 },
          { kind: 'hang', rate: 0.6 },
        ],
      }),
    ).toThrow(/more than 1/);
    expect(() => seededFaults({ seed: 1, faults: [{ kind: 'delay', rate: 0.1 }] })).toThrow(/delayMs/);
  });

  it('seededFaults only draws for the operations named', () => {
    const hook = seededFaults({ seed: 3, faults: [{ kind: 'throttle', rate: 1 }], operations: [STOP] });
    expect(hook(call('ListMaterializedViewRefreshTaskRuns', TABLE))).toBeUndefined();
    expect(hook(call(STOP, TABLE))).toEqual({ kind: 'throttle' });
  });
});
