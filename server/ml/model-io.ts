// A tfjs IOHandler over a plain folder (`model.json` + `weights.bin`), since without tfjs-node
// tfjs has no `file://` handler. It writes in place: making a save atomic (temp folder + rename)
// is the caller's job.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { tf } from './tf.js';
import { writeFileDurable } from '../util/atomic-write.js';

type ModelArtifacts = tf.io.ModelArtifacts;
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

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function save(dir: string, artifacts: ModelArtifacts): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new ModelFileError('UNSUPPORTED_MODEL', 'binary (GraphDef) model topologies are not supported');
  }
  const weightSpecs = artifacts.weightSpecs ?? [];
  if (weightSpecs.some((spec) => spec.dtype === 'string')) {
    throw new ModelFileError('UNSUPPORTED_MODEL', 'string weights are not supported');
  }
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));

  const modelJson: ModelJSON = {
    modelTopology: artifacts.modelTopology ?? {},
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [WEIGHTS_FILE], weights: weightSpecs }],
  };
  if (artifacts.trainingConfig) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature) modelJson.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.modelInitializer) modelJson.modelInitializer = artifacts.modelInitializer;

  await fs.mkdir(dir, { recursive: true });
  // The registry renames the folder into place next: the bytes must be on disk before that.
  await writeFileDurable(path.join(dir, WEIGHTS_FILE), weights);
  await writeFileDurable(path.join(dir, MODEL_FILE), JSON.stringify(modelJson));
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({ ...artifacts, weightData: weights.buffer }) };
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

async function load(dir: string, options: FileSystemHandlerOptions): Promise<ModelArtifacts> {
  try {
    return await loadUnchecked(dir, options);
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    // e.g. a manifest entry that is not an object: malformed content, whatever the exact fault.
    throw new ModelFileError('DAMAGED_MODEL', `malformed model files: ${error instanceof Error ? error.message : error}`, { cause: error });
  }
}

async function loadUnchecked(dir: string, options: FileSystemHandlerOptions): Promise<ModelArtifacts> {
  const modelJson = await readModelJson(dir);
  return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const specs = manifest.flatMap((group) => group.weights);
    const expectedBytes = specs.reduce((sum, spec) => sum + weightByteLength(spec), 0);
    const weights = await readWeights(dir, manifest);
    if (weights.byteLength !== expectedBytes) {
      throw new ModelFileError('DAMAGED_MODEL', `weights hold ${weights.byteLength} bytes, the manifest needs ${expectedBytes}`);
    }
    if (options.expectedWeightsSha256 !== undefined && sha256Hex(weights) !== options.expectedWeightsSha256) {
      throw new ModelFileError('DAMAGED_MODEL', 'weights checksum mismatch');
    }
    // A fresh ArrayBuffer holding exactly these bytes (a Buffer may be a view into a larger pool).
    const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
    return [specs, weightData];
  });
}

/**
 * Saves to / loads from `dir`: `model.json` (topology, manifest, user metadata) and `weights.bin`.
 * Loading checks that the weights file holds exactly the bytes the manifest describes; any unreadable,
 * unparsable or inconsistent file is a `ModelFileError` with code `DAMAGED_MODEL`.
 */
export function fileSystemHandler(dir: string, options: FileSystemHandlerOptions = {}): tf.io.IOHandler {
  return {
    save: (artifacts) => save(dir, artifacts),
    load: () => load(dir, options),
  };
}
