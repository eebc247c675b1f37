// The inference pool on real worker threads and the shipped model: a batch split over two
// threads gets, image by image and in order, what one thread gives; lone requests, heatmaps and
// memory go through it too.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InferencePool } from '../../server/inference/inference-pool.js';
import type { ModelMetadata } from '../../server/ml/types.js';
import { repoRoot } from '../../server/paths.js';

const modelsDir = path.join(repoRoot, 'models');
const VERSION = 'v4';
const SIZE = 96;

/** Distinct smooth pictures, so every image gets its own probability. */
function pictures(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, k) => {
    const pixels = new Uint8Array(SIZE * SIZE * 3);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const i = (y * SIZE + x) * 3;
        const r = Math.hypot(x - SIZE / 2, y - SIZE / 2) / (8 + 3 * k);
        pixels[i] = 200 - 40 * Math.min(r, 3);
        pixels[i + 1] = 150 - 30 * Math.min(r, 3) + 5 * k;
        pixels[i + 2] = 120 - 25 * Math.min(r, 3);
      }
    }
    return pixels;
  });
}

const options = { modelsDir, backend: { preferred: 'wasm' as const }, screening: { views: 'all' as const } };
let one: InferencePool;
let two: InferencePool;
let metadata: ModelMetadata;

beforeAll(async () => {
  one = new InferencePool({ ...options, threads: 1 });
  two = new InferencePool({ ...options, threads: 2 });
  [metadata] = await Promise.all([one.load(VERSION), two.load(VERSION)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([one?.close(), two?.close()]);
});

describe('InferencePool', () => {
  it('reports every thread it computes with', async () => {
    expect(one.size).toBe(1);
    expect(two.size).toBe(2);
    expect((await one.backend).threads).toBe(1);
    expect((await two.backend).threads).toBe(2);
  });

  it('splits a batch over its threads and answers each image as one thread does, in order', async () => {
    const images = pictures(7);
    const [alone, split] = await Promise.all([one.assess(metadata, images), two.assess(metadata, images)]);
    expect(split).toHaveLength(7);
    expect(new Set(alone.map((a) => a.probability.toFixed(6))).size).toBeGreaterThan(1);
    split.forEach((answer, i) => {
      expect(answer.probability).toBeCloseTo(alone[i]!.probability, 5);
      expect(answer.distance).toBeCloseTo(alone[i]!.distance!, 4);
      expect(answer.uncertainty?.lower).toBeCloseTo(alone[i]!.uncertainty!.lower, 5);
    });
  });

  it('splits a batch only over idle threads: with one busy, the other takes the next batch whole', async () => {
    const threads = (two as unknown as { threads: { assess: (...args: unknown[]) => Promise<unknown> }[] }).threads;
    const calls: number[][] = [[], []];
    const originals = threads.map((t) => t.assess.bind(t));
    threads.forEach((t, k) => {
      t.assess = (version, images) => {
        calls[k]!.push((images as Uint8Array[]).length);
        return originals[k]!(version, images);
      };
    });
    try {
      const images = pictures(6);
      await two.assess(metadata, images);
      expect(calls).toEqual([[3], [3]]);
      // Both at once: the first splits over both idle threads, the second finds none idle.
      const [a, b] = await Promise.all([two.assess(metadata, images), two.assess(metadata, images.slice(0, 4))]);
      expect(calls.flat().slice(2).sort()).toEqual([3, 3, 4]);
      b.forEach((answer, i) => expect(answer.probability).toBeCloseTo(a[i]!.probability, 5));
    } finally {
      threads.forEach((t, k) => (t.assess = originals[k]!));
    }
  });

  it('shares the eight views of a lone image between idle threads and answers it as one thread does', async () => {
    const threads = (two as unknown as { threads: { scoreViews: (...args: unknown[]) => Promise<unknown> }[] }).threads;
    const calls: string[][][] = [[], []];
    const originals = threads.map((t) => t.scoreViews.bind(t));
    threads.forEach((t, k) => {
      t.scoreViews = (version, images, views) => {
        calls[k]!.push(views as string[]);
        return originals[k]!(version, images, views);
      };
    });
    try {
      const [image] = pictures(1);
      const [[alone], [shared]] = await Promise.all([one.assess(metadata, [image!]), two.assess(metadata, [image!])]);
      expect(calls).toEqual([[['identity', 'flip-left-right', 'flip-up-down', 'rotate-180']], [['rotate-90', 'rotate-270', 'transpose', 'anti-transpose']]]);
      expect(shared!.probability).toBeCloseTo(alone!.probability, 6);
      expect(shared!.distance).toBeCloseTo(alone!.distance!, 5);
      expect(shared!.uncertainty!.views).toHaveLength(8);
      shared!.uncertainty!.views.forEach((score, v) => expect(score).toBeCloseTo(alone!.uncertainty!.views[v]!, 6));
    } finally {
      threads.forEach((t, k) => (t.scoreViews = originals[k]!));
    }
  });

  it('answers lone images and heatmaps, concurrent or not, and frees every tensor', async () => {
    const before = await two.memory();
    const images = pictures(3);
    const lone = await Promise.all(images.map((image) => two.assess(metadata, [image])));
    const together = await two.assess(metadata, images);
    lone.forEach(([answer], i) => expect(answer!.probability).toBeCloseTo(together[i]!.probability, 5));
    const maps = await Promise.all([0, 1].map(() => two.explain(VERSION, images[0]!, 1)));
    expect(maps[0]!.values).toEqual(maps[1]!.values);
    expect((await two.memory()).numTensors).toBe(before.numTensors);
  });
});
