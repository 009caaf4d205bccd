/**
 * The fine-tuning toolchain: llama.cpp's `llama-finetune` (full fine-tuning on the CPU through ggml-opt) and
 * `llama-quantize`, built once from the llama.cpp source that the llama-cpp-python sdist on PyPI carries, into the
 * cache. LLAMA_CPP_BIN_DIR points at existing binaries instead.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StackLayout } from './layout';
import { versions } from './layout';
import type { TrainerTools } from '../models/fine-tune';
import { StackError } from '../errors';
import { runToLog } from '../tools';
import { requireTool } from './processes';

const targets = ['llama-finetune', 'llama-quantize'] as const;

type Binaries = Omit<TrainerTools, 'python'>;

function toolsIn(binDir: string): Binaries {
  return { finetune: path.join(binDir, 'llama-finetune'), quantize: path.join(binDir, 'llama-quantize') };
}

const present = (t: Binaries) => fs.existsSync(t.finetune) && fs.existsSync(t.quantize);

/** The tools, built (and gguf-py installed) first if they are not in the cache yet (a few minutes, once). */
export async function ensureTrainerTools(
  layout: StackLayout,
  binDir: string | undefined,
  log: (line: string) => void,
): Promise<TrainerTools> {
  const python = await ensureGgufPython(layout);
  return { ...(await ensureBinaries(layout, binDir, log)), python };
}

/** `<llama.cpp home>/venv` with the pinned gguf-py, made once. */
async function ensureGgufPython(layout: StackLayout): Promise<string> {
  const venv = path.join(layout.llamaCppHome, `venv-gguf-${versions.ggufPy}`);
  const python = path.join(venv, 'bin', 'python');
  if (fs.existsSync(path.join(venv, '.complete'))) return python;
  requireTool('python3', ['--version'], 'Install Python 3 with pip and put `python3` on PATH.');
  const logFile = path.join(layout.buildLogs, `gguf-py-${versions.ggufPy}.log`);
  const what = `installing gguf==${versions.ggufPy} from PyPI into ${venv}`;
  await runToLog('python3', ['-m', 'venv', venv], { logFile, what });
  await runToLog(python, ['-m', 'pip', 'install', '--quiet', `gguf==${versions.ggufPy}`], { logFile, what });
  fs.writeFileSync(path.join(venv, '.complete'), '');
  return python;
}

async function ensureBinaries(
  layout: StackLayout,
  binDir: string | undefined,
  log: (line: string) => void,
): Promise<Binaries> {
  if (binDir) {
    const given = toolsIn(binDir);
    if (!present(given)) throw new StackError(`LLAMA_CPP_BIN_DIR=${binDir} has no llama-finetune and llama-quantize`);
    return given;
  }
  const tools = toolsIn(path.join(layout.llamaCppHome, 'build', 'bin'));
  if (present(tools)) return tools;
  requireTool('python3', ['--version'], 'Install Python 3 with pip and put `python3` on PATH.');
  requireTool('cmake', ['--version'], 'Install CMake (Debian: apt-get install cmake).');
  requireTool('g++', ['--version'], 'Install gcc and g++ (Debian: apt-get install build-essential).');
  const logFile = path.join(layout.buildLogs, `build-llama.cpp-${versions.llamaCppPython}.log`);
  log(`building llama.cpp's fine-tuning tools once (a few minutes; log: ${logFile})`);
  const source = path.join(layout.llamaCppHome, 'src');
  if (!fs.existsSync(path.join(source, 'CMakeLists.txt'))) await fetchSource(source, logFile);
  const build = path.join(layout.llamaCppHome, 'build');
  const what = `building llama.cpp ${targets.join(', ')}`;
  await runToLog(
    'cmake',
    ['-S', source, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', '-DGGML_NATIVE=ON'],
    { logFile, what },
  );
  const jobs = String(Math.max(1, os.availableParallelism()));
  await runToLog('cmake', ['--build', build, '-j', jobs, '--target', ...targets], { logFile, what });
  if (!present(tools)) throw new StackError(`${what} left no binaries in ${path.dirname(tools.finetune)}`);
  return tools;
}

/** Downloads the sdist and unpacks only its vendored llama.cpp tree into `source`. */
async function fetchSource(source: string, logFile: string): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-llama-cpp-'));
  const pkg = `llama-cpp-python==${versions.llamaCppPython}`;
  try {
    await runToLog('python3', ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', pkg, '-d', tmp], {
      logFile,
      what: `downloading the ${pkg} sdist from PyPI`,
    });
    const unpack = [
      'import glob, os, sys, tarfile',
      'sdist = glob.glob(sys.argv[1] + "/*.tar.gz")[0]',
      'marker = "/vendor/llama.cpp/"',
      'safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}',
      'with tarfile.open(sdist) as t:',
      '    for m in t.getmembers():',
      '        i = m.name.find(marker)',
      '        if i < 0 or not (m.isfile() or m.isdir()): continue',
      '        m.name = m.name[i + len(marker):]',
      '        if m.name: t.extract(m, sys.argv[2] + ".part", **safe)',
      'os.rename(sys.argv[2] + ".part", sys.argv[2])',
    ].join('\n');
    fs.rmSync(`${source}.part`, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(source), { recursive: true });
    await runToLog('python3', ['-c', unpack, tmp, source], { logFile, what: 'unpacking the llama.cpp source' });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
