// Hand-built multipart/form-data bodies: FormData only writes well-formed requests, and the
// reliability tests need the malformed ones too (missing or misordered fields, odd file names,
// bodies cut short).
export interface Part {
  name: string;
  /** Present for a file part, written verbatim into the Content-Disposition header. */
  filename?: string;
  body: string | Buffer;
}

export const BOUNDARY = 'reliability-boundary-7f3a9c';

export function multipartBody(parts: Part[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const file = part.filename === undefined ? '' : `; filename="${part.filename}"\r\nContent-Type: application/octet-stream`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"${file}\r\n\r\n`, 'utf8'));
    chunks.push(Buffer.isBuffer(part.body) ? part.body : Buffer.from(part.body, 'utf8'));
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

export interface RawResponse {
  status: number;
  text: string;
  json: { data?: Record<string, any> | null; errors?: { message: string; extensions?: { code?: string; reason?: string } }[] } | null;
}

/** POSTs `body` as it is; `contentType` defaults to multipart with BOUNDARY. */
export async function postRaw(url: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'apollo-require-preflight': 'true', ...headers },
    body,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let json: RawResponse['json'] = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Left null: the caller's expectation on `json` reports the text.
  }
  return { status: response.status, text, json };
}

export const CLASSIFY_OPERATIONS = JSON.stringify({
  query: 'mutation Classify($image: Upload!) { classify(image: $image) { probability fileName modelVersion input { width height format } } }',
  variables: { image: null },
});
export const CLASSIFY_MAP = JSON.stringify({ 0: ['variables.image'] });

/** operations + map + one file part named "0": the shape every well-formed single upload has. */
export function classifyParts(file: Buffer, filename = 'lesion.jpg'): Part[] {
  return [
    { name: 'operations', body: CLASSIFY_OPERATIONS },
    { name: 'map', body: CLASSIFY_MAP },
    { name: '0', filename, body: file },
  ];
}
