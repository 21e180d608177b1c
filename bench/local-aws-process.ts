/**
 * Local AWS stand-ins in a process of their own, for benchmarks: dynalite, fauxqs and the Glue emulator
 * then use another core and event loop than the code being measured, as real services would.
 * Speaks over the IPC channel of `fork`: it sends `{ ready, env, config }`, then answers
 * `{ id, seed: SeedRunInput[] }` and `{ id, count: operation? }` with `{ id, result }`.
 */
import type { SeedRunInput } from '../test/emulator/glue-emulator.ts';
import { startLocalAws } from '../test/support/local-aws.ts';

type Request =
  | { id: number; seed: SeedRunInput[] }
  | { id: number; count: string | null }
  | { id: number; close: true };

const latencyMs = Number(process.env.BENCH_GLUE_LATENCY_MS ?? '0');
const local = await startLocalAws({ exportEnv: false, glue: { latencyMs } });
const send = (message: unknown) => process.send?.(message);

process.on('message', async (request: Request) => {
  if ('seed' in request) {
    for (const run of request.seed) local.glue.seedRun(run);
    send({ id: request.id, result: request.seed.length });
  } else if ('count' in request) {
    send({ id: request.id, result: local.glue.callCount(request.count ?? undefined) });
  } else {
    await local.close();
    send({ id: request.id, result: 'closed' });
    process.disconnect();
  }
});
send({ ready: true, env: local.env, config: local.config });
