/**
 * The build flags for this machine: the C compiler is asked once per process what the target CPU has
 * (src/stack/cpu-features.ts turns its answer into flags), and the flags are tried on it before a build of minutes.
 */
import { spawnSync } from 'node:child_process';
import type { CpuTarget } from './cpu-features';
import {
  baselineCpuTarget,
  compilerFlags,
  deriveCpuTarget,
  llamaCppCmakeOptions,
  nativeProbeFlags,
  parsePredefinedMacros,
} from './cpu-features';
import { StackError } from '../errors';

export interface BuildFlags {
  readonly target: CpuTarget;
  /** CGO_CFLAGS and CGO_CXXFLAGS for Ollama's build. */
  readonly compiler: readonly string[];
  /** The CMake options for llama.cpp's build. */
  readonly cmake: readonly string[];
  /** How the target was found, for the build logs. */
  readonly origin: string;
}

const cc = () => process.env.CC || 'cc';
const cxx = () => process.env.CXX || 'c++';

const found = new Map<string, BuildFlags>();

/**
 * The flags for the CPU that `cpuFlags` names (FRAUDFLOW_CPU_FLAGS), or this machine's. Falls back to the
 * compiler's default target (the one the operating system itself is built for) when the compiler cannot answer
 * for `native`, and to the architecture's base instruction set when there is no compiler to ask.
 */
export function buildFlagsFor(cpuFlags: string | undefined): BuildFlags {
  const key = cpuFlags ?? '';
  const known = found.get(key);
  if (known) return known;
  const { target, origin } = findTarget(cpuFlags);
  const flags = { target, compiler: compilerFlags(target), cmake: llamaCppCmakeOptions(target), origin };
  found.set(key, flags);
  return flags;
}

function findTarget(cpuFlags: string | undefined): { target: CpuTarget; origin: string } {
  const arch = process.arch;
  const answered = (probe: string[], macros: Set<string>) => {
    const target = deriveCpuTarget(arch, macros);
    const features = target.features.join(' ') || 'base instruction set only';
    return { target, origin: `${cc()} ${[...probe, '-dM', '-E'].join(' ')} on ${arch}: ${features}` };
  };
  if (cpuFlags) {
    const probe = cpuFlags.split(/\s+/).filter(Boolean);
    const answer = predefinedMacros(probe);
    if ('error' in answer) throw new StackError(`FRAUDFLOW_CPU_FLAGS="${cpuFlags}": ${answer.error}`);
    return answered(probe, answer.macros);
  }
  for (const probe of [nativeProbeFlags(arch), []]) {
    const answer = predefinedMacros(probe);
    if ('macros' in answer) return answered(probe, answer.macros);
  }
  return { target: baselineCpuTarget(arch), origin: `${arch} base instruction set: ${cc()} could not be asked` };
}

/** The macros `cc <probe> -dM -E` predefines, or why the compiler gave none (missing, or refusing the probe). */
function predefinedMacros(probe: string[]): { macros: Set<string> } | { error: string } {
  const res = spawnSync(cc(), [...probe, '-dM', '-E', '-x', 'c', '-'], { input: '', encoding: 'utf8' });
  if (res.error) return { error: `${cc()} could not be run: ${res.error.message}` };
  if (res.status !== 0) return { error: `${cc()} refused it: ${res.stderr.trim()}` };
  return { macros: parsePredefinedMacros(res.stdout) };
}

/** Compiles an empty C and C++ file with the flags; a refusal is a StackError now instead of after a long build. */
export function verifyBuildFlags(flags: BuildFlags): void {
  for (const [compiler, language] of [
    [cc(), 'c'],
    [cxx(), 'c++'],
  ] as const) {
    const args = [...flags.compiler, '-x', language, '-c', '-', '-o', '/dev/null'];
    const res = spawnSync(compiler, args, { input: 'int fraudflow_probe;\n', encoding: 'utf8' });
    if (res.error || res.status !== 0) {
      throw new StackError(
        `${compiler} rejects the build flags derived for this CPU (${flags.compiler.join(' ')}; ${flags.origin}): ` +
          `${res.error?.message ?? res.stderr.trim()}. Set FRAUDFLOW_CPU_FLAGS to name another target ` +
          `(e.g. -march=x86-64-v3).`,
      );
    }
  }
}
