/**
 * The bin: runs the command line of this process and sets its exit code. Ctrl-C asks a running command to
 * stop between batches and hand back the dead-letter messages it holds; a second Ctrl-C ends it at once.
 */
import { processIo } from './io.ts';
import { run } from './run.ts';

const interrupt = new AbortController();
process.once('SIGINT', () => {
  interrupt.abort();
  process.once('SIGINT', () => process.exit(130));
});

void run(process.argv.slice(2), processIo(interrupt.signal)).then((code) => {
  process.exitCode = interrupt.signal.aborted ? 130 : code;
});
