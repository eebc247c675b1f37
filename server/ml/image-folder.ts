// The ImageFolder layout on disk, `<split>/<class>/<image>`: which files count as images and
// how a split is listed. File system only, so listing a folder never loads tfjs.
import fs from 'node:fs/promises';
import path from 'node:path';

export type DatasetErrorCode =
  | 'SPLIT_NOT_FOUND'
  | 'WRONG_CLASS_COUNT'
  | 'UNKNOWN_POSITIVE_CLASS'
  | 'NO_POSITIVE_CLASS'
  | 'AMBIGUOUS_POSITIVE_CLASS';

export class DatasetError extends Error {
  override readonly name = 'DatasetError';

  constructor(
    readonly code: DatasetErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ImageFile {
  path: string;
  className: string;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif']);

// Plain string order, not locale order: the same folder must sort the same on every machine.
export const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const isHidden = (name: string): boolean => name.startsWith('.');

/** Whether a file name is one the loader reads (by extension; hidden files never are). */
export const isImageFileName = (name: string): boolean => !isHidden(name) && IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());

async function isDirectory(entry: import('node:fs').Dirent, dir: string): Promise<boolean> {
  if (entry.isDirectory()) return true;
  return entry.isSymbolicLink() && (await fs.stat(path.join(dir, entry.name)).catch(() => null))?.isDirectory() === true;
}

async function isFile(entry: import('node:fs').Dirent, dir: string): Promise<boolean> {
  if (entry.isFile()) return true;
  return entry.isSymbolicLink() && (await fs.stat(path.join(dir, entry.name)).catch(() => null))?.isFile() === true;
}

/** Class folders (sorted) and their image files (sorted by class, then file name). */
export async function listImageFolder(splitDir: string): Promise<{ classNames: string[]; files: ImageFile[] }> {
  let entries;
  try {
    entries = await fs.readdir(splitDir, { withFileTypes: true });
  } catch (error) {
    throw new DatasetError('SPLIT_NOT_FOUND', `cannot read the image folder ${splitDir}`, { cause: error });
  }
  const classNames: string[] = [];
  for (const entry of entries) {
    if (!isHidden(entry.name) && (await isDirectory(entry, splitDir))) classNames.push(entry.name);
  }
  classNames.sort(byCodePoint);

  const files: ImageFile[] = [];
  for (const className of classNames) {
    const classDir = path.join(splitDir, className);
    const names: string[] = [];
    for (const entry of await fs.readdir(classDir, { withFileTypes: true })) {
      if (!isImageFileName(entry.name)) continue;
      if (await isFile(entry, classDir)) names.push(entry.name);
    }
    names.sort(byCodePoint);
    for (const name of names) files.push({ path: path.join(classDir, name), className });
  }
  return { classNames, files };
}

