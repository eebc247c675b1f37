// Screens picked or dropped images one request per file, so one bad file never hides the
// others' results. Results stay while the user moves between pages.
import { computed, reactive, ref } from 'vue';
import { graphqlClient } from '../api/client';
import { CLASSIFY_IMAGE } from '../api/documents';
import { describeApiError, problemFromCode, type ApiProblem } from '../api/errors';
import type { Prediction } from '../api/types';

export type ScreeningState = 'waiting' | 'screening' | 'done' | 'failed';

export interface ScreenedImage {
  id: number;
  file: File;
  /** An object URL of the file for the preview. */
  previewUrl: string;
  state: ScreeningState;
  prediction: Prediction | null;
  problem: ApiProblem | null;
}

const images = ref<ScreenedImage[]>([]);
let nextId = 1;
// Files are sent one after another: the server computes on the CPU, parallel requests only queue there.
let queue: Promise<void> = Promise.resolve();

async function screen(image: ScreenedImage): Promise<void> {
  if (!images.value.includes(image)) return; // removed while waiting
  image.state = 'screening';
  const result = await graphqlClient.mutation(CLASSIFY_IMAGE, { image: image.file, explain: true }, { requestPolicy: 'network-only' }).toPromise();
  const prediction = result.data?.classify;
  if (prediction) {
    image.prediction = prediction;
    image.state = 'done';
  } else {
    image.problem = describeApiError(result.error) ?? problemFromCode('INTERNAL_SERVER_ERROR', 'The server sent no result for this file');
    image.state = 'failed';
  }
}

function addFiles(files: Iterable<File>): void {
  const added = [...files].map((file) =>
    reactive<ScreenedImage>({ id: nextId++, file, previewUrl: URL.createObjectURL(file), state: 'waiting', prediction: null, problem: null }),
  ) as ScreenedImage[];
  if (added.length === 0) return;
  images.value = [...added, ...images.value];
  for (const image of added) queue = queue.then(() => screen(image)).catch(() => undefined);
}

function remove(id: number): void {
  const image = images.value.find((i) => i.id === id);
  if (!image) return;
  URL.revokeObjectURL(image.previewUrl);
  images.value = images.value.filter((i) => i.id !== id);
}

function clear(): void {
  images.value.forEach((image) => URL.revokeObjectURL(image.previewUrl));
  images.value = [];
}

export function useImageScreening() {
  return { images: computed(() => images.value), addFiles, remove, clear };
}
