/**
 * The instruction sets Ollama and llama.cpp are compiled for, from what compilers said about real CPUs: the
 * predefined macros recorded in test/fixtures/cpu-macros/ (each file names the command that printed it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import {
  baselineCpuTarget,
  compilerFlags,
  deriveCpuTarget,
  flagsHash,
  llamaCppCmakeOptions,
  parsePredefinedMacros,
} from '../../src/stack/cpu-features';
import { stackLayout } from '../../src/stack/layout';

const recorded = (file: string) => fs.readFileSync(path.join(__dirname, '../fixtures/cpu-macros', file), 'utf8');

function buildFor(arch: string, macroDump: string) {
  const macros = parsePredefinedMacros(macroDump);
  const target = deriveCpuTarget(arch, macros);
  return { macros, target, flags: compilerFlags(target), cmake: llamaCppCmakeOptions(target) };
}

const x86Sse4 = ['-march=x86-64', '-msse3', '-mssse3', '-msse4.1', '-msse4.2', '-mpopcnt'];
const avx2 = ['-mavx', '-mavx2', '-mfma', '-mf16c', '-mbmi2'];
const avx512 = ['-mavx512f', '-mavx512cd', '-mavx512vl', '-mavx512dq', '-mavx512bw', '-mavx512vbmi', '-mavx512vnni'];

describe('build flags derived from the compiler', () => {
  it('give an AMX Sapphire Rapids AVX-512 but no AMX, in Ollama flags and llama.cpp options alike', () => {
    const { macros, flags, cmake } = buildFor('x64', recorded('sapphire-rapids.txt'));
    expect(macros.has('__AMX_INT8__') && macros.has('__AMX_TILE__') && macros.has('__AVX512FP16__')).toBe(true);

    expect(flags).toEqual(['-O3', ...x86Sse4, ...avx2, ...avx512, '-mavx512bf16', '-mavxvnni']);
    expect(flags.join(' ')).not.toMatch(/amx|native|fp16/i);
    expect(cmake).toContain('-DGGML_AVX512=ON');
    expect(cmake).toContain('-DGGML_AVX512_BF16=ON');
    expect(cmake).toEqual(
      expect.arrayContaining(['-DGGML_AMX_TILE=OFF', '-DGGML_AMX_INT8=OFF', '-DGGML_AMX_BF16=OFF']),
    );
    expect(cmake[0]).toBe('-DGGML_NATIVE=OFF');
  });

  it("give this machine's AMD EPYC (AVX-512 with VNNI and BF16, no AMX) every AVX-512 feature ggml uses", () => {
    const { flags, cmake } = buildFor('x64', recorded('epyc-this-machine.txt'));
    expect(flags).toEqual(['-O3', ...x86Sse4, ...avx2, ...avx512, '-mavx512bf16']);
    expect(cmake).toEqual([
      '-DGGML_NATIVE=OFF',
      '-DGGML_SSE42=ON',
      '-DGGML_AVX=ON',
      '-DGGML_AVX2=ON',
      '-DGGML_FMA=ON',
      '-DGGML_F16C=ON',
      '-DGGML_BMI2=ON',
      '-DGGML_AVX_VNNI=OFF',
      '-DGGML_AVX512=ON',
      '-DGGML_AVX512_VBMI=ON',
      '-DGGML_AVX512_VNNI=ON',
      '-DGGML_AVX512_BF16=ON',
      '-DGGML_AMX_TILE=OFF',
      '-DGGML_AMX_INT8=OFF',
      '-DGGML_AMX_BF16=OFF',
    ]);
  });

  it('give an AVX2-only Haswell AVX2, FMA, F16C and BMI2 and nothing of AVX-512', () => {
    const { flags, cmake } = buildFor('x64', recorded('haswell.txt'));
    expect(flags).toEqual(['-O3', ...x86Sse4, ...avx2]);
    expect(cmake).toEqual(expect.arrayContaining(['-DGGML_AVX2=ON', '-DGGML_FMA=ON', '-DGGML_AVX512=OFF']));
    expect(cmake.filter((o) => o.startsWith('-DGGML_AVX512')).every((o) => o.endsWith('=OFF'))).toBe(true);
  });

  it('give a Graviton3 (Neoverse V1) dotprod, fp16, i8mm and SVE through an explicit -march, SME never', () => {
    const { flags, cmake } = buildFor('arm64', recorded('graviton3-neoverse-v1.txt'));
    expect(flags).toEqual(['-O3', '-march=armv8.2-a+dotprod+fp16+i8mm+sve']);
    expect(cmake).toEqual(['-DGGML_NATIVE=OFF', '-DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16+i8mm+sve']);

    const withSme = buildFor('arm64', `${recorded('graviton3-neoverse-v1.txt')}\n#define __ARM_FEATURE_SME 1\n`);
    expect(withSme.flags).toEqual(flags);
  });

  it('give an Apple M1 dotprod and fp16 (no i8mm, no SVE)', () => {
    const { macros, flags, cmake } = buildFor('arm64', recorded('apple-m1.txt'));
    expect(macros.has('__APPLE__')).toBe(true);
    expect(flags).toEqual(['-O3', '-march=armv8.2-a+dotprod+fp16']);
    expect(cmake).toEqual(['-DGGML_NATIVE=OFF', '-DGGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16']);
  });

  it('give a Cortex-A72 (Raspberry Pi 4) plain Armv8-A with NEON', () => {
    expect(buildFor('arm64', recorded('raspberry-pi4-cortex-a72.txt')).flags).toEqual(['-O3', '-march=armv8-a']);
  });

  it('ignore macros of extensions the allow-list does not name, such as a future one', () => {
    const future = ['__AVX10_2__', '__AVX10_2_512__', '__APX_F__', '__AMX_FP8__', '__AMX_COMPLEX__', '__AVX512FP16__'];
    const dump = `${recorded('epyc-this-machine.txt')}\n${future.map((m) => `#define ${m} 1`).join('\n')}\n`;
    const withFuture = buildFor('x64', dump);
    const today = buildFor('x64', recorded('epyc-this-machine.txt'));
    expect(withFuture.macros.has('__AVX10_2__')).toBe(true);
    expect(withFuture.flags).toEqual(today.flags);
    expect(withFuture.cmake).toEqual(today.cmake);
  });

  it('fall back to the base instruction set of the architecture when the compiler cannot be asked', () => {
    expect(compilerFlags(baselineCpuTarget('x64'))).toEqual(['-O3', '-march=x86-64']);
    expect(
      llamaCppCmakeOptions(baselineCpuTarget('x64'))
        .slice(1)
        .every((o) => o.endsWith('=OFF')),
    ).toBe(true);
    expect(compilerFlags(baselineCpuTarget('arm64'))).toEqual(['-O3', '-march=armv8-a']);
    expect(compilerFlags(baselineCpuTarget('riscv64'))).toEqual(['-O3']);
    expect(deriveCpuTarget('riscv64', new Set(['__riscv_vector'])).features).toEqual([]);
  });
});

describe('build cache keys', () => {
  it('differ when the flags differ and agree when they agree', () => {
    const epyc = buildFor('x64', recorded('epyc-this-machine.txt'));
    const spr = buildFor('x64', recorded('sapphire-rapids.txt'));
    const haswell = buildFor('x64', recorded('haswell.txt'));
    expect(flagsHash(epyc.flags)).toMatch(/^[0-9a-f]{8}$/);
    expect(new Set([epyc, spr, haswell].map((b) => flagsHash(b.flags))).size).toBe(3);
    expect(new Set([epyc, spr, haswell].map((b) => flagsHash(b.cmake))).size).toBe(3);
    expect(flagsHash(buildFor('x64', recorded('haswell.txt')).flags)).toBe(flagsHash(haswell.flags));
  });

  it('put the Ollama binary and the llama.cpp build in a folder per flags (FRAUDFLOW_CPU_FLAGS, asked of cc)', () => {
    // Two targets every compiler for the machine's architecture knows; the compiler itself is asked.
    const [older, newer] =
      process.arch === 'arm64' ? ['-march=armv8-a', '-march=armv8.2-a+dotprod'] : ['-march=x86-64', '-march=haswell'];
    const layoutFor = (cpuFlags: string) => stackLayout(loadConfig({ ...process.env, FRAUDFLOW_CPU_FLAGS: cpuFlags }));
    const [a, b] = [layoutFor(older), layoutFor(newer)];

    expect(a.ollamaBin).toMatch(/\/ollama\/0\.11\.4-[0-9a-f]{8}\/bin\/ollama$/);
    expect(a.ollamaBin).toContain(`0.11.4-${flagsHash(a.buildFlags.compiler)}`);
    expect(a.llamaCppBuild).toBe(path.join(a.llamaCppHome, `build-${flagsHash(a.buildFlags.cmake)}`));
    expect(b.ollamaBin).not.toBe(a.ollamaBin);
    expect(b.llamaCppBuild).not.toBe(a.llamaCppBuild);
    expect(layoutFor(older).ollamaBin).toBe(a.ollamaBin);
  });
});
