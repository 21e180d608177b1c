#!/usr/bin/env node
/**
 * `glue-mv-stop` in a checkout of this repository (`npx glue-mv-stop …`, the root package's bin): runs the
 * CLI from its TypeScript source. Node strips the types itself from 22.18 on; on an older `node` (the
 * system's, say) the launcher runs the source with the Node 24 that `npm ci` installs
 * (`node_modules/.bin/node`). The published package (packages/cli) ships a bundled build instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'src', 'cli', 'main.ts');

if (process.features.typescript) {
  await import(pathToFileURL(main).href);
} else {
  const node = path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? 'node.cmd' : 'node');
  if (!existsSync(node)) {
    process.stderr.write(
      `error: glue-mv-stop runs its TypeScript source on Node.js 22.18 or later; this is ${process.version} and ` +
        'node_modules/.bin/node is missing (run npm ci)\n',
    );
    process.exit(2);
  }
  const child = spawnSync(node, [main, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (child.error) {
    process.stderr.write(`error: cannot start ${node}: ${child.error.message}\n`);
    process.exit(2);
  }
  process.exit(child.status ?? (child.signal === 'SIGINT' ? 130 : 1));
}
