/**
 * Local AWS stand-ins in a process of their own, for benchmarks: dynalite, fauxqs and the emulators then
 * use another core and event loop than the code being measured, as real services would.
 * Configured by environment (BENCH_GLUE_LATENCY_MS, BENCH_GLUE_RATE: per-operation limit, BENCH_POLICY:
 * the functions' policy as JSON). Speaks over the IPC channel of `fork`: sends `{ ready, env, config }`,
 * then answers `{ id, seed }`, `{ id, count }`, `{ id, glueStats }` and `{ id, close }` with `{ id, result }`.
 */
import type { SeedRunInput } from '../local/glue-emulator.ts';
import { startLocalAws } from '../local/local-aws.ts';

type Request =
  | { id: number; seed: (Omit<SeedRunInput, 'startTime'> & { startTime?: string })[] }
  | { id: number; count: string | null }
  | { id: number; glueStats: true }
  | { id: number; close: true };

const latencyMs = Number(process.env.BENCH_GLUE_LATENCY_MS ?? '0');
const rate = Number(process.env.BENCH_GLUE_RATE ?? '0');
const local = await startLocalAws({
  exportEnv: false,
  glue: {
    latencyMs,
    ...(rate > 0 ? { rateLimit: { requestsPerSecond: rate, scope: 'operation' as const } } : {}),
  },
  ...(process.env.BENCH_POLICY ? { policy: JSON.parse(process.env.BENCH_POLICY) } : {}),
});
const send = (message: unknown) => process.send?.(message);

process.on('message', async (request: Request) => {
  if ('seed' in request) {
    for (const { startTime, ...run } of request.seed) {
      local.glue.seedRun({ ...run, ...(startTime ? { startTime: new Date(startTime) } : {}) });
    }
    send({ id: request.id, result: request.seed.length });
  } else if ('count' in request) {
    send({ id: request.id, result: local.glue.callCount(request.count ?? undefined) });
  } else if ('glueStats' in request) {
    const stops = local.glue.calls.filter((c) => c.operation === 'StopMaterializedViewRefreshTaskRun');
    send({
      id: request.id,
      result: {
        stopCalls: stops.filter((c) => c.status === 200).length,
        lastStopAt: Math.max(0, ...stops.filter((c) => c.status === 200).map((c) => c.at)),
        throttled: local.glue.calls.filter((c) => c.errorCode === 'ThrottlingException').length,
        calls: local.glue.calls.length,
      },
    });
  } else {
    await local.close();
    send({ id: request.id, result: 'closed' });
    process.disconnect();
  }
});
send({ ready: true, env: local.env, config: local.config });
