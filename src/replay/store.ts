/**
 * The replay store: a folder per replay id under REPLAY_DIR with the prepared chunks, the invalid rows and each
 * chunk's decisions. Every write is whole-file and atomic (write, then rename), so a retried activity rewrites
 * the same content. Put REPLAY_DIR on shared storage when replay workers run on several machines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { Decision } from '../schemas/decision';
import { readJson } from '../schemas/json';
import { CardFeatures } from '../schemas/card-features';
import { TransactionEvent } from '../schemas/transaction-event';
import type { PreparedReplay, ReplayChunk, ReplayResultRow } from './contracts';

// The store's files cross process boundaries (activities write them, the CLI and other workers read them):
// every read is parsed against these schemas, so a truncated or foreign file fails with its name and the problem.
const Label = z.object({ isFraud: z.boolean(), pattern: z.string().optional() });
const Manifest = z.object({
  uri: z.string(),
  rowsTotal: z.number(),
  chunksTotal: z.number(),
  invalidRows: z.number(),
  source: z.string(),
});
const Chunk = z.object({
  uri: z.string(),
  rows: z.array(
    z.object({ line: z.number(), event: TransactionEvent, features: CardFeatures, label: Label.optional() }),
  ),
});
const InvalidRow = z.object({ line: z.number(), error: z.string() });
const ResultRow = z.object({ line: z.number(), decision: Decision, label: Label.optional() });

/** `text` parsed as JSON and against `schema`; an Error naming `file` otherwise. */
function parseStored<T>(schema: z.ZodType<T>, text: string, file: string): T {
  const parsed = schema.safeParse(readJson(text, file));
  if (!parsed.success) throw new Error(`${file} is not valid:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Every non-empty line of a JSONL file, parsed against `schema`. */
function parseStoredLines<T>(schema: z.ZodType<T>, file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l, i) => parseStored(schema, l, `${file} line ${i + 1}`));
}

/**
 * What a replay's report is computed with, captured when the replay starts: `report <id>` rebuilt later reads these,
 * not today's configuration.
 */
export const ReplayReportSettings = z.object({
  policyHash: z.string(),
  /** The decision policy's thresholds the replay decided with. */
  thresholds: z.object({ approveBelow: z.number(), declineAt: z.number() }),
  /** The first hosted provider's prices, at which the hosted-only counterfactual is priced. */
  hostedPricing: z.object({ inputUsdPerMTok: z.number(), outputUsdPerMTok: z.number() }),
  recordedAt: z.iso.datetime(),
});
export type ReplayReportSettings = z.infer<typeof ReplayReportSettings>;

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
  reportSettingsFile = (id: string) => path.join(this.dir(id), 'report-settings.json');

  readManifest(id: string): (PreparedReplay & { source: string }) | undefined {
    const file = this.manifestFile(id);
    if (!fs.existsSync(file)) return undefined;
    return parseStored(Manifest, fs.readFileSync(file, 'utf8'), file);
  }

  writeManifest(id: string, manifest: PreparedReplay & { source: string }): void {
    this.write(this.manifestFile(id), JSON.stringify(manifest, null, 2));
  }

  writeReportSettings(id: string, settings: ReplayReportSettings): void {
    this.write(this.reportSettingsFile(id), JSON.stringify(settings, null, 2));
  }

  /** The settings stored when the replay started; `undefined` for a replay that predates them. */
  readReportSettings(id: string): ReplayReportSettings | undefined {
    const file = this.reportSettingsFile(id);
    if (!fs.existsSync(file)) return undefined;
    return parseStored(ReplayReportSettings, fs.readFileSync(file, 'utf8'), file);
  }

  writeChunk(id: string, n: number, chunk: ReplayChunk): void {
    this.write(this.chunkFile(id, n), JSON.stringify(chunk));
  }

  readChunk(id: string, n: number): ReplayChunk {
    const file = this.chunkFile(id, n);
    return parseStored(Chunk, fs.readFileSync(file, 'utf8'), file);
  }

  writeInvalid(id: string, rows: Array<{ line: number; error: string }>): void {
    this.write(this.invalidFile(id), rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : ''));
  }

  readInvalid(id: string): Array<{ line: number; error: string }> {
    if (!fs.existsSync(this.invalidFile(id))) return [];
    return parseStoredLines(InvalidRow, this.invalidFile(id));
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
      .flatMap((f) => parseStoredLines(ResultRow, path.join(dir, f)));
  }
}
