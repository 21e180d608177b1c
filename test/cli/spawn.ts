/** Runs a command to its end, collecting what it prints: for the tests that spawn the real bin. */
import { spawn } from 'node:child_process';
import { projectRoot } from '../../scripts/build.ts';

interface Spawned {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

export const spawnAndWait = (command: string, args: readonly string[], cwd = projectRoot): Promise<Spawned> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
