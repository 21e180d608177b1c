import { classifyGlueFailure } from './classify.ts';
import { GlueCallError, PermanentStopError, TransientStopError } from './errors.ts';
import type { RecordedStop } from './outcome.ts';
import type { RefreshStopper, StopCommand } from './ports.ts';

/**
 * Calls Glue once for the command and turns its answer into a recorded result. "Already stopping" and
 * "not running" are results, not errors; everything else becomes a permanent or transient error.
 * This is the function the idempotency layer wraps: it returns plain JSON and never mutates its input.
 */
export const stopOnce = async (
  command: StopCommand,
  stopper: RefreshStopper,
  now: () => Date = () => new Date(),
): Promise<RecordedStop> => {
  try {
    await stopper.stopRefresh(command.target);
    return { result: 'stop-requested', decidedAt: now().toISOString() };
  } catch (error) {
    if (!(error instanceof GlueCallError)) {
      throw new TransientStopError('unexpected-error', `Glue call failed unexpectedly: ${String(error)}`, {
        cause: error,
      });
    }
    const verdict = classifyGlueFailure(error.failure);
    switch (verdict.kind) {
      case 'terminal':
        return { result: verdict.outcome, decidedAt: now().toISOString() };
      case 'permanent':
        throw new PermanentStopError(verdict.reason, error.message, { cause: error });
      case 'transient':
        throw new TransientStopError(verdict.reason, error.message, { cause: error });
    }
  }
};
