// Property-based tests (fast-check) of the two ways untrusted input enters: image bytes through
// preprocessing, and training parameters through GraphQL. For any input, the answer is either a
// correct result or a coded refusal: never another exception, never partial pixels, never a
// training run started from bad parameters, never a leaked tensor.
import fs from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../server/ml/backend.js';
import { ImageError } from '../../server/ml/image-error.js';
import { decodeImage, preprocess } from '../../server/ml/preprocess.js';
import { tf } from '../../server/ml/tf.js';
import { resolveTrainingParams, TrainingParamsError } from '../../server/ml/training-params.js';
import { defaultTrainingParams } from '../../server/ml/types.js';
import { getArchitecture } from '../../server/ml/models/index.js';
import { encodeRaw, type FixtureFormat } from '../helpers/images.js';
import { createRng } from '../../server/ml/random.js';
import { ADMIN_TOKEN, gql, startTestApp, tempDir, type TestApp } from '../api/helpers.js';

/** Resolves to the decoded image or the ImageError; anything else thrown fails the property. */
async function decodeOrImageError(bytes: Buffer, size: number): Promise<{ pixels: Uint8Array } | ImageError> {
  try {
    return await decodeImage(bytes, size);
  } catch (error) {
    if (error instanceof ImageError) return error;
    throw new Error(`decodeImage threw something other than an ImageError: ${String(error)}`, { cause: error });
  }
}

const formats: FixtureFormat[] = ['jpeg', 'png', 'webp', 'tiff', 'gif'];

/** A valid image of any accepted format, size and channel count, with seeded random content. */
const anyImage = fc.record({
  width: fc.integer({ min: 32, max: 160 }),
  height: fc.integer({ min: 32, max: 160 }),
  channels: fc.constantFrom<1 | 3 | 4>(1, 3, 4),
  format: fc.constantFrom(...formats),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

async function encode(image: { width: number; height: number; channels: 1 | 3 | 4; format: FixtureFormat; seed: number }): Promise<Buffer> {
  const rng = createRng(image.seed);
  // Smooth-ish content (random blocks) compresses like a photo rather than like noise.
  const pixels = new Uint8Array(image.width * image.height * image.channels);
  const block = 8;
  const colours = Array.from({ length: 64 }, () => Array.from({ length: image.channels }, () => rng.int(256)));
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const colour = colours[((Math.floor(y / block) * 7 + Math.floor(x / block)) * 13) % colours.length]!;
      pixels.set(colour, (y * image.width + x) * image.channels);
    }
  }
  return encodeRaw(pixels, image.width, image.height, image.channels, image.format);
}

describe('preprocessing, for any input', () => {
  beforeAll(async () => {
    await initBackend({ preferred: 'wasm' });
  });

  it('refuses arbitrary bytes with an ImageError or decodes them to size x size x 3', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 1, max: 96 }), async (bytes, size) => {
        const result = await decodeOrImageError(Buffer.from(bytes), size);
        if (!(result instanceof ImageError)) expect(result.pixels.length).toBe(size * size * 3);
      }),
      { numRuns: 200 },
    );
  });

  it('decodes every valid image of an accepted format to exactly size x size x 3 and reports its format and size', async () => {
    await fc.assert(
      fc.asyncProperty(anyImage, fc.integer({ min: 8, max: 128 }), async (image, size) => {
        const decoded = await decodeImage(await encode(image), size);
        expect(decoded.pixels.length).toBe(size * size * 3);
        expect(decoded.original).toEqual({ width: image.width, height: image.height, format: image.format });
      }),
      { numRuns: 60 },
    );
  });

  it('for a cut-off PNG or JPEG, refuses it or returns exactly the whole picture, never part of one', async () => {
    const images = fc.record({ image: anyImage.map((i) => ({ ...i, format: i.seed % 2 === 0 ? ('png' as const) : ('jpeg' as const) })), cut: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }) });
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(images, async ({ image, cut }) => {
        const whole = await encode(image);
        const length = 1 + Math.floor(cut * (whole.length - 1));
        const result = await decodeOrImageError(whole.subarray(0, length), 32);
        // Only what follows the pixel data (PNG's IEND, JPEG's EOI and padding) may be missing.
        if (!(result instanceof ImageError)) {
          accepted++;
          expect(Buffer.from(result.pixels).equals(Buffer.from((await decodeImage(whole, 32)).pixels)), `${image.format} cut to ${length} of ${whole.length} bytes`).toBe(true);
        }
      }),
      { numRuns: 80 },
    );
    expect(accepted).toBeLessThan(40);
  });

  it('survives corrupted bytes anywhere in a valid image', async () => {
    const corruption = fc.record({ image: anyImage, flips: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }) });
    await fc.assert(
      fc.asyncProperty(corruption, async ({ image, flips }) => {
        const bytes = Buffer.from(await encode(image));
        for (const [where, xor] of flips) bytes[Math.floor(where * bytes.length)]! ^= xor;
        const result = await decodeOrImageError(bytes, 32);
        if (!(result instanceof ImageError)) expect(result.pixels.length).toBe(32 * 32 * 3);
      }),
      { numRuns: 80 },
    );
  });

  it('leaves no tensor behind, whether an input is accepted or refused', async () => {
    const before = tf.memory().numTensors;
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyImage.chain((image) => fc.constant(image)), fc.uint8Array({ maxLength: 512 })), async (input) => {
        const bytes = input instanceof Uint8Array ? Buffer.from(input) : await encode(input);
        try {
          const { tensor } = await preprocess(bytes, 24);
          expect(tensor.shape).toEqual([1, 24, 24, 3]);
          const values = tensor.dataSync();
          expect(values.every((v) => v >= 0 && v <= 1)).toBe(true);
          tensor.dispose();
        } catch (error) {
          expect(error).toBeInstanceOf(ImageError);
        }
      }),
      { numRuns: 40 },
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an image declared larger than the pixel limit is refused from its header, whatever it claims', async () => {
    const png = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#884422' } }).png().toBuffer();
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (width, height) => {
        const forged = Buffer.from(png);
        // IHDR width and height sit at bytes 16-23; the CRC no longer matches, which decoders must also refuse.
        forged.writeUInt32BE(width, 16);
        forged.writeUInt32BE(height, 20);
        const result = await decodeOrImageError(forged, 32);
        if (!(result instanceof ImageError)) expect(result.pixels.length).toBe(32 * 32 * 3);
        else if (width * height > 50_000_000) expect(result.code).not.toBe('IMAGE_TOO_SMALL');
      }),
      { numRuns: 60 },
    );
  });
});

// -- training parameters through GraphQL -------------------------------------------------------------

/** Documented ranges (TrainingInput's descriptions): a value outside is refused. */
const invalidValues = {
  epochs: fc.oneof(fc.integer({ min: -(2 ** 31), max: 0 }), fc.integer({ min: 501, max: 2 ** 31 - 1 })),
  batchSize: fc.oneof(fc.integer({ min: -(2 ** 31), max: 0 }), fc.integer({ min: 513, max: 2 ** 31 - 1 })),
  learningRate: fc.oneof(fc.double({ max: 0, noNaN: true, noDefaultInfinity: true }), fc.double({ min: 1.000001, max: 1e300, noNaN: true })),
  imageSize: fc.oneof(fc.integer({ min: -(2 ** 31), max: 15 }), fc.integer({ min: 385, max: 2 ** 31 - 1 })),
  architecture: fc.string({ maxLength: 40 }).map((s) => `no-such-architecture-${s}`),
  seed: fc.oneof(fc.integer({ min: -(2 ** 31), max: -1 }), fc.double({ min: 2 ** 32, max: 1e18, noNaN: true }), fc.double({ min: 0.01, max: 0.99, noNaN: true })),
  validationFraction: fc.oneof(fc.double({ max: -1e-9, noNaN: true, noDefaultInfinity: true }), fc.double({ min: 0.500001, max: 1e6, noNaN: true })),
  earlyStoppingPatience: fc.oneof(fc.integer({ min: -(2 ** 31), max: -1 }), fc.integer({ min: 501, max: 2 ** 31 - 1 })),
};
type Field = keyof typeof invalidValues;

/** Values GraphQL itself refuses before the service sees them (wrong type, not representable). */
const malformedValues: Record<Field, fc.Arbitrary<unknown>> = {
  epochs: fc.constantFrom(2 ** 31, 1e12, 1.5, 'NaN', 'ten', true),
  batchSize: fc.constantFrom(2 ** 40, -1e15, 0.5, 'Infinity', [32]),
  learningRate: fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e-3', { value: 0.1 }),
  imageSize: fc.constantFrom(1e10, 64.5, '64', false),
  architecture: fc.constantFrom(42, true, ['original-cnn'], { name: 'original-cnn' }),
  seed: fc.constantFrom('NaN', 'seed', [1]),
  validationFraction: fc.constantFrom('NaN', 'half', {}),
  earlyStoppingPatience: fc.constantFrom(2 ** 33, 2.5, 'never'),
};

const validValues: Record<Field, fc.Arbitrary<unknown>> = {
  epochs: fc.integer({ min: 1, max: 500 }),
  batchSize: fc.integer({ min: 1, max: 512 }),
  learningRate: fc.double({ min: 1e-9, max: 1, noNaN: true }),
  imageSize: fc.integer({ min: Math.max(16, getArchitecture(defaultTrainingParams.architecture).minImageSize), max: 384 }),
  architecture: fc.constant(defaultTrainingParams.architecture),
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  validationFraction: fc.double({ min: 0, max: 0.5, noNaN: true }),
  earlyStoppingPatience: fc.integer({ min: 0, max: 500 }),
};
const fields = Object.keys(invalidValues) as Field[];

/** Any subset of fields valid, plus at least one field invalid (out of range) or malformed (wrong type). */
const badInput = fc
  .record({
    valid: fc.record(validValues, { requiredKeys: [] }),
    badField: fc.constantFrom(...fields),
    malformed: fc.boolean(),
  })
  .chain(({ valid, badField, malformed }) =>
    (malformed ? malformedValues[badField] : invalidValues[badField]).map((bad) => ({ input: { ...valid, [badField]: bad } as Record<string, unknown>, badField, malformed })),
  );

describe('training parameters, for any input', () => {
  let root: string;
  let app: TestApp;

  beforeAll(async () => {
    root = await tempDir('properties-');
    await fs.mkdir(path.join(root, 'data'));
    app = await startTestApp({ dataDir: path.join(root, 'data'), modelsDir: path.join(root, 'models'), storeFile: path.join(root, 'runs.sqlite'), env: { ADMIN_TOKEN } });
    await app.modelLoaded;
  });

  afterAll(async () => {
    await app?.close();
    if (root) await fs.rm(root, { recursive: true, force: true });
  });

  it('startTraining refuses any out-of-range or malformed field with BAD_USER_INPUT and starts nothing', async () => {
    let refusedByRange = 0;
    await fc.assert(
      fc.asyncProperty(badInput, async ({ input, badField, malformed }) => {
        const response = await gql(app.url, 'mutation ($input: TrainingInput) { startTraining(input: $input) { id } }', { input }, { token: ADMIN_TOKEN });
        expect(response.errors, JSON.stringify(input)).toHaveLength(1);
        const error = response.errors![0]!;
        expect(error.extensions?.code, error.message).toBe('BAD_USER_INPUT');
        if (!malformed && error.extensions?.reason === 'BAD_TRAINING_INPUT') {
          refusedByRange++;
          // The first bad field in checking order is named; with one bad field, it is that one.
          expect(error.message).toMatch(new RegExp(`^${badField}: `));
        }
        expect(response.data?.startTraining ?? null).toBeNull();
      }),
      { numRuns: 150 },
    );
    expect(refusedByRange).toBeGreaterThan(30);
    expect(app.services.runs.list()).toEqual([]);
    expect(app.services.training.activeRun()).toBeNull();
  });

  it('the parameter check accepts every in-range combination and keeps the values given', () => {
    fc.assert(
      fc.property(fc.record(validValues, { requiredKeys: [] }), (input) => {
        const params = resolveTrainingParams(input as Parameters<typeof resolveTrainingParams>[0]);
        expect(params).toEqual({ ...defaultTrainingParams, ...input });
      }),
      { numRuns: 300 },
    );
  });

  it('the parameter check names the bad field for any out-of-range value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...fields).chain((field) => invalidValues[field].map((value) => ({ field, value }))), ({ field, value }) => {
        expect(() => resolveTrainingParams({ [field]: value })).toThrow(TrainingParamsError);
        try {
          resolveTrainingParams({ [field]: value });
        } catch (error) {
          expect((error as TrainingParamsError).field).toBe(field);
        }
      }),
      { numRuns: 300 },
    );
  });
});
