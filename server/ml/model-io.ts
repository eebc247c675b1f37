// A tfjs IOHandler over a plain folder (`model.json` + `weights.bin`), since without tfjs-node
// tfjs has no `file://` handler. It writes in place: making a save atomic (temp folder + rename)
// is the caller's job.
import fs from 'node:fs/promises';
import path from 'node:path';
import { tf } from './tf.js';
import { writeFileDurable } from '../util/atomic-write.js';

type ModelArtifacts = tf.io.ModelArtifacts;
type ModelJSON = tf.io.ModelJSON;

export { MODEL_FILE, ModelFileError, sha256Hex, WEIGHTS_FILE } from './model-files.js';
export type { ModelFileErrorCode } from './model-files.js';
import { MODEL_FILE, ModelFileError, readCheckedModelFiles, WEIGHTS_FILE, type FileSystemHandlerOptions } from './model-files.js';

export type { FileSystemHandlerOptions } from './model-files.js';

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
  const { modelJson, specs, weights } = await readCheckedModelFiles(dir, options);
  return tf.io.getModelArtifactsForJSON(modelJson, async () => {
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
