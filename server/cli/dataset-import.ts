// npm run dataset:import -- <zip or folder> [--split train|test] [--json]
// npm run dataset:import -- --isic [--limit N] [--query "<ISIC search>"] [--isic-url <API root>] [--split train|test] [--json]
//
// Adds images to DATASETS_DIR exactly as the API's addImages does: each validated, re-encoded,
// named by its sha256, duplicates and bad files reported and skipped. A zip or folder is laid out
// as <label>/<file> (or <split>/<label>/<file>). Exit code 1 when any file was rejected.
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import type { ImportedItem, ImportReport } from '../dataset/dataset-folder.js';
import { ISIC_API_URL } from '../dataset/isic-source.js';
import { isSplitName, SPLITS } from '../dataset/layout.js';
import { DatasetService } from '../services/dataset-service.js';
import { runCli } from './common.js';

const USAGE = `usage: npm run dataset:import -- <zip or folder> [--split ${SPLITS.join('|')}] [--json]
       npm run dataset:import -- --isic [--limit N] [--query "<ISIC search>"] [--isic-url <API root>] [--split ${SPLITS.join('|')}] [--json]`;

function describe(item: ImportedItem): string {
  const where = item.split && item.label ? `${item.split}/${item.label}` : '';
  if (item.status === 'added') return `added      ${item.name} -> ${item.id}`;
  if (item.status === 'duplicate') return `duplicate  ${item.name} (already ${item.duplicateOf})`;
  return `rejected   ${item.name}${where ? ` [${where}]` : ''}: ${item.code}: ${item.message}`;
}

runCli(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      split: { type: 'string', default: 'train' },
      json: { type: 'boolean', default: false },
      isic: { type: 'boolean', default: false },
      'isic-url': { type: 'string', default: ISIC_API_URL },
      query: { type: 'string', default: '' },
      limit: { type: 'string', default: '100' },
    },
  });
  const split = values.split;
  if (!isSplitName(split)) throw new Error(`--split must be one of ${SPLITS.join(', ')}, got "${split}"\n${USAGE}`);
  if (values.isic ? positionals.length !== 0 : positionals.length !== 1) throw new Error(USAGE);

  const config = loadConfig();
  const datasets = new DatasetService({
    root: config.datasetsDir,
    limits: { maxPixels: config.maxImagePixels, minSide: config.minImageSide },
    nearDuplicateDistance: config.nearDuplicateDistance,
    maxImageBytes: config.maxUploadBytes,
    maxArchiveFiles: config.maxArchiveFiles,
  });
  await datasets.folder.removeStaleTemps();
  const print = (item: ImportedItem) => {
    process.stdout.write(values.json ? `${JSON.stringify(item)}\n` : `${describe(item)}\n`);
  };

  let report: ImportReport;
  if (values.isic) {
    const limit = Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive whole number, got "${values.limit}"`);
    process.stderr.write(`importing up to ${limit} images from ${values['isic-url']} into ${config.datasetsDir}/${split}\n`);
    report = await datasets.importIsic({ baseUrl: values['isic-url'], query: values.query, limit }, split, print);
  } else {
    const source = positionals[0];
    const stat = await fs.stat(source).catch(() => null);
    if (!stat) throw new Error(`${source} does not exist`);
    process.stderr.write(`importing ${source} into ${config.datasetsDir} (split ${split} where the source names none)\n`);
    report = stat.isDirectory() ? await datasets.importFolder(source, split, print) : await datasets.importArchive(source, split, print);
  }
  const summary = { added: report.added, duplicates: report.duplicates, rejected: report.rejected };
  process.stdout.write(values.json ? `${JSON.stringify({ summary })}\n` : `\n${summary.added} added, ${summary.duplicates} duplicates, ${summary.rejected} rejected\n`);
  if (report.rejected > 0) process.exitCode = 1;
});
