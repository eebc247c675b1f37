// Small previews of dataset and review images as data URLs, so the dashboard shows them with
// no extra route and no way to fetch anything but the images it was given. Recently made ones
// are remembered by content hash.
import sharp from 'sharp';

const MAX_REMEMBERED = 512;

export class Thumbnails {
  private readonly cache = new Map<string, string>();

  constructor(private readonly maxPixels: number) {}

  /** A `size` x `size` centre crop as a WebP data URL. */
  async dataUrl(key: string, input: string | Buffer, size: number): Promise<string> {
    const cacheKey = `${key}:${size}`;
    const known = this.cache.get(cacheKey);
    if (known) {
      // Map order is insertion order: re-inserting marks it as recently used.
      this.cache.delete(cacheKey);
      this.cache.set(cacheKey, known);
      return known;
    }
    const bytes = await sharp(input, { limitInputPixels: this.maxPixels, pages: 1 }).autoOrient().resize(size, size, { fit: 'cover' }).webp({ quality: 70 }).toBuffer();
    const url = `data:image/webp;base64,${bytes.toString('base64')}`;
    this.cache.set(cacheKey, url);
    if (this.cache.size > MAX_REMEMBERED) this.cache.delete(this.cache.keys().next().value!);
    return url;
  }
}
