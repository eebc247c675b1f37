// The threaded WASM build under Node: it really computes on several threads, its results match
// the cpu backend, and a process using it still exits on its own.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend, type BackendInfo } from '../../server/ml/backend.js';

let info: BackendInfo;

beforeAll(async () => {
  info = await initBackend({ preferred: 'wasm', threads: 2 });
});

async function on(backend: 'cpu' | 'wasm', compute: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const out = tf.tidy(compute);
  const values = Float32Array.from(await out.data());
  out.dispose();
  return values;
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let scale = 1;
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]!));
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  }
  expect(worst / scale).toBeLessThan(1e-5);
}

describe('WASM with threads under Node', () => {
  it('computes with two threads', () => {
    expect(info).toMatchObject({ name: 'wasm', simd: true, threads: 2 });
    expect(info.fallbackReason ?? '').not.toMatch(/WASM threads/);
  });

  it.each([
    ['a convolution', () => tf.conv2d(tf.randomUniform([8, 40, 40, 16], -1, 1, 'float32', 1) as tf.Tensor4D, tf.randomUniform([3, 3, 16, 32], -1, 1, 'float32', 2) as tf.Tensor4D, 1, 'same')],
    ['a matrix product', () => tf.matMul(tf.randomUniform([96, 300], -1, 1, 'float32', 3) as tf.Tensor2D, tf.randomUniform([300, 200], -1, 1, 'float32', 4) as tf.Tensor2D)],
    ['max pooling', () => tf.maxPool(tf.randomUniform([8, 40, 40, 16], -1, 1, 'float32', 5) as tf.Tensor4D, 2, 2, 'valid')],
  ])('matches the cpu backend on %s', async (_name, compute) => {
    const expected = await on('cpu', compute);
    expectClose(await on('wasm', compute), expected);
  });

  it('lets a process that used it exit by itself', async () => {
    const backendModule = fileURLToPath(new URL('../../server/ml/backend.ts', import.meta.url));
    const script = `
      const { initBackend } = await import(${JSON.stringify(backendModule)});
      const { tf } = await import(${JSON.stringify(fileURLToPath(new URL('../../server/ml/tf.ts', import.meta.url)))});
      const info = await initBackend({ preferred: 'wasm', threads: 2 });
      const y = tf.conv2d(tf.ones([4, 32, 32, 8]), tf.ones([3, 3, 8, 8]), 1, 'same');
      console.log(JSON.stringify({ threads: info.threads, sum: (await y.sum().data())[0] }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { threads: number; sum: number };
    expect(result.threads).toBe(2);
    // 4 images x 8 channels: 32x32 pixels, of which inner ones see 9 taps x 8 channels.
    const taps = (30 * 30 * 9 + 4 * 30 * 6 + 4 * 4) * 8;
    expect(result.sum).toBe(4 * 8 * taps);
  });
});
