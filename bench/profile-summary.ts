/**
 * Summarizes V8 CPU profiles (`node --cpu-prof`): top self-time functions and self time by package, per profile
 * (the main thread and each worker thread write their own file).
 *
 *   node --cpu-prof --cpu-prof-dir bench/results/profile --import tsx bench/main.ts --only streaming-instant
 *   npx tsx bench/profile-summary.ts bench/results/profile [--top 25] [--bundle workflow-bundle.js]
 *
 * Frames in the workflow bundle are attributed to the webpack module they come from when `--bundle` names a copy
 * of the same bundle (`fraudflow bundle-workflows <file>` writes one; the content hash in the
 * profile's `workflow-bundle-<hash>.js` tells whether it is the same).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const CpuProfile = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});
type CpuProfile = z.infer<typeof CpuProfile>;

/** This checkout, wherever it is: frames under it are fraudflow's own. */
const repoRoot = path.resolve(__dirname, '..');
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Line (0-based) where each webpack module of a development-mode bundle starts, in order. */
type BundleMap = Array<{ line: number; module: string }>;
const webpackRuntime = '(webpack runtime)';

function readBundleMap(file: string): BundleMap {
  const map: BundleMap = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      const m = /^\/\*{3}\/ "(.+)"/.exec(text);
      if (m?.[1]) map.push({ line, module: m[1] });
      // After the modules, `/******/` lines are webpack's own runtime (__webpack_require__ and friends).
      else if (map.length > 0 && text.startsWith('/******/') && map.at(-1)?.module !== webpackRuntime) {
        map.push({ line, module: webpackRuntime });
      }
    });
  return map;
}

function bundleModule(map: BundleMap, line: number): string | undefined {
  let found: string | undefined;
  for (const entry of map) {
    if (entry.line > line) break;
    found = entry.module;
  }
  return found;
}

/** Which package (or project folder, or V8 pseudo-frame) a frame belongs to. */
function owner(url: string, functionName: string, lineNumber: number, bundle?: BundleMap): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (bundle && /workflow-bundle-[0-9a-f]+\.js$/.test(url)) {
    const module = bundleModule(bundle, lineNumber);
    if (module === webpackRuntime) return `bundle: ${webpackRuntime}`;
    if (module) return `bundle: ${owner(module.replace(/^\.\//, `${repoRoot}/`), functionName, 0)}`;
  }
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  const project = new RegExp(`${escapeRegExp(repoRoot)}/([^/]+)/`).exec(url);
  if (project?.[1]) return `fraudflow ${project[1]}/`;
  return url.replace(/^file:\/\//, '').slice(-60);
}

function shortUrl(url: string): string {
  const i = url.lastIndexOf('node_modules/');
  if (i >= 0) return url.slice(i + 'node_modules/'.length);
  return url.replace(/^file:\/\//, '').replace(`${repoRoot}/`, '');
}

function summarize(file: string, profile: CpuProfile, top: number, bundle?: BundleMap): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i + 1] is the time from sample i to the next: attribute it to sample i's frame.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = profile.timeDeltas[i + 1] ?? 0;
    if (id !== undefined) selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const fns = new Map<string, number>();
  const owners = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const key = `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const o = owner(frame.url, frame.functionName, frame.lineNumber, bundle);
    owners.set(o, (owners.get(o) ?? 0) + us);
  }
  const busy = total - idle;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const share = (us: number) => `${((us / Math.max(1, busy)) * 100).toFixed(1).padStart(5)}%`;
  console.log(`\n${path.basename(file)}: ${(total / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s busy`);
  console.log('  self time by package (share of busy time):');
  for (const [o, us] of [...owners].sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    console.log(`    ${ms(us)} ${share(us)}  ${o}`);
  }
  console.log(`  top ${top} functions by self time:`);
  for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`    ${ms(us)} ${share(us)}  ${k}`);
  }
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, bundle: { type: 'string' } },
  });
  const files = positionals.flatMap((p) =>
    fs.statSync(p).isDirectory()
      ? fs
          .readdirSync(p)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => path.join(p, f))
      : [p],
  );
  if (files.length === 0) {
    console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile | dir>... [--top N]');
    process.exitCode = 2;
    return;
  }
  const bundle = values.bundle ? readBundleMap(values.bundle) : undefined;
  for (const file of files) {
    const parsed = CpuProfile.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    if (!parsed.success) {
      console.error(`${file}: not a V8 CPU profile:\n${z.prettifyError(parsed.error)}`);
      continue;
    }
    summarize(file, parsed.data, Number(values.top), bundle);
  }
}

main();
