/**
 * `npm run package`: builds the bundles, then packages the stack with osls into `.serverless/`, offline and
 * without AWS credentials. The stage and region default to `--stage ci --region us-east-1`; any osls
 * option given after `--` is passed on and wins over them:
 *
 *   npm run package                                   # the ci stage, us-east-1
 *   npm run package -- --stage prod                   # config/prod.json (or config/default.json)
 *   npm run package -- --stage prod --region eu-west-1 --package /tmp/prod
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const osls = path.join(root, 'node_modules', 'osls', 'bin', 'serverless.js');

/** osls's spellings of an option: `--stage prod`, `--stage=prod`, `-s prod`. */
const gives = (args: readonly string[], long: string, short: string): boolean =>
  args.some((arg) => arg === long || arg === short || arg.startsWith(`${long}=`));

/** The osls arguments: the caller's, with the default stage and region where they give none. */
export const packageArguments = (args: readonly string[]): string[] => [
  'package',
  ...(gives(args, '--stage', '-s') ? [] : ['--stage', 'ci']),
  ...(gives(args, '--region', '-r') ? [] : ['--region', 'us-east-1']),
  ...args,
];

/** Runs `node <args>` (this Node, so Node 24 whatever is on the PATH) in the project; its exit status. */
const runNode = (args: readonly string[]): number => {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
};

if (import.meta.main) {
  const status =
    runNode([path.join(root, 'scripts', 'build.ts')]) ||
    runNode([osls, ...packageArguments(process.argv.slice(2))]);
  process.exitCode = status;
}
