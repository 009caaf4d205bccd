/**
 * The direction of dependencies, read from every source file's imports. The core (src/ apart from the application
 * folders) imports no application code; nothing in src/ reaches workers/ or workflows/ at runtime; workflows and
 * activities depend on the core only; stand-ins in src/testing serve tests and benchmarks, never production.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
/** src/ folders that make up the application: the CLI and main job, the stack manager, the worker set. */
const application = ['src/cli', 'src/stack', 'src/worker-set'];
const standIns = 'src/testing';

interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  const full = path.join(root, dir);
  if (!fs.existsSync(full)) return [];
  return fs
    .readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')));
}

/** Relative imports and re-exports of a file, resolved to repository paths. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const statement = /^(import|export)\s+(type\s+)?(?:[^;'"]*?\sfrom\s+)?'(\.[^']+)'/gm;
  for (const m of text.matchAll(statement)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), m[3] ?? ''));
    edges.push({ from: file, to: target, typeOnly: m[2] !== undefined });
  }
  return edges;
}

const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
const isApplication = (p: string) => application.some((dir) => within(p, dir));

const edges = ['src', 'workflows', 'activities', 'workers', 'bench']
  .flatMap(sourceFiles)
  .flatMap((file) => importsOf(file, fs.readFileSync(path.join(root, file), 'utf8')));

describe('the direction of dependencies', () => {
  it('reads imports, type-only ones apart', () => {
    const sample = "import type { A } from '../a';\nimport {\n  B,\n} from './b';\nexport { C } from '../../c';";
    expect(importsOf('src/x/y.ts', sample)).toEqual([
      { from: 'src/x/y.ts', to: 'src/a', typeOnly: true },
      { from: 'src/x/y.ts', to: 'src/x/b', typeOnly: false },
      { from: 'src/x/y.ts', to: 'c', typeOnly: false },
    ]);
    expect(edges.length).toBeGreaterThan(200);
  });

  it('src/ reaches workers/, workflows/, activities/ internals, test/ and bench/ by type only, if at all', () => {
    const offending = edges.filter(
      (e) =>
        within(e.from, 'src') &&
        !e.typeOnly &&
        ['workers', 'workflows', 'test', 'bench'].some((dir) => within(e.to, dir)),
    );
    expect(offending).toEqual([]);
  });

  it('the core imports nothing from the application', () => {
    const offending = edges.filter(
      (e) => within(e.from, 'src') && !isApplication(e.from) && !within(e.from, standIns) && isApplication(e.to),
    );
    expect(offending).toEqual([]);
  });

  it('the core needs no activity code at runtime (only the worker set registers activities)', () => {
    const offending = edges.filter(
      (e) => within(e.from, 'src') && !isApplication(e.from) && !e.typeOnly && within(e.to, 'activities'),
    );
    expect(offending).toEqual([]);
  });

  it('workflows and activities depend on the core only', () => {
    const offending = edges.filter(
      (e) =>
        (within(e.from, 'workflows') || within(e.from, 'activities')) &&
        (isApplication(e.to) || within(e.to, standIns) || ['workers', 'test', 'bench'].some((d) => within(e.to, d))),
    );
    expect(offending).toEqual([]);
  });

  it('stand-ins serve tests and benchmarks only, and benchmarks import nothing from test/', () => {
    const production = edges.filter(
      (e) => !within(e.from, 'bench') && !within(e.from, standIns) && within(e.to, standIns),
    );
    const benchFromTests = edges.filter((e) => within(e.from, 'bench') && within(e.to, 'test'));
    expect(production).toEqual([]);
    expect(benchFromTests).toEqual([]);
  });
});
