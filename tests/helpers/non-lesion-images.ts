// Pictures that are not usable lesion photos, made with sharp at test time: photographed text,
// solid colours, noise, drawn shapes, and real lesion photos spoiled by heavy blur or bad
// exposure. The input guard must refuse them.
import sharp from 'sharp';
import { createRng, type Rng } from '../../server/ml/random.js';
import { noisePixels, encodeRaw } from './images.js';

export type NonLesionKind = 'text' | 'solid' | 'noise' | 'shapes' | 'blurred-lesion' | 'overexposed-lesion' | 'underexposed-lesion';

export interface NonLesionImage {
  kind: NonLesionKind;
  name: string;
  bytes: Buffer;
}

const WORDS = 'patient referral dermatology clinic appointment history lesion biopsy report date signature results follow-up examination medication allergy consent'.split(' ');
const FONTS = ['serif', 'sans-serif', 'monospace'];

const hex = (rng: Rng, min = 0, max = 256) => `#${[0, 0, 0].map(() => Math.floor(rng.uniform(min, max)).toString(16).padStart(2, '0')).join('')}`;

/** A page of text photographed slightly askew, unevenly lit and a little soft, as a phone would. */
async function textPhoto(rng: Rng, index: number): Promise<Buffer> {
  const width = 640;
  const height = 480;
  const size = Math.round(rng.uniform(12, 30));
  const font = FONTS[index % FONTS.length]!;
  const lines = Array.from({ length: Math.floor((height - 40) / (size * 1.5)) }, (_, i) => {
    const text = Array.from({ length: 4 + rng.int(6) }, () => WORDS[rng.int(WORDS.length)]).join(' ');
    return `<text x="${20 + rng.int(20)}" y="${40 + i * size * 1.5}" font-family="${font}" font-size="${size}" fill="#1e1e28">${text}</text>`;
  });
  const paper = ['#fbfaf6', '#f1ece0', '#ffffff', '#e9eef2'][index % 4];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><radialGradient id="light" cx="${rng.uniform(0.3, 0.7)}" cy="${rng.uniform(0.3, 0.7)}" r="0.8">
      <stop offset="0" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="${rng.uniform(0.1, 0.35).toFixed(2)}"/></radialGradient></defs>
    <rect width="100%" height="100%" fill="${paper}"/>${lines.join('')}<rect width="100%" height="100%" fill="url(#light)"/></svg>`;
  return sharp(Buffer.from(svg))
    .rotate(rng.uniform(-8, 8), { background: '#55504a' })
    .blur(rng.uniform(0.4, 1.0))
    .jpeg({ quality: 85 })
    .toBuffer();
}

function solid(rng: Rng, index: number): Promise<Buffer> {
  // Skin tones, black, white and mid grey first: the plausible mistakes.
  const fixed: [number, number, number][] = [
    [224, 172, 140],
    [198, 134, 104],
    [0, 0, 0],
    [255, 255, 255],
    [128, 128, 128],
  ];
  const colour = fixed[index] ?? ([rng.int(256), rng.int(256), rng.int(256)] as [number, number, number]);
  return sharp({ create: { width: 300, height: 300, channels: 3, background: { r: colour[0], g: colour[1], b: colour[2] } } }).png().toBuffer();
}

function noise(rng: Rng, index: number): Promise<Buffer> {
  const size = 256;
  if (index % 2 === 0) return encodeRaw(noisePixels(size, size, rng.int(1e9)), size, size, 3, 'png');
  // Smoother, grey "film grain" noise: a sum of uniforms around mid grey.
  const grey = Uint8Array.from({ length: size * size }, () => Math.round((rng.next() + rng.next() + rng.next()) * 85));
  return encodeRaw(grey, size, size, 1, 'png');
}

/** Circles, rectangles and polygons in random colours on a plain background. */
function shapes(rng: Rng): Promise<Buffer> {
  const width = 400;
  const height = 400;
  const items = Array.from({ length: 3 + rng.int(8) }, () => {
    const fill = hex(rng);
    switch (rng.int(3)) {
      case 0:
        return `<circle cx="${rng.int(width)}" cy="${rng.int(height)}" r="${20 + rng.int(100)}" fill="${fill}"/>`;
      case 1:
        return `<rect x="${rng.int(width)}" y="${rng.int(height)}" width="${20 + rng.int(180)}" height="${20 + rng.int(180)}" fill="${fill}"/>`;
      default:
        return `<polygon points="${Array.from({ length: 3 + rng.int(4) }, () => `${rng.int(width)},${rng.int(height)}`).join(' ')}" fill="${fill}"/>`;
    }
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="${hex(rng, 150)}"/>${items.join('')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export interface NonLesionOptions {
  /** Images per generated kind (text, solid, noise, shapes). */
  perKind?: number;
  /** Lesion photos to spoil (blurred, over- and under-exposed); none = those kinds are left out. */
  lesions?: Buffer[];
  seed?: number;
}

export async function createNonLesionImages(options: NonLesionOptions = {}): Promise<NonLesionImage[]> {
  const { perKind = 10, lesions = [], seed = 5 } = options;
  const rng = createRng(seed);
  const images: NonLesionImage[] = [];
  for (let i = 0; i < perKind; i++) {
    images.push({ kind: 'text', name: `text-${i}.jpg`, bytes: await textPhoto(rng, i) });
    images.push({ kind: 'solid', name: `solid-${i}.png`, bytes: await solid(rng, i) });
    images.push({ kind: 'noise', name: `noise-${i}.png`, bytes: await noise(rng, i) });
    images.push({ kind: 'shapes', name: `shapes-${i}.png`, bytes: await shapes(rng) });
  }
  for (const [i, lesion] of lesions.entries()) {
    const { width = 224, height = 224 } = await sharp(lesion).metadata();
    // Heavy blur: sigma a twentieth of the shorter side (11 px at 224 px) wipes out the border and texture.
    const sigma = Math.max(4, Math.min(width, height) / 20);
    images.push({ kind: 'blurred-lesion', name: `blurred-${i}.jpg`, bytes: await sharp(lesion).blur(sigma).jpeg().toBuffer() });
    images.push({ kind: 'overexposed-lesion', name: `overexposed-${i}.jpg`, bytes: await sharp(lesion).linear(2.4, 70).jpeg().toBuffer() });
    images.push({ kind: 'underexposed-lesion', name: `underexposed-${i}.jpg`, bytes: await sharp(lesion).linear(0.18, 0).jpeg().toBuffer() });
  }
  return images;
}
