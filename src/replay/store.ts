/**
 * The replay store: a folder per replay id under REPLAY_DIR with the prepared chunks, the invalid rows and each
 * chunk's decisions. Every write is whole-file and atomic (write, then rename), so a retried activity rewrites
 * the same content. Put REPLAY_DIR on shared storage when replay workers run on several machines.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { PreparedReplay, ReplayChunk, ReplayResultRow } from './contracts';

export class ReplayStore {
  constructor(readonly root: string) {}

  dir(replayId: string): string {
    if (!/^[A-Za-z0-9._-]{1,100}$/.test(replayId)) throw new Error(`invalid replay id '${replayId}'`);
    return path.join(this.root, replayId);
  }

  private write(file: string, content: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, content);
    fs.renameSync(tmp, file);
  }

  manifestFile = (id: string) => path.join(this.dir(id), 'manifest.json');
  chunkFile = (id: string, n: number) => path.join(this.dir(id), 'chunks', `${n}.json`);
  resultFile = (id: string, n: number) => path.join(this.dir(id), 'results', `${n}.jsonl`);
  invalidFile = (id: string) => path.join(this.dir(id), 'invalid.jsonl');

  readManifest(id: string): (PreparedReplay & { source: string }) | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.manifestFile(id), 'utf8')) as PreparedReplay & { source: string };
    } catch {
      return undefined;
    }
  }

  writeManifest(id: string, manifest: PreparedReplay & { source: string }): void {
    this.write(this.manifestFile(id), JSON.stringify(manifest, null, 2));
  }

  writeChunk(id: string, n: number, chunk: ReplayChunk): void {
    this.write(this.chunkFile(id, n), JSON.stringify(chunk));
  }

  readChunk(id: string, n: number): ReplayChunk {
    return JSON.parse(fs.readFileSync(this.chunkFile(id, n), 'utf8')) as ReplayChunk;
  }

  writeInvalid(id: string, rows: Array<{ line: number; error: string }>): void {
    this.write(this.invalidFile(id), rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  }

  readInvalid(id: string): Array<{ line: number; error: string }> {
    if (!fs.existsSync(this.invalidFile(id))) return [];
    return fs
      .readFileSync(this.invalidFile(id), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as { line: number; error: string });
  }

  writeResults(id: string, n: number, rows: ReplayResultRow[]): void {
    this.write(this.resultFile(id, n), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }

  /** Every stored decision of a replay, in chunk order. */
  readResults(id: string): ReplayResultRow[] {
    const dir = path.join(this.dir(id), 'results');
    if (!fs.existsSync(dir)) return [];
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort((a, b) => parseInt(a) - parseInt(b))
      .flatMap((f) =>
        fs
          .readFileSync(path.join(dir, f), 'utf8')
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => JSON.parse(l) as ReplayResultRow),
      );
  }
}
