/**
 * `node bench/profile-summary.ts <dir> [top]`: sums the V8 CPU profiles (`*.cpuprofile`) in a directory, as
 * written with BENCH_CPU_PROFILE_DIR, and prints where the time went:
 *  - self time by module: the source module of a bundle line (`// node_modules/…` or `// src/…` markers of an
 *    unminified bundle: build with BUILD_MINIFY=0), else the file;
 *  - time by the nearest function of the project's own code on the stack (`src/`, `handlers/`): what each
 *    step of ours costs, library work beneath it included.
 *
 * A bundle is read from the profile's path, or from `dist/<function>/index.cjs` when that path is gone (the
 * bench builds into a scratch copy it removes). Idle time is left out of every percentage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [dir, topArg] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/profile-summary.ts <dir> [top]');
  process.exit(2);
}
const top = Number(topArg ?? '30');

/** For each bundle: the first line of each module, ascending, with the module's path. */
const moduleStarts = new Map<string, { line: number; module: string }[]>();
const modulesOf = (url: string): { line: number; module: string }[] => {
  const known = moduleStarts.get(url);
  if (known) return known;
  let starts: { line: number; module: string }[] = [];
  if (url.startsWith('file://')) {
    const file = fileURLToPath(url);
    const local = path.join('dist', path.basename(path.dirname(file)), path.basename(file));
    const source = existsSync(file) ? file : existsSync(local) ? local : undefined;
    if (source?.endsWith('.cjs')) {
      starts = readFileSync(source, 'utf8')
        .split('\n')
        .flatMap((text, index) => {
          const marker = /^\/\/ ((?:node_modules|src|handlers)\/\S+)$/.exec(text);
          return marker?.[1] ? [{ line: index, module: marker[1] }] : [];
        });
    }
  }
  moduleStarts.set(url, starts);
  return starts;
};

const moduleOf = (frame: CallFrame): string => {
  if (frame.url === '') return `(${frame.functionName || 'native'})`;
  const starts = modulesOf(frame.url);
  let found: string | undefined;
  for (const start of starts) {
    if (start.line > frame.lineNumber) break;
    found = start.module;
  }
  return found ?? path.basename(frame.url);
};

const packageOf = (module: string): string => {
  const match = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(module);
  return match?.[1] ?? module;
};
const isOwn = (module: string) => module.startsWith('src/') || module.startsWith('handlers/');

const byPackage = new Map<string, number>();
const byOwnFunction = new Map<string, number>();
let busy = 0;
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);

for (const file of (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Profile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const ownOf = new Map<number, string>();
  const nearestOwn = (id: number): string => {
    const known = ownOf.get(id);
    if (known !== undefined) return known;
    const frame = nodes.get(id)?.callFrame;
    let answer = '(no function of ours on the stack)';
    if (frame) {
      const module = moduleOf(frame);
      const parent = parents.get(id);
      if (isOwn(module)) answer = `${frame.functionName || '(anonymous)'} ${module}`;
      else if (parent !== undefined) answer = nearestOwn(parent);
    }
    ownOf.set(id, answer);
    return answer;
  };
  profile.samples.forEach((id, index) => {
    const us = profile.timeDeltas[index] ?? 0;
    const frame = nodes.get(id)?.callFrame;
    if (!frame || frame.functionName === '(idle)') return;
    busy += us;
    add(byPackage, packageOf(moduleOf(frame)), us);
    add(byOwnFunction, nearestOwn(id), us);
  });
}

const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / busy).toFixed(1).padStart(5)} %  ${key}`,
    );
  }
};
console.log(`busy (not idle) samples: ${(busy / 1000).toFixed(0)} ms`);
print('self time by package or module', byPackage);
print('time by the nearest function of ours on the stack', byOwnFunction);
