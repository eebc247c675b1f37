// A saved model's files and how they fail, without tfjs: the registry lists and checks versions
// with these in the server's main thread.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { tf } from './tf.js';

type ModelJSON = tf.io.ModelJSON;
type WeightsManifestEntry = tf.io.WeightsManifestEntry;

export const MODEL_FILE = 'model.json';
export const WEIGHTS_FILE = 'weights.bin';

export type ModelFileErrorCode = 'DAMAGED_MODEL' | 'UNSUPPORTED_MODEL';

export class ModelFileError extends Error {
  constructor(
    readonly code: ModelFileErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelFileError';
  }
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface FileSystemHandlerOptions {
  /** When set, `load()` also checks the sha256 (hex) of the weights bytes it read. */
  expectedWeightsSha256?: string;
}

const BYTES_PER_VALUE: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8, uint8: 1, uint16: 2, float16: 2 };

/** Bytes one weight occupies in the weights file (quantised weights are stored in their quantised type). */
function weightByteLength(spec: WeightsManifestEntry): number {
  const storedType = spec.quantization?.dtype ?? spec.dtype;
  const bytesPerValue = BYTES_PER_VALUE[storedType];
  if (bytesPerValue === undefined) throw new ModelFileError('UNSUPPORTED_MODEL', `weight ${spec.name} has unsupported dtype ${storedType}`);
  if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ModelFileError('DAMAGED_MODEL', `weight ${spec.name} has an invalid shape`);
  }
  return spec.shape.reduce((size, d) => size * d, 1) * bytesPerValue;
}


async function readModelJson(dir: string): Promise<ModelJSON> {
  const file = path.join(dir, MODEL_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new ModelFileError('DAMAGED_MODEL', `cannot read ${MODEL_FILE}: ${(error as NodeJS.ErrnoException).code ?? error}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError('DAMAGED_MODEL', `${MODEL_FILE} is not valid JSON`, { cause: error });
  }
  const json = parsed as Partial<ModelJSON> | null;
  const manifestValid =
    Array.isArray(json?.weightsManifest) &&
    json.weightsManifest.every((group) => Array.isArray(group?.paths) && Array.isArray(group?.weights));
  if (!json || typeof json.modelTopology !== 'object' || json.modelTopology === null || !manifestValid) {
    throw new ModelFileError('DAMAGED_MODEL', `${MODEL_FILE} lacks a model topology or a weights manifest`);
  }
  return json as ModelJSON;
}

/** Reads the manifest's weight files (concatenated in order), refusing paths that leave `dir`. */
async function readWeights(dir: string, manifest: tf.io.WeightsManifestConfig): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for (const group of manifest) {
    for (const relative of group.paths) {
      const file = path.resolve(dir, relative);
      if (path.dirname(file) !== path.resolve(dir)) throw new ModelFileError('DAMAGED_MODEL', `weights path ${relative} is outside the model folder`);
      try {
        parts.push(await fs.readFile(file));
      } catch (error) {
        throw new ModelFileError('DAMAGED_MODEL', `cannot read ${relative}: ${(error as NodeJS.ErrnoException).code ?? error}`, { cause: error });
      }
    }
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/**
 * Reads `model.json` and the weights it lists, checking that the weights hold exactly the bytes the
 * manifest describes (and their checksum when given). Everything short of building the model.
 */
export async function readCheckedModelFiles(
  dir: string,
  options: FileSystemHandlerOptions = {},
): Promise<{ modelJson: ModelJSON; specs: WeightsManifestEntry[]; weights: Uint8Array }> {
  try {
    const modelJson = await readModelJson(dir);
    const specs = modelJson.weightsManifest.flatMap((group) => group.weights);
    const expectedBytes = specs.reduce((sum, spec) => sum + weightByteLength(spec), 0);
    const weights = await readWeights(dir, modelJson.weightsManifest);
    if (weights.byteLength !== expectedBytes) {
      throw new ModelFileError('DAMAGED_MODEL', `weights hold ${weights.byteLength} bytes, the manifest needs ${expectedBytes}`);
    }
    if (options.expectedWeightsSha256 !== undefined && sha256Hex(weights) !== options.expectedWeightsSha256) {
      throw new ModelFileError('DAMAGED_MODEL', 'weights checksum mismatch');
    }
    return { modelJson, specs, weights };
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    // e.g. a manifest entry that is not an object: malformed content, whatever the exact fault.
    throw new ModelFileError('DAMAGED_MODEL', `malformed model files: ${error instanceof Error ? error.message : error}`, { cause: error });
  }
}
