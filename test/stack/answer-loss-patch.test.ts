/** The change to llama.cpp's training loop that lets fraudflow's trainer leave positions out of the loss. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StackError } from '../../src/errors';
import { patchForAnswerLoss } from '../../src/stack/llama-cpp';

const loop = [
  '                for (uint32_t pos_ubatch = 0; pos_ubatch < n_ubatch; ++pos_ubatch) {',
  '                    const uint32_t ilabel = pos_ctx + pos_batch + pos_ubatch;',
  '                    GGML_ASSERT(labels_sparse[ilabel] < labels->ne[0]);',
  '                }',
  '',
].join('\n');
const gradient = [
  '        ggml_vec_scale_f32(nc, ds0, 1.0/sum);',
  '',
  '        // grad(src0f) = (softmax(src0f) - src1f) * grad(cross_entropy_loss(src0f, src1f)) / nr',
  '        ggml_vec_sub_f32(nc, ds0, ds0, s1);',
  '',
].join('\n');

describe('the answer-loss change to llama.cpp', () => {
  let source: string;
  afterEach(() => fs.rmSync(source, { recursive: true, force: true }));

  function sourceTree(files: { loop: string; gradient: string }): string {
    source = fs.mkdtempSync(path.join(os.tmpdir(), 'fraudflow-llama-src-'));
    fs.mkdirSync(path.join(source, 'src'));
    fs.mkdirSync(path.join(source, 'ggml/src/ggml-cpu'), { recursive: true });
    fs.writeFileSync(path.join(source, 'src/llama-context.cpp'), files.loop);
    fs.writeFileSync(path.join(source, 'ggml/src/ggml-cpu/ops.cpp'), files.gradient);
    return source;
  }
  const read = (file: string) => fs.readFileSync(path.join(source, file), 'utf8');

  it('skips unlabelled positions and scales the gradient by label mass, once however often it runs', () => {
    sourceTree({ loop, gradient });
    patchForAnswerLoss(source);
    const patchedLoop = read('src/llama-context.cpp');
    const patchedGradient = read('ggml/src/ggml-cpu/ops.cpp');
    expect(patchedLoop).toMatch(/if \(labels_sparse\[ilabel\] < 0\) continue;.*\n\s+GGML_ASSERT\(labels_sparse/);
    expect(patchedGradient).toMatch(
      /label_mass \+= s1\[i\];[\s\S]*ggml_vec_scale_f32\(nc, ds0, \(float\) label_mass\);/,
    );
    expect(patchedGradient.indexOf('label_mass')).toBeLessThan(patchedGradient.indexOf('ggml_vec_sub_f32'));

    patchForAnswerLoss(source);
    expect(read('src/llama-context.cpp')).toBe(patchedLoop);
    expect(read('ggml/src/ggml-cpu/ops.cpp')).toBe(patchedGradient);
  });

  it('refuses a llama.cpp whose training loop is not where it expects', () => {
    sourceTree({ loop: loop.replace('GGML_ASSERT', 'assert'), gradient });
    expect(() => patchForAnswerLoss(source)).toThrow(StackError);
    expect(read('ggml/src/ggml-cpu/ops.cpp')).toBe(gradient);
  });
});
