// Bulk imports end to end: `npm run dataset:import` on a zip and on a folder, and the ISIC
// Archive importer against a local HTTP server that answers with the API's JSON shapes (two
// pages linked by `next`, labels in clinical.benign_malignant or clinical.diagnosis_1) and images.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { repoRoot } from '../../server/paths.js';
import { createRng } from '../../server/ml/random.js';
import { DatasetService } from '../../server/services/dataset-service.js';
import { encodeRaw, toyLesionPixels } from '../helpers/images.js';

const run = promisify(execFile);

let work: string;
let isic: { server: http.Server; url: string; requests: string[]; images: Map<string, Buffer> };

const lesion = (kind: 'benign' | 'malignant', seed: number, format: 'png' | 'jpeg' = 'jpeg') =>
  encodeRaw(toyLesionPixels(48, kind, createRng(seed)), 48, 48, 3, format);

function cli(args: string[], dataDir: string) {
  return run(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'server/cli/dataset-import.ts'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, DATASETS_DIR: dataDir },
  }).catch((error: { code: number; stdout: string; stderr: string }) => ({ ...error, failed: true }));
}

/** One search result as the ISIC Archive v2 API returns it. */
function result(base: string, id: string, clinical: Record<string, unknown>, size?: number) {
  return {
    isic_id: id,
    public: true,
    copyright_license: 'CC-BY',
    attribution: 'Test Archive',
    files: { full: { url: `${base}/images/${id}.JPG`, size: size ?? 1000 }, thumbnail_256: { url: `${base}/images/${id}_thumb.jpg`, size: 100 } },
    metadata: { acquisition: { pixels_x: 48, pixels_y: 48 }, clinical },
  };
}

async function startIsicMock() {
  const images = new Map<string, Buffer>([
    ['ISIC_0000001', await lesion('benign', 1)],
    ['ISIC_0000002', await lesion('malignant', 2)],
    ['ISIC_0000003', await lesion('benign', 3)],
    ['ISIC_0000005', await lesion('benign', 5)],
    ['ISIC_0000006', await lesion('malignant', 6)],
  ]);
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url!, `http://${req.headers.host}`);
    requests.push(`${url.pathname}${url.search}`);
    const base = `http://${req.headers.host}`;
    if (url.pathname === '/api/v2/images/search/') {
      const second = url.searchParams.get('cursor') === 'page-2';
      const body = second
        ? {
            count: 6,
            // A next page elsewhere must not be followed.
            next: 'http://127.0.0.2:9/api/v2/images/search/?cursor=page-3',
            previous: null,
            results: [result(base, 'ISIC_0000005', { benign_malignant: 'benign' }, 50_000_000), result(base, 'ISIC_0000006', { diagnosis_1: 'Malignant' })],
          }
        : {
            count: 6,
            next: `${base}/api/v2/images/search/?cursor=page-2&limit=${url.searchParams.get('limit')}`,
            previous: null,
            results: [
              result(base, 'ISIC_0000001', { benign_malignant: 'benign', diagnosis: 'nevus' }),
              result(base, 'ISIC_0000002', { diagnosis_1: 'Malignant', diagnosis_3: 'Melanoma Invasive' }),
              result(base, 'ISIC_0000003', { benign_malignant: 'indeterminate' }),
              result(base, 'ISIC_0000004', { benign_malignant: 'malignant' }),
            ],
          };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    const image = images.get(path.basename(url.pathname, '.JPG'));
    if (url.pathname.startsWith('/images/') && image) res.writeHead(200, { 'content-type': 'image/jpeg' }).end(image);
    else res.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2`, requests, images };
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'dataset-import-'));
  isic = await startIsicMock();
});

afterAll(async () => {
  await new Promise((resolve) => isic?.server.close(resolve));
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('ISIC Archive importer', () => {
  it('follows the pages, labels by diagnosis, and reports images it cannot use', async () => {
    const dataDir = path.join(work, 'isic-data');
    const datasets = new DatasetService({ root: dataDir, nearDuplicateDistance: 4, maxImageBytes: 1_000_000, maxArchiveFiles: 100 });
    const report = await datasets.importIsic({ baseUrl: isic.url, query: 'image_type:dermoscopic', limit: 100, pageSize: 4 }, 'train');
    expect(report.items.map((i) => [i.name, i.status, i.label, i.code])).toEqual([
      ['ISIC_0000001', 'added', 'benign', null],
      ['ISIC_0000002', 'added', 'malignant', null],
      ['ISIC_0000003', 'rejected', null, 'NO_DIAGNOSIS'],
      ['ISIC_0000004', 'rejected', 'malignant', 'SOURCE_FAILED'],
      ['ISIC_0000005', 'rejected', 'benign', 'PAYLOAD_TOO_LARGE'],
      ['ISIC_0000006', 'added', 'malignant', null],
    ]);
    expect(isic.requests[0]).toBe('/api/v2/images/search/?limit=4&query=image_type%3Adermoscopic');
    expect(isic.requests.filter((r) => r.startsWith('/api/v2/images/search/'))).toHaveLength(2);
    expect(isic.requests).not.toContain('/images/ISIC_0000005.JPG');
    const listing = await datasets.index.list();
    expect(listing.images.map((i) => i.id.split('/').slice(0, 2).join('/')).sort()).toEqual(['train/benign', 'train/malignant', 'train/malignant']);
  });

  it('stops at the limit and reports a search that fails', async () => {
    const datasets = new DatasetService({ root: path.join(work, 'isic-limit'), nearDuplicateDistance: 4, maxImageBytes: 1_000_000, maxArchiveFiles: 100 });
    const limited = await datasets.importIsic({ baseUrl: isic.url, limit: 2 }, 'test');
    expect(limited.items.map((i) => i.name)).toEqual(['ISIC_0000001', 'ISIC_0000002']);
    const broken = await datasets.importIsic({ baseUrl: `${isic.url}/missing`, limit: 5 }, 'train');
    expect(broken.items).toEqual([expect.objectContaining({ status: 'rejected', code: 'SOURCE_FAILED' })]);
  });
});

describe('npm run dataset:import', () => {
  it('imports a zip and a folder, reporting each file, and exits 1 when a file was rejected', async () => {
    const archive = new yazl.ZipFile();
    archive.addBuffer(await lesion('benign', 11), 'benign/a.jpg');
    archive.addBuffer(await lesion('malignant', 12, 'png'), 'malignant/b.png');
    archive.end();
    const zipFile = path.join(work, 'lesions.zip');
    const chunks: Buffer[] = [];
    for await (const chunk of archive.outputStream) chunks.push(chunk as Buffer);
    await fs.writeFile(zipFile, Buffer.concat(chunks));
    const dataDir = path.join(work, 'cli-data');

    const first = await cli([zipFile, '--split', 'test'], dataDir);
    expect(first.stdout).toMatch(/added\s+benign\/a\.jpg -> test\/benign\/[0-9a-f]{64}\.jpg/);
    expect(first.stdout).toContain('2 added, 0 duplicates, 0 rejected');
    expect('failed' in first).toBe(false);

    const folder = path.join(work, 'folder');
    await fs.mkdir(path.join(folder, 'benign'), { recursive: true });
    await fs.writeFile(path.join(folder, 'benign', 'a.jpg'), await lesion('benign', 11));
    await fs.writeFile(path.join(folder, 'benign', 'broken.jpg'), 'nope');
    const second = await cli([folder, '--json'], dataDir);
    expect('failed' in second && second.code).toBe(1);
    const lines = second.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((l) => l.status ?? 'summary')).toEqual(['duplicate', 'rejected', 'summary']);
    expect(lines[0].duplicateOf).toMatch(/^test\/benign\//);
    expect(lines[1]).toMatchObject({ name: 'benign/broken.jpg', code: 'NOT_AN_IMAGE' });

  });

  it('imports from an ISIC Archive API given on the command line', async () => {
    const dataDir = path.join(work, 'cli-isic');
    const { stdout } = (await cli(['--isic', '--isic-url', isic.url, '--limit', '2'], dataDir)) as { stdout: string };
    expect(stdout).toContain('2 added, 0 duplicates, 0 rejected');
    expect((await fs.readdir(path.join(dataDir, 'train'))).sort()).toEqual(['benign', 'malignant']);
  });
});
