// What is in the dataset folder, by split and class, without decoding anything.
import fs from 'node:fs/promises';
import path from 'node:path';
import { isImageFileName, listImageFolder } from '../ml/image-folder.js';

export interface DatasetSummary {
  root: string;
  splits: { split: string; classes: { name: string; count: number }[]; total: number }[];
  /** Files inside class folders that training ignores (not images by their extension). */
  skippedFiles: string[];
}

async function visibleEntries(dir: string) {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
}

export async function summarizeDataset(dataDir: string): Promise<DatasetSummary> {
  const summary: DatasetSummary = { root: dataDir, splits: [], skippedFiles: [] };
  for (const split of (await visibleEntries(dataDir)).filter((e) => e.isDirectory())) {
    const splitDir = path.join(dataDir, split.name);
    const { classNames, files } = await listImageFolder(splitDir);
    const classes = classNames.map((name) => ({ name, count: files.filter((f) => f.className === name).length }));
    summary.splits.push({ split: split.name, classes, total: files.length });
    for (const className of classNames) {
      for (const entry of await visibleEntries(path.join(splitDir, className))) {
        if (entry.isFile() && !isImageFileName(entry.name)) summary.skippedFiles.push(path.join(split.name, className, entry.name));
      }
    }
  }
  return summary;
}

/** True when `<dataDir>/train/<class>/` holds at least one image. */
export async function hasTrainingImages(dataDir: string): Promise<boolean> {
  const { splits } = await summarizeDataset(dataDir);
  return (splits.find((s) => s.split === 'train')?.total ?? 0) > 0;
}
