// The hand-written SIMD kernels: the checked-in bytes are kernels.wat's, and they load on the
// WASM backend's memory (the kernels fall back to JS loops silently otherwise, so this says so).
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { tf } from '../../server/ml/tf.js';
import { initBackend } from '../../server/ml/backend.js';
import { GENERATED_FILE, assembleKernels, generatedModuleText } from '../../server/ml/kernels/simd/assemble.js';
import { heapOffset, simdKernels } from '../../server/ml/kernels/simd/simd-kernels.js';

// The project's TypeScript libs do not declare WebAssembly.Memory.
type Memory = { buffer: ArrayBufferLike };
const { Memory } = (globalThis as unknown as { WebAssembly: { Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => Memory } }).WebAssembly;

beforeAll(async () => {
  await initBackend({ preferred: 'wasm' });
  await tf.setBackend('wasm');
});

describe('SIMD kernels', () => {
  it('kernels.wasm.ts is kernels.wat assembled (run `npm run simd-kernels` when this fails)', async () => {
    expect(fs.readFileSync(GENERATED_FILE, 'utf8')).toBe(generatedModuleText(await assembleKernels()));
  });

  it('load on the WASM backend and work on its memory in place, also after the memory grew', () => {
    const backend = tf.backend() as BackendWasm;
    const kernels = simdKernels(backend);
    expect(kernels).toBeDefined();
    const heapBefore = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.length;
    // Large enough to make the heap grow past its size when the kernels were instantiated.
    const big = tf.zeros([Math.ceil(heapBefore / 4) + 1024]);
    const dy = tf.tensor([1, 2, 3, 4, 5, 6, 7, 8]);
    const x = tf.tensor([1, -1, 0, Number.NaN, 2, -2, 3, 0.5]);
    const dx = tf.zeros([8]);
    expect((backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.length).toBeGreaterThan(heapBefore);
    kernels!.reluGrad(heapOffset(backend, dy), heapOffset(backend, x), heapOffset(backend, dx), 8);
    expect(Array.from(dx.dataSync())).toEqual([1, 0, 0, Number.NaN, 5, 0, 7, 8]);
    tf.dispose([big, dy, x, dx]);
  });

  it('load on both kinds of memory: the threaded build\'s shared one and an ordinary one', () => {
    const run = (memory: Memory) => {
      const kernels = simdKernels({ wasm: { asm: { memory } } } as unknown as BackendWasm);
      expect(kernels).toBeDefined();
      const floats = new Float32Array(memory.buffer);
      floats.set([1, 2, 3, 4, 5, 6, 7, 8], 0); // two rows of 4 at byte 0; the sum goes to byte 64
      kernels!.sumRows(0, 64, 128, 2, 4);
      return Array.from(floats.subarray(16, 20));
    };
    expect(run(new Memory({ initial: 1 }))).toEqual([6, 8, 10, 12]);
    expect(run(new Memory({ initial: 1, maximum: 16, shared: true }))).toEqual([6, 8, 10, 12]);
  });
});
