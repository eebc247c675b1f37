// A corpus of hostile uploads against the real server with a trained model. Every refused input
// gets a coded error, the server keeps classifying good images after each one, and nothing is
// written: the model folder, the dataset, the run history and the temp folder stay as they were.
// Odd-but-valid images (16-bit, alpha, greyscale, CMYK, animated, with trailing data) are
// accepted and classified like their plain equivalents.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToyDataset, encodeRaw, noiseImage, noisePixels, pngDeclaringSize, type ToyDataset } from '../helpers/images.js';
import { ADMIN_TOKEN, startTestApp, trainThroughService, type TestApp } from '../api/helpers.js';
import { snapshotTree, treeChanges, type TreeSnapshot } from './fs-snapshot.js';
import { CLASSIFY_MAP, CLASSIFY_OPERATIONS, classifyParts, multipartBody, postRaw, type Part, type RawResponse } from './multipart.js';

const MAX_UPLOAD_BYTES = 200_000;
const MAX_FILES = 3;
const SIZE = 64;

let root: string;
let tmp: string;
let previousTmp: string | undefined;
let toy: ToyDataset;
let app: TestApp;
let lesion: Buffer;
let before: TreeSnapshot;
let runsBefore: unknown;

const dirsToWatch = () => [app.dirs.models, app.dirs.data, path.dirname(app.dirs.store), tmp];
// SQLite's shared-memory index changes when the run history is read.
const ignoreShm = (file: string) => file.endsWith('-shm');

const send = (parts: Part[], headers?: Record<string, string>) => postRaw(app.url, multipartBody(parts), headers);
const classify = (bytes: Buffer, filename = 'lesion.jpg') => send(classifyParts(bytes, filename));

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'hostile-uploads-'));
  // Everything this process puts in the temp folder from here on lands where the test can see it.
  tmp = path.join(root, 'tmp');
  await fs.mkdir(tmp);
  previousTmp = process.env.TMPDIR;
  process.env.TMPDIR = tmp;

  toy = await createToyDataset({ root: path.join(root, 'data'), splits: { train: 16, test: 4 }, size: SIZE, seed: 21 });
  app = await startTestApp({
    dataDir: toy.root,
    modelsDir: path.join(root, 'models'),
    storeFile: path.join(root, 'store', 'runs.sqlite'),
    env: { ADMIN_TOKEN, MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES), MAX_FILES: String(MAX_FILES) },
  });
  // The smallest architecture trains in seconds; the upload handling under test does not depend on it.
  await trainThroughService(app, { architecture: 'original-cnn', imageSize: 32, epochs: 2, batchSize: 8, augment: false });
  expect(app.services.models.status().ready).toBe(true);
  // A picture the served model answers (an input guard may refuse some as unlike its training images).
  for (const file of [...toy.files.filter((f) => f.split === 'test'), ...toy.files.filter((f) => f.split === 'train')]) {
    const bytes = await fs.readFile(file.path);
    if (!(await classify(bytes)).json?.errors) {
      lesion = bytes;
      break;
    }
  }
  expect(lesion, 'no toy image was classified').toBeDefined();

  runsBefore = app.services.runs.list();
  before = await snapshotTree(dirsToWatch(), ignoreShm);
});

afterAll(async () => {
  await app?.close();
  if (previousTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmp;
  if (root) await fs.rm(root, { recursive: true, force: true });
});

function errorOf(response: RawResponse): { code?: string; reason?: string; message: string } {
  expect(response.json, `not a GraphQL response (HTTP ${response.status}): ${response.text.slice(0, 300)}`).not.toBeNull();
  const errors = response.json!.errors ?? [];
  expect(errors, `expected an error, got ${response.text.slice(0, 300)}`).toHaveLength(1);
  expect(response.json!.data?.classify ?? null).toBeNull();
  return { code: errors[0].extensions?.code, reason: errors[0].extensions?.reason, message: errors[0].message };
}

async function expectStillServing(): Promise<void> {
  const response = await classify(lesion);
  expect(response.json?.errors, response.text.slice(0, 300)).toBeUndefined();
  expect(response.json!.data!.classify.modelVersion).toBe('v1');
}

// -- the corpus ---------------------------------------------------------------------------------

interface Refusal {
  name: string;
  request: () => Promise<RawResponse>;
  code: string;
  reason?: string;
  /** HTTP status when the request is refused before GraphQL runs. */
  status?: number;
}

async function truncated(format: 'jpeg' | 'png'): Promise<Buffer> {
  const whole = await noiseImage(128, 128, 11, format);
  return whole.subarray(0, whole.length >> 1);
}

const refusals: Refusal[] = [
  { name: 'zero bytes', request: () => classify(Buffer.alloc(0), 'empty.jpg'), code: 'BAD_USER_INPUT', reason: 'EMPTY_FILE' },
  { name: 'random bytes named .jpg', request: () => classify(Buffer.from(noisePixels(64, 64, 5)), 'photo.jpg'), code: 'BAD_USER_INPUT', reason: 'NOT_AN_IMAGE' },
  { name: 'text named .png', request: () => classify(Buffer.from('just some notes\n'.repeat(40)), 'notes.png'), code: 'BAD_USER_INPUT', reason: 'NOT_AN_IMAGE' },
  { name: 'truncated JPEG', request: async () => classify(await truncated('jpeg'), 'cut.jpg'), code: 'BAD_USER_INPUT', reason: 'TRUNCATED_IMAGE' },
  { name: 'truncated PNG', request: async () => classify(await truncated('png'), 'cut.png'), code: 'BAD_USER_INPUT', reason: 'TRUNCATED_IMAGE' },
  {
    name: 'polyglot: JPEG header, script body',
    request: async () => {
      const header = (await noiseImage(64, 64, 3, 'jpeg')).subarray(0, 20);
      return classify(Buffer.concat([header, Buffer.from('<?php system($_GET["c"]); ?><script>alert(1)</script>'.repeat(40))]), 'shell.php.jpg');
    },
    code: 'BAD_USER_INPUT',
    reason: 'NOT_AN_IMAGE',
  },
  { name: 'PNG declaring 100000 x 100000 pixels', request: () => classify(pngDeclaringSize(100_000, 100_000), 'bomb.png'), code: 'BAD_USER_INPUT', reason: 'IMAGE_TOO_LARGE' },
  { name: 'PNG declaring 8000 x 8000 pixels, just over the limit', request: () => classify(pngDeclaringSize(8000, 8000), 'bomb.png'), code: 'BAD_USER_INPUT', reason: 'IMAGE_TOO_LARGE' },
  // Beyond what the PNG decoder itself accepts in a header.
  { name: 'PNG declaring 2^31-1 x 1 pixels', request: () => classify(pngDeclaringSize(2 ** 31 - 1, 1), 'line.png'), code: 'BAD_USER_INPUT', reason: 'NOT_AN_IMAGE' },
  {
    name: 'SVG with a script',
    request: () => classify(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" onload="alert(1)"><rect width="64" height="64"/></svg>'), 'x.svg'),
    code: 'BAD_USER_INPUT',
    reason: 'UNSUPPORTED_FORMAT',
  },
  { name: 'image below the minimum side', request: async () => classify(await encodeRaw(noisePixels(8, 8, 1), 8, 8, 3, 'png'), 'tiny.png'), code: 'BAD_USER_INPUT', reason: 'IMAGE_TOO_SMALL' },
  {
    name: 'valid image over MAX_UPLOAD_BYTES',
    request: async () => {
      const big = await noiseImage(300, 300, 4, 'png');
      expect(big.length).toBeGreaterThan(MAX_UPLOAD_BYTES);
      return classify(big, 'big.png');
    },
    code: 'PAYLOAD_TOO_LARGE',
  },
  {
    name: 'more files than MAX_FILES',
    request: () =>
      send([
        { name: 'operations', body: JSON.stringify({ query: 'mutation ($images: [Upload!]!) { classifyBatch(images: $images) { index } }', variables: { images: Array(MAX_FILES + 1).fill(null) } }) },
        { name: 'map', body: JSON.stringify(Object.fromEntries(Array.from({ length: MAX_FILES + 1 }, (_, i) => [String(i), [`variables.images.${i}`]]))) },
        ...Array.from({ length: MAX_FILES + 1 }, (_, i) => ({ name: String(i), filename: `${i}.jpg`, body: lesion })),
      ]),
    code: 'TOO_MANY_FILES',
    status: 413,
  },
  { name: 'no operations field', request: () => send([{ name: 'map', body: CLASSIFY_MAP }, { name: '0', filename: 'a.jpg', body: lesion }]), code: 'BAD_REQUEST', status: 400 },
  { name: 'no map field', request: () => send([{ name: 'operations', body: CLASSIFY_OPERATIONS }, { name: '0', filename: 'a.jpg', body: lesion }]), code: 'BAD_REQUEST', status: 400 },
  { name: 'operations not JSON', request: () => send([{ name: 'operations', body: '{"query": "mutation' }, { name: 'map', body: CLASSIFY_MAP }, { name: '0', filename: 'a.jpg', body: lesion }]), code: 'BAD_REQUEST', status: 400 },
  { name: 'operations null', request: () => send([{ name: 'operations', body: 'null' }, { name: 'map', body: CLASSIFY_MAP }, { name: '0', filename: 'a.jpg', body: lesion }]), code: 'BAD_REQUEST', status: 400 },
  { name: 'map not JSON', request: () => send([{ name: 'operations', body: CLASSIFY_OPERATIONS }, { name: 'map', body: '{0: variables.image' }, { name: '0', filename: 'a.jpg', body: lesion }]), code: 'BAD_REQUEST', status: 400 },
  { name: 'map an array', request: () => send([{ name: 'operations', body: CLASSIFY_OPERATIONS }, { name: 'map', body: '["variables.image"]' }, { name: '0', filename: 'a.jpg', body: lesion }]), code: 'BAD_REQUEST', status: 400 },
  { name: 'map entry not a list', request: () => send([{ name: 'operations', body: CLASSIFY_OPERATIONS }, { name: 'map', body: '{"0": "variables.image"}' }, { name: '0', filename: 'a.jpg', body: lesion }]), code: 'BAD_REQUEST', status: 400 },
  { name: 'map path to nowhere', request: () => send([{ name: 'operations', body: CLASSIFY_OPERATIONS }, { name: 'map', body: '{"0": ["variables.nope.deeper"]}' }, { name: '0', filename: 'a.jpg', body: lesion }]), code: 'BAD_REQUEST', status: 400 },
  {
    name: 'map path into __proto__',
    request: () => send([{ name: 'operations', body: CLASSIFY_OPERATIONS }, { name: 'map', body: '{"0": ["variables.__proto__.polluted"]}' }, { name: '0', filename: 'a.jpg', body: lesion }]),
    code: 'BAD_REQUEST',
    status: 400,
  },
  { name: 'file named in map but never sent', request: () => send([{ name: 'operations', body: CLASSIFY_OPERATIONS }, { name: 'map', body: CLASSIFY_MAP }]), code: 'BAD_REQUEST' },
  { name: 'file before operations and map', request: () => send([{ name: '0', filename: 'a.jpg', body: lesion }, { name: 'operations', body: CLASSIFY_OPERATIONS }, { name: 'map', body: CLASSIFY_MAP }]), code: 'BAD_REQUEST', status: 400 },
  // busboy refuses part headers over its limit; the parser's second error used to end the process.
  { name: 'file name of 20000 characters', request: () => classify(lesion, `${'a'.repeat(20_000)}.jpg`), code: 'BAD_REQUEST' },
  { name: 'body cut off inside the file', request: () => postRaw(app.url, multipartBody(classifyParts(lesion)).subarray(0, 400)), code: 'BAD_REQUEST' },
  { name: 'empty body', request: () => postRaw(app.url, ''), code: 'BAD_REQUEST', status: 400 },
  { name: 'multipart without a boundary', request: () => postRaw(app.url, 'garbage', { 'content-type': 'multipart/form-data' }), code: 'BAD_REQUEST', status: 400 },
  { name: 'no CSRF preflight header', request: () => postRaw(app.url, multipartBody(classifyParts(lesion)), { 'apollo-require-preflight': '' }), code: 'BAD_REQUEST', status: 400 },
  {
    name: 'upload sent as a JSON string instead of a file',
    request: async () => {
      const response = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: JSON.parse(CLASSIFY_OPERATIONS).query, variables: { image: lesion.toString('base64') } }) });
      const text = await response.text();
      return { status: response.status, text, json: JSON.parse(text) };
    },
    code: 'BAD_USER_INPUT',
    status: 400,
  },
];

describe('hostile uploads', () => {
  it.each(refusals.map((r) => [r.name, r] as const))('refuses %s with a code and keeps serving', async (_name, refusal) => {
    const response = await refusal.request();
    const error = errorOf(response);
    expect(error.code, error.message).toBe(refusal.code);
    if (refusal.reason) expect(error.reason, error.message).toBe(refusal.reason);
    expect(error.message.length).toBeGreaterThan(0);
    if (refusal.status) expect(response.status).toBe(refusal.status);
    expect(response.status).toBeLessThan(500);
    await expectStillServing();
  });

  it('keeps the parser from touching Object.prototype', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses the oversized body before reading it when the declared length is already too large', async () => {
    const body = multipartBody(classifyParts(Buffer.alloc(MAX_FILES * MAX_UPLOAD_BYTES + 2 * 262_144 + 200_000, 7), 'huge.jpg'));
    const response = await postRaw(app.url, body);
    expect(response.status).toBe(413);
    expect(errorOf(response).code).toBe('PAYLOAD_TOO_LARGE');
    await expectStillServing();
  });
});

// -- odd but valid images -------------------------------------------------------------------------

let acceptedOddImages = 0;
let judgedUnsuitable = 0;

/** What the server made of an upload: a probability, or a refusal of the picture's content by the input guard. */
type Outcome = { probability: number; fileName: string | null; format: string } | { unsuitable: string };

async function outcomeOf(bytes: Buffer, filename: string): Promise<Outcome> {
  const response = await classify(bytes, filename);
  acceptedOddImages++;
  const error = response.json?.errors?.[0];
  // A judgement on what the picture shows is still a picture read correctly; a format problem is not.
  if (error?.extensions?.code === 'UNSUITABLE_IMAGE') {
    judgedUnsuitable++;
    return { unsuitable: error.extensions.reason ?? '' };
  }
  expect(response.json?.errors, `${filename}: ${response.text.slice(0, 300)}`).toBeUndefined();
  const result = response.json!.data!.classify;
  return { probability: result.probability, fileName: result.fileName, format: result.input.format };
}

/** The same answer for a format variant as for its plain equivalent: equal probabilities (within `tolerance`) or the same refusal. */
function expectSameAnswer(variant: Outcome, plain: Outcome, tolerance: number): void {
  if ('unsuitable' in plain || 'unsuitable' in variant) {
    expect(variant).toEqual(plain);
    return;
  }
  expect(Math.abs(variant.probability - plain.probability), `${variant.probability} vs ${plain.probability}`).toBeLessThanOrEqual(tolerance);
}

describe('odd but valid images get the answer their plain equivalent gets', () => {
  let pixels: Uint8Array;
  let plain: Outcome;

  beforeAll(async () => {
    pixels = new Uint8Array(await sharp(lesion).removeAlpha().toColourspace('srgb').resize(SIZE, SIZE).raw().toBuffer());
    plain = await outcomeOf(await encodeRaw(pixels, SIZE, SIZE, 3, 'png'), 'reference.png');
  });

  it('a 16-bit PNG', async () => {
    const deep = Uint16Array.from(pixels, (v) => v * 257);
    const png16 = await sharp(deep, { raw: { width: SIZE, height: SIZE, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png16).metadata()).depth).toBe('ushort');
    // Resized at 16 bits, then reduced: pixels within one level of the 8-bit path.
    expectSameAnswer(await outcomeOf(png16, 'deep.png'), plain, 0.01);
  });

  it('an opaque RGBA PNG', async () => {
    const rgba = new Uint8Array(SIZE * SIZE * 4);
    for (let i = 0; i < SIZE * SIZE; i++) rgba.set([pixels[3 * i]!, pixels[3 * i + 1]!, pixels[3 * i + 2]!, 255], 4 * i);
    expectSameAnswer(await outcomeOf(await encodeRaw(rgba, SIZE, SIZE, 4, 'png'), 'alpha.png'), plain, 1e-5);
  });

  it('a half-transparent PNG, like its colours blended onto white', async () => {
    const rgba = new Uint8Array(SIZE * SIZE * 4);
    const blended = new Uint8Array(SIZE * SIZE * 3);
    for (let i = 0; i < SIZE * SIZE; i++) {
      rgba.set([pixels[3 * i]!, pixels[3 * i + 1]!, pixels[3 * i + 2]!, 128], 4 * i);
      for (let c = 0; c < 3; c++) blended[3 * i + c] = Math.round((pixels[3 * i + c]! * 128 + 255 * 127) / 255);
    }
    expectSameAnswer(await outcomeOf(await encodeRaw(rgba, SIZE, SIZE, 4, 'png'), 'half.png'), await outcomeOf(await encodeRaw(blended, SIZE, SIZE, 3, 'png'), 'blend.png'), 0.01);
  });

  it('a greyscale PNG, like the same greys in RGB', async () => {
    const grey = Uint8Array.from({ length: SIZE * SIZE }, (_, i) => Math.round((pixels[3 * i]! + pixels[3 * i + 1]! + pixels[3 * i + 2]!) / 3));
    const rgbGrey = Uint8Array.from({ length: SIZE * SIZE * 3 }, (_, i) => grey[Math.floor(i / 3)]!);
    expectSameAnswer(await outcomeOf(await encodeRaw(grey, SIZE, SIZE, 1, 'png'), 'grey.png'), await outcomeOf(await encodeRaw(rgbGrey, SIZE, SIZE, 3, 'png'), 'grey-rgb.png'), 1e-5);
  });

  it('a CMYK JPEG, close to the RGB JPEG', async () => {
    const raw = sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 3 } });
    const cmyk = await raw.clone().toColourspace('cmyk').jpeg({ quality: 98 }).toBuffer();
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const fromCmyk = await outcomeOf(cmyk, 'cmyk.jpg');
    if ('format' in fromCmyk) expect(fromCmyk.format).toBe('jpeg');
    // Through a CMYK profile and back is close, not exact; misread CMYK (inverted) would be far off.
    expectSameAnswer(fromCmyk, await outcomeOf(await raw.clone().jpeg({ quality: 98 }).toBuffer(), 'rgb.jpg'), 0.1);
  });

  it('an animated GIF, like its first frame', async () => {
    const first = await encodeRaw(pixels, SIZE, SIZE, 3, 'png');
    const second = await sharp({ create: { width: SIZE, height: SIZE, channels: 3, background: '#d8b090' } }).png().toBuffer();
    const gif = await sharp([first, second], { join: { animated: true } }).gif().toBuffer();
    expect((await sharp(gif).metadata()).pages).toBe(2);
    const firstFrame = await sharp(gif, { page: 0 }).png().toBuffer();
    expectSameAnswer(await outcomeOf(gif, 'anim.gif'), await outcomeOf(firstFrame, 'first-frame.png'), 1e-4);
  });

  it('a JPEG with data appended (a JPEG/ZIP polyglot), like the JPEG alone', async () => {
    const jpeg = await encodeRaw(pixels, SIZE, SIZE, 3, 'jpeg');
    const zipTail = Buffer.concat([Buffer.from('PK\u0003\u0004', 'latin1'), Buffer.from('<html><script>alert(1)</script></html>'.repeat(20))]);
    expectSameAnswer(await outcomeOf(Buffer.concat([jpeg, zipTail]), 'polyglot.jpg'), await outcomeOf(jpeg, 'plain.jpg'), 1e-6);
  });

  it('reports only the last segment of a file name with path characters, and writes nowhere', async () => {
    const marker = `escape-${process.pid}-${Date.now()}`;
    for (const name of [`../../../../${marker}.jpg`, `..\\..\\..\\${marker}.jpg`, `/etc/${marker}.jpg`, `C:\\Windows\\${marker}.jpg`]) {
      const outcome = await outcomeOf(lesion, name);
      expect('fileName' in outcome && outcome.fileName).toBe(`${marker}.jpg`);
    }
    const odd = await outcomeOf(lesion, `%2e%2e%2f${marker}\u202egpj.exe`);
    expect('fileName' in odd && odd.fileName).toBe(`%2e%2e%2f${marker}\u202egpj.exe`);
    for (const dir of [root, path.dirname(root), process.cwd(), '/etc']) {
      expect((await fs.readdir(dir)).filter((entry) => entry.includes(marker))).toEqual([]);
    }
  });
});

describe('after the whole corpus', () => {
  it('has written nothing: models, dataset, run history and temp folder are unchanged', async () => {
    const after = await snapshotTree(dirsToWatch(), ignoreShm);
    expect(treeChanges(before, after)).toEqual([]);
    expect(app.services.runs.list()).toEqual(runsBefore);
  });

  it('counted the refusals made before GraphQL ran', async () => {
    const text = await (await fetch(`${app.origin}/metrics`)).text();
    const refused = (code: string) => Number(new RegExp(`^graphql_requests_refused_total\\{code="${code}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    // Refused in the upload middleware: the ones answered with an HTTP error status, plus the oversized body.
    expect(refused('BAD_REQUEST')).toBe(refusals.filter((r) => r.code === 'BAD_REQUEST' && r.status === 400).length);
    expect(refused('TOO_MANY_FILES')).toBe(1);
    expect(refused('PAYLOAD_TOO_LARGE')).toBe(1);
    console.log(
      `hostile uploads: ${refusals.length + 1} hostile inputs refused with a code, ${acceptedOddImages} odd-but-valid uploads read and answered like their plain equivalents (${judgedUnsuitable} of them judged unsuitable by the input guard); the server kept serving after each`,
    );
  });
});

