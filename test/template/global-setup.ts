/**
 * Vitest global setup: a folder for this test run's packaged stacks, shared by the test files of
 * test/template (`packagedStacks()` in stack.ts packages into it once, when a file first asks), and
 * removed at the end of the run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    templatePackageDir: string;
  }
}

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'glue-mv-stop-template-'));
  project.provide('templatePackageDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
