import os from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../server/ml/tf.js';
import { initBackend, backendInfo, describeBackend } from '../../server/ml/backend.js';
import { Classifier } from '../../server/ml/classifier.js';
import { buildModel } from '../../server/ml/models/index.js';
import { riskBand, DISCLAIMER } from '../../server/ml/risk.js';
import type { ModelMetadata } from '../../server/ml/types.js';
import { noiseImage, solidImage } from '../helpers/images.js';

const metadata = { version: 'test', imageSize: 32, threshold: 0.3, classNames: ['benign', 'malignant'], positiveClass: 'malignant' } as ModelMetadata;

describe('backend selection', () => {
  it('uses tfjs-node when it loads, otherwise WASM with SIMD, and says why', async () => {
    const info = await initBackend();
    expect(backendInfo()).toBe(info);
    expect(tf.getBackend()).toBe(info.name);
    if (info.name === 'wasm') {
      expect(info.fallbackReason).toMatch(/tfjs-node/);
      // Every core by default (the threaded WASM build caps its pool at 8).
      expect(info.threads).toBe(Math.min(os.availableParallelism(), 8));
      expect(describeBackend(info)).toMatch(new RegExp(`^wasm, ${info.threads} threads?, SIMD`));
    } else {
      expect(info.name).toBe('tensorflow');
    }
  });
});

describe('riskBand', () => {
  it('is low below the threshold, then medium, then high above the midpoint to 1', () => {
    expect(riskBand(0.29, 0.3)).toBe('low');
    expect(riskBand(0.3, 0.3)).toBe('medium');
    expect(riskBand(0.64, 0.3)).toBe('medium');
    expect(riskBand(0.65, 0.3)).toBe('high');
  });
});

describe('Classifier', () => {
  let classifier: Classifier;
  beforeAll(async () => {
    await initBackend();
    classifier = new Classifier(buildModel('original-cnn', { imageSize: 32, seed: 1 }), metadata);
    classifier.warmUp();
  });

  it('labels with the stored threshold, carries the disclaimer and the original size', async () => {
    const result = await classifier.classify(await noiseImage(120, 80, 3, 'jpeg'));
    expect(result.probability).toBeGreaterThanOrEqual(0);
    expect(result.probability).toBeLessThanOrEqual(1);
    expect(result.label).toBe(result.probability >= 0.3 ? 'malignant' : 'benign');
    expect(result.riskBand).toBe(riskBand(result.probability, 0.3));
    expect(result.original).toEqual({ width: 120, height: 80, format: 'jpeg' });
    expect(result.disclaimer).toBe(DISCLAIMER);
  });

  it('gives the same probability for one image alone and inside a batch', async () => {
    const a = (await classifier.classify(await solidImage(64, 64, [200, 150, 130]))).probability;
    const b = (await classifier.classify(await noiseImage(64, 64, 9))).probability;
    const { decodeImage } = await import('../../server/ml/preprocess.js');
    const pixels = await Promise.all([solidImage(64, 64, [200, 150, 130]), noiseImage(64, 64, 9)].map(async (p) => (await decodeImage(await p, 32)).pixels));
    const batch = classifier.predictPixels(pixels);
    expect(batch[0]).toBeCloseTo(a, 5);
    expect(batch[1]).toBeCloseTo(b, 5);
  });

  it('leaks no tensors across many predictions', async () => {
    const image = await noiseImage(224, 224, 4, 'jpeg');
    await classifier.classify(image);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) await classifier.classify(image);
    expect(tf.memory().numTensors).toBe(before);
  });
});
