/**
 * The instruction sets fraudflow compiles ggml for (Ollama's cgo build and llama.cpp's CMake build), as plain
 * functions over what the compiler says a CPU has: its predefined macros for `-march=native` (`-mcpu=native` on
 * arm64). Only features on an allow-list pass, and they are passed on as explicit flags, never as `native`.
 *
 * Why not `-march=native`: on a CPU with AMX it defines `__AMX_INT8__`, which makes ggml-cpu.cpp call
 * `ggml_backend_amx_buffer_type()`, defined in ggml-cpu/amx/ — a folder Ollama's cgo build does not compile (it is
 * not a Go package), so the link fails after minutes of building. The allow-list holds what the sources cgo does
 * compile (ggml-cpu/*.c, *.cpp, llamafile/sgemm.cpp of Ollama v0.11.4) test for, so an extension newer than this
 * table can never switch on a code path nobody has built.
 */
import { createHash } from 'node:crypto';

/** One allow-listed feature: the macro a compiler defines for it, and the flag (x86) or `-march` suffix (arm64). */
interface IsaFeature {
  readonly name: string;
  readonly macro: string;
  readonly flag: string;
}

/**
 * What ggml's cgo-compiled sources test for on x86-64 (and the SSE4 level below them), each as its own flag after
 * `-march=x86-64`: compilers older than GCC 11 and Clang 12 refuse `-march=x86-64-v2`. Not here on purpose: AMX.
 */
const x86Features: readonly IsaFeature[] = [
  { name: 'sse3', macro: '__SSE3__', flag: '-msse3' },
  { name: 'ssse3', macro: '__SSSE3__', flag: '-mssse3' },
  { name: 'sse4.1', macro: '__SSE4_1__', flag: '-msse4.1' },
  { name: 'sse4.2', macro: '__SSE4_2__', flag: '-msse4.2' },
  { name: 'popcnt', macro: '__POPCNT__', flag: '-mpopcnt' },
  { name: 'avx', macro: '__AVX__', flag: '-mavx' },
  { name: 'avx2', macro: '__AVX2__', flag: '-mavx2' },
  { name: 'fma', macro: '__FMA__', flag: '-mfma' },
  { name: 'f16c', macro: '__F16C__', flag: '-mf16c' },
  { name: 'bmi2', macro: '__BMI2__', flag: '-mbmi2' },
  { name: 'avx512f', macro: '__AVX512F__', flag: '-mavx512f' },
  { name: 'avx512cd', macro: '__AVX512CD__', flag: '-mavx512cd' },
  { name: 'avx512vl', macro: '__AVX512VL__', flag: '-mavx512vl' },
  { name: 'avx512dq', macro: '__AVX512DQ__', flag: '-mavx512dq' },
  { name: 'avx512bw', macro: '__AVX512BW__', flag: '-mavx512bw' },
  { name: 'avx512vbmi', macro: '__AVX512VBMI__', flag: '-mavx512vbmi' },
  { name: 'avx512vnni', macro: '__AVX512VNNI__', flag: '-mavx512vnni' },
  { name: 'avx512bf16', macro: '__AVX512BF16__', flag: '-mavx512bf16' },
  { name: 'avxvnni', macro: '__AVXVNNI__', flag: '-mavxvnni' },
  { name: 'avxvnniint8', macro: '__AVXVNNIINT8__', flag: '-mavxvnniint8' },
];

/** What ggml tests for on arm64 beyond NEON and FMA (both always there). Not here on purpose: SME. */
const armExtensions: readonly IsaFeature[] = [
  { name: 'dotprod', macro: '__ARM_FEATURE_DOTPROD', flag: '+dotprod' },
  { name: 'fp16', macro: '__ARM_FEATURE_FP16_VECTOR_ARITHMETIC', flag: '+fp16' },
  { name: 'i8mm', macro: '__ARM_FEATURE_MATMUL_INT8', flag: '+i8mm' },
  { name: 'sve', macro: '__ARM_FEATURE_SVE', flag: '+sve' },
];

/** ggml's CMake switch for each x86 feature; llama.cpp's GGML_AVX512 turns on F, CD, VL, DQ and BW together. */
const x86CmakeOptions: ReadonlyArray<{ option: string; needs: readonly string[] }> = [
  { option: 'GGML_SSE42', needs: ['sse4.2'] },
  { option: 'GGML_AVX', needs: ['avx'] },
  { option: 'GGML_AVX2', needs: ['avx2'] },
  { option: 'GGML_FMA', needs: ['fma'] },
  { option: 'GGML_F16C', needs: ['f16c'] },
  { option: 'GGML_BMI2', needs: ['bmi2'] },
  { option: 'GGML_AVX_VNNI', needs: ['avxvnni'] },
  { option: 'GGML_AVX512', needs: ['avx512f', 'avx512cd', 'avx512vl', 'avx512dq', 'avx512bw'] },
  { option: 'GGML_AVX512_VBMI', needs: ['avx512vbmi'] },
  { option: 'GGML_AVX512_VNNI', needs: ['avx512vnni'] },
  { option: 'GGML_AVX512_BF16', needs: ['avx512bf16'] },
];

/** Off whatever the CPU has: one feature set for both builds, and AMX is not in it. */
const x86CmakeAlwaysOff = ['GGML_AMX_TILE', 'GGML_AMX_INT8', 'GGML_AMX_BF16'];

/** The instruction sets to build for: a machine's architecture (`process.arch`) and its allow-listed features. */
export interface CpuTarget {
  readonly arch: string;
  /** Allow-listed feature names, in table order. */
  readonly features: readonly string[];
}

/** The macro names a `cc -dM -E` run printed (`#define NAME value` lines). */
export function parsePredefinedMacros(output: string): Set<string> {
  const names = new Set<string>();
  for (const line of output.split('\n')) {
    const m = /^\s*#define\s+([A-Za-z_]\w*)/.exec(line);
    if (m?.[1]) names.add(m[1]);
  }
  return names;
}

/** The flags that ask the compiler what "this CPU" means; none for an architecture without a table. */
export function nativeProbeFlags(arch: string): string[] {
  if (arch === 'x64') return ['-march=native'];
  if (arch === 'arm64') return ['-mcpu=native'];
  return [];
}

function tableFor(arch: string): readonly IsaFeature[] {
  if (arch === 'x64') return x86Features;
  if (arch === 'arm64') return armExtensions;
  return [];
}

/** The allow-listed features among `macros`; every other macro, a future extension's included, is ignored. */
export function deriveCpuTarget(arch: string, macros: ReadonlySet<string>): CpuTarget {
  return {
    arch,
    features: tableFor(arch)
      .filter((f) => macros.has(f.macro))
      .map((f) => f.name),
  };
}

/**
 * What to build with when the compiler cannot be asked: x86-64's and arm64's base instruction sets (SSE2, NEON),
 * which every CPU of the architecture runs.
 */
export function baselineCpuTarget(arch: string): CpuTarget {
  return { arch, features: [] };
}

/** The C/C++ flags for the target: `-O3`, the architecture's base and one flag (x86) or suffix (arm64) per feature. */
export function compilerFlags(target: CpuTarget): string[] {
  const has = new Set(target.features);
  if (target.arch === 'x64')
    return ['-O3', '-march=x86-64', ...x86Features.filter((f) => has.has(f.name)).map((f) => f.flag)];
  if (target.arch === 'arm64') return ['-O3', `-march=${armMarch(target)}`];
  return ['-O3'];
}

/** Every arm64 feature in the table needs Armv8.2-A at least (dotprod, fp16, sve are 8.2 extensions; i8mm from 8.2). */
function armMarch(target: CpuTarget): string {
  const has = new Set(target.features);
  const extensions = armExtensions.filter((f) => has.has(f.name)).map((f) => f.flag);
  return extensions.length === 0 ? 'armv8-a' : `armv8.2-a${extensions.join('')}`;
}

/**
 * The same target as CMake options for the llama.cpp that fraudflow builds (llama-cpp-python 0.3.36's): native
 * detection off, each x86 switch set explicitly, and arm64's `-march` through GGML_CPU_ARM_ARCH (with native off
 * and no arch, ggml would build for the compiler's default).
 */
export function llamaCppCmakeOptions(target: CpuTarget): string[] {
  const has = new Set(target.features);
  const options = ['-DGGML_NATIVE=OFF'];
  if (target.arch === 'x64') {
    for (const { option, needs } of x86CmakeOptions)
      options.push(`-D${option}=${needs.every((n) => has.has(n)) ? 'ON' : 'OFF'}`);
    options.push(...x86CmakeAlwaysOff.map((option) => `-D${option}=OFF`));
  }
  if (target.arch === 'arm64') options.push(`-DGGML_CPU_ARM_ARCH=${armMarch(target)}`);
  return options;
}

/** A short hash of build flags, for a cache path: different flags, a different build. */
export function flagsHash(flags: readonly string[]): string {
  return createHash('sha256').update(flags.join(' ')).digest('hex').slice(0, 8);
}
