/**
 * The fine-tuning toolchain: fraudflow's answer trainer (src/models/trainer/answer-finetune.cpp, full fine-tuning
 * on the CPU through llama.cpp's ggml-opt) and `llama-quantize`, built once from the llama.cpp source that the
 * llama-cpp-python sdist on PyPI carries, into the cache. LLAMA_CPP_BIN_DIR points at existing binaries instead.
 *
 * llama.cpp's training loop puts every position of a window into the loss. Two small changes, applied to the
 * unpacked source before building, let a position go without a label and cost nothing, so the trainer can teach
 * the answer alone: the loop skips a negative label, and the cross-entropy gradient scales the softmax by the
 * row's label mass (1 for a labelled row, as before; 0 for an unlabelled one). Training with labels everywhere is
 * unchanged.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StackLayout } from './layout';
import { versions } from './layout';
import type { TrainerTools } from '../models/fine-tune';
import { StackError } from '../errors';
import { runToLog } from '../tools';
import { verifyBuildFlags } from './build-flags';
import { flagsHash } from './cpu-features';
import { requireTool } from './processes';

const targets = ['llama', 'llama-quantize'] as const;

/** The trainer's source, beside the other model files (copied into dist/ by the build). */
const trainerSource = path.join(__dirname, '..', 'models', 'trainer', 'answer-finetune.cpp');

type Binaries = Omit<TrainerTools, 'python'>;

/** The tools in `binDir`; the cached trainer's name carries its source's hash, so a changed source is rebuilt. */
function toolsIn(binDir: string, trainerName = 'fraudflow-answer-finetune'): Binaries {
  return { answerFinetune: path.join(binDir, trainerName), quantize: path.join(binDir, 'llama-quantize') };
}

const present = (t: Binaries) => fs.existsSync(t.answerFinetune) && fs.existsSync(t.quantize);

function cachedTrainerName(): string {
  const hash = createHash('sha256').update(fs.readFileSync(trainerSource)).digest('hex').slice(0, 10);
  return `fraudflow-answer-finetune-${hash}`;
}

/** The two changes to llama.cpp's training loop described above: where each goes, and what it inserts. */
const answerLossPatches = [
  {
    file: 'src/llama-context.cpp',
    before: '                    GGML_ASSERT(labels_sparse[ilabel] < labels->ne[0]);\n',
    insert: '                    if (labels_sparse[ilabel] < 0) continue; // fraudflow: an unlabelled position\n',
  },
  {
    file: 'ggml/src/ggml-cpu/ops.cpp',
    before: '        // grad(src0f) = (softmax(src0f) - src1f) * grad(cross_entropy_loss(src0f, src1f)) / nr\n',
    insert: [
      "        // fraudflow: softmax times the row's label mass, so that an unlabelled row (all zero) has no gradient",
      '        {',
      '            ggml_float label_mass = 0.0;',
      '            for (int64_t i = 0; i < nc; ++i) label_mass += s1[i];',
      '            ggml_vec_scale_f32(nc, ds0, (float) label_mass);',
      '        }',
      '',
    ].join('\n'),
  },
];

/** Applies the answer-loss changes to the llama.cpp source once; an anchor not found means another llama.cpp. */
export function patchForAnswerLoss(source: string): void {
  for (const patch of answerLossPatches) {
    const file = path.join(source, patch.file);
    const text = fs.readFileSync(file, 'utf8');
    if (text.includes(patch.insert)) continue;
    if (text.split(patch.before).length !== 2)
      throw new StackError(`${file} is not the llama.cpp fraudflow expects: cannot place the answer-loss change`);
    fs.writeFileSync(file, text.replace(patch.before, patch.insert + patch.before));
  }
}

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
    if (!present(given))
      throw new StackError(`LLAMA_CPP_BIN_DIR=${binDir} has no fraudflow-answer-finetune and llama-quantize`);
    return given;
  }
  const build = layout.llamaCppBuild;
  const bin = path.join(build, 'bin');
  const tools = toolsIn(bin, cachedTrainerName());
  if (present(tools)) return tools;
  requireTool('python3', ['--version'], 'Install Python 3 with pip and put `python3` on PATH.');
  requireTool('cmake', ['--version'], 'Install CMake (Debian: apt-get install cmake).');
  requireTool('g++', ['--version'], 'Install gcc and g++ (Debian: apt-get install build-essential).');
  const { cmake, origin } = layout.buildFlags;
  verifyBuildFlags(layout.buildFlags);
  const logFile = path.join(layout.buildLogs, `build-llama.cpp-${versions.llamaCppPython}-${flagsHash(cmake)}.log`);
  log(`building llama.cpp and fraudflow's answer trainer once (a few minutes; log: ${logFile})`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.appendFileSync(logFile, `fraudflow: ${cmake.join(' ')} (from ${origin})\n`);
  const source = path.join(layout.llamaCppHome, 'src');
  if (!fs.existsSync(path.join(source, 'CMakeLists.txt'))) await fetchSource(source, logFile);
  patchForAnswerLoss(source);
  const what = `building llama.cpp ${targets.join(', ')}`;
  await runToLog('cmake', ['-S', source, '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DLLAMA_CURL=OFF', ...cmake], {
    logFile,
    what,
  });
  const jobs = String(Math.max(1, os.availableParallelism()));
  await runToLog('cmake', ['--build', build, '-j', jobs, '--target', ...targets], { logFile, what });
  await compileTrainer(source, bin, tools.answerFinetune, logFile);
  if (!present(tools)) throw new StackError(`${what} left no binaries in ${bin}`);
  return tools;
}

/** Compiles the answer trainer against the llama.cpp libraries just built, finding them beside it at run time. */
async function compileTrainer(source: string, bin: string, out: string, logFile: string): Promise<void> {
  const includes = ['include', 'ggml/include'].map((dir) => `-I${path.join(source, dir)}`);
  const libraries = [`-L${bin}`, '-lllama', '-lggml', '-lggml-base', `-Wl,-rpath,${bin}`];
  await runToLog('g++', ['-O2', '-std=c++17', ...includes, trainerSource, '-o', `${out}.part`, ...libraries], {
    logFile,
    what: `compiling ${trainerSource}`,
  });
  fs.renameSync(`${out}.part`, out);
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
