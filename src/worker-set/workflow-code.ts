/**
 * The orchestration worker's workflow code. The workflows are found by path, never imported: workflow code runs
 * in Temporal's sandbox from a bundle, and nothing in src/ depends on it at runtime.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { WorkflowBundleOption, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Config } from '../config';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** Bundles the workflow code once per process; every orchestration worker reuses it. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: workflowsEntry(), logger: quietBundlerLogger });
  return bundle;
}

/**
 * The bundle built beforehand when WORKFLOW_BUNDLE_PATH names one (no webpack in the worker process: faster
 * start, ~100 MB less RSS), else bundled here once per process.
 */
export async function workflowCodeFor(config: Config): Promise<WorkflowBundleOption> {
  const file = config.orchestration.bundlePath;
  if (file === undefined) return workflowBundle();
  if (!fs.existsSync(file)) {
    throw new Error(
      `WORKFLOW_BUNDLE_PATH=${file} does not exist: write it with \`fraudflow bundle-workflows ${file}\``,
    );
  }
  return { codePath: path.resolve(file) };
}

/** Writes the workflow bundle to `file` (for WORKFLOW_BUNDLE_PATH); returns its size in bytes. */
export async function writeWorkflowBundle(file: string): Promise<number> {
  const { code } = await workflowBundle();
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, code);
  return Buffer.byteLength(code);
}

/** `workflows/index.ts` from source (tsx, vitest) or `index.js` from the compiled `dist/`. */
function workflowsEntry(): string {
  const dir = path.join(__dirname, '..', '..', 'workflows');
  const entry = ['index.ts', 'index.js'].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
  if (!entry) throw new Error(`no workflow entry point in ${dir}`);
  return entry;
}

/** The workflow bundler's logger: warnings and errors only. */
export const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
