// Where dataset images live: <root>/<split>/<label>/<file>. An image's id is that relative path,
// so it names the file without exposing the server's folders; every part is checked before it
// is joined to the root, so an id can never reach outside it.
import path from 'node:path';
import { DatasetChangeError } from './dataset-change-error.js';

/** The splits training reads: `train` (a validation part is held out from it) and `test`. */
export const SPLITS = ['train', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

export interface ImageRef {
  split: SplitName;
  label: string;
  fileName: string;
}

// Letters, digits, space, dot, dash and underscore; no leading dot (hidden) or space.
const LABEL_PATTERN = /^[\p{L}\p{N}_-][\p{L}\p{N} ._-]{0,63}$/u;
const FILE_PATTERN = /^[^./\\\0][^/\\\0]{0,254}$/;

export function isSplitName(value: string): value is SplitName {
  return (SPLITS as readonly string[]).includes(value);
}

/** The label as a folder name, or BAD_LABEL. */
export function checkLabel(label: string): string {
  const trimmed = label.trim();
  if (!LABEL_PATTERN.test(trimmed) || trimmed.endsWith('.') || trimmed.endsWith(' ')) {
    throw new DatasetChangeError('BAD_LABEL', `"${label}" is not a usable class name: use 1-64 letters, digits, spaces, dots, dashes or underscores, not starting with a dot`);
  }
  return trimmed;
}

export function imageId(ref: ImageRef): string {
  return `${ref.split}/${ref.label}/${ref.fileName}`;
}

/** Parses `<split>/<label>/<file>`; BAD_IMAGE_ID for anything else. */
export function parseImageId(id: string): ImageRef {
  const parts = id.split('/');
  const bad = () => new DatasetChangeError('BAD_IMAGE_ID', `"${id}" is not an image id of the form <split>/<label>/<file>`);
  if (parts.length !== 3) throw bad();
  const [split, label, fileName] = parts;
  if (!isSplitName(split) || !FILE_PATTERN.test(fileName)) throw bad();
  try {
    if (checkLabel(label) !== label) throw bad();
  } catch {
    throw bad();
  }
  return { split, label, fileName };
}

export function classDir(root: string, split: SplitName, label: string): string {
  return path.join(root, split, label);
}

export function imagePath(root: string, ref: ImageRef): string {
  return path.join(root, ref.split, ref.label, ref.fileName);
}
