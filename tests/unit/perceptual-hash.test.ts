// The perceptual hash must call re-encoded, resized and slightly brightened copies of a picture
// the same, and different pictures different, on synthetic images and (when present) real ones.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { describeImage } from '../../server/dataset/image-intake.js';
import { hammingDistance, perceptualHash } from '../../server/dataset/perceptual-hash.js';
import { sharedDatasetDir } from '../../server/paths.js';
import { createRng } from '../../server/ml/random.js';
import { encodeRaw, gradientImage, noiseImage, toyLesionPixels } from '../helpers/images.js';

const hashOf = async (bytes: Buffer) => (await describeImage(bytes)).perceptualHash;

async function variants(bytes: Buffer): Promise<Buffer[]> {
  return Promise.all([
    sharp(bytes).png().toBuffer(),
    sharp(bytes).jpeg({ quality: 80 }).toBuffer(),
    sharp(bytes).resize(200, 200).webp({ quality: 80 }).toBuffer(),
    sharp(bytes).modulate({ brightness: 1.08 }).jpeg({ quality: 90 }).toBuffer(),
  ]);
}

describe('perceptual hash', () => {
  it('counts differing bits', () => {
    expect(hammingDistance('0000000000000000', '0000000000000000')).toBe(0);
    expect(hammingDistance('0000000000000000', 'ffffffffffffffff')).toBe(64);
    expect(hammingDistance('8000000000000001', '0000000000000000')).toBe(2);
    expect(() => perceptualHash(new Uint8Array(10))).toThrow(RangeError);
  });

  it('keeps a picture within a few bits through re-encoding, resizing and brightening', async () => {
    const original = await encodeRaw(toyLesionPixels(96, 'malignant', createRng(3)), 96, 96, 3, 'png');
    const reference = await hashOf(original);
    for (const copy of await variants(original)) expect(hammingDistance(reference, await hashOf(copy))).toBeLessThanOrEqual(4);
  });

  it('tells different pictures apart', async () => {
    const images = await Promise.all([gradientImage(64, 64), noiseImage(64, 64, 1), noiseImage(64, 64, 2)]);
    const hashes = await Promise.all(images.map(hashOf));
    expect(hammingDistance(hashes[0], hashes[1])).toBeGreaterThan(12);
    expect(hammingDistance(hashes[1], hashes[2])).toBeGreaterThan(12);
  });

  const realDir = path.join(sharedDatasetDir, 'train', 'malignant');
  it.skipIf(!fs.existsSync(realDir))('on real dermoscopic images: copies stay close, different lesions do not', async () => {
    const files = fs.readdirSync(realDir).sort().slice(0, 24).map((f) => fs.readFileSync(path.join(realDir, f)));
    const hashes = await Promise.all(files.map(hashOf));
    for (const [i, file] of files.slice(0, 6).entries()) {
      for (const copy of await variants(file)) expect(hammingDistance(hashes[i], await hashOf(copy))).toBeLessThanOrEqual(4);
    }
    let closest = 64;
    for (let i = 0; i < hashes.length; i++) for (let j = i + 1; j < hashes.length; j++) closest = Math.min(closest, hammingDistance(hashes[i], hashes[j]));
    expect(closest).toBeGreaterThan(4);
  });
});
