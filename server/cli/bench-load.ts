// HTTP load for the API benchmarks: a multipart upload built once and sent as often as needed
// over keep-alive connections, from one client at a time or from many closed loops at once.
import http from 'node:http';

export interface Answer {
  status: number;
  body: string;
}

export function request(agent: http.Agent, url: URL, options: { method: string; headers?: http.OutgoingHttpHeaders; body?: Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method, headers: options.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A multipart/form-data body: text fields, then one JPEG file. */
export function multipartUpload(fields: Record<string, string>, file: { field: string; bytes: Buffer }): { headers: http.OutgoingHttpHeaders; body: Buffer } {
  const boundary = `----bench${Date.now().toString(16)}`;
  const head =
    Object.entries(fields)
      .map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`)
      .join('') + `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="lesion.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
  const body = Buffer.concat([Buffer.from(head), file.bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length }, body };
}

/** Sends one request; true when it was answered as expected. */
export type Send = () => Promise<boolean>;

export interface LoadResult {
  /** Latency of every counted request, ms. */
  times: number[];
  imagesPerSec: number;
  errors: number;
}

/** Sequential requests from one client: latency and the rate one client gets. */
export async function oneClient(send: Send, count: number): Promise<LoadResult> {
  const times: number[] = [];
  let errors = 0;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    if (!(await send())) errors++;
    times.push(performance.now() - t);
  }
  return { times, imagesPerSec: count / ((performance.now() - started) / 1000), errors };
}

/**
 * `clients` closed loops for warm-up + window. Throughput counts the answers that arrive inside
 * the window; latency and errors, the requests sent inside it (they are waited for).
 */
export async function manyClients(send: Send, clients: number, warmUpMs: number, windowMs: number): Promise<LoadResult> {
  const windowStart = performance.now() + warmUpMs;
  const windowEnd = windowStart + windowMs;
  const times: number[] = [];
  let answeredInWindow = 0;
  let errors = 0;
  const loop = async () => {
    while (performance.now() < windowEnd) {
      const t = performance.now();
      const ok = await send();
      const done = performance.now();
      if (done >= windowStart && done <= windowEnd) answeredInWindow++;
      if (t >= windowStart) {
        times.push(done - t);
        if (!ok) errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, loop));
  return { times, imagesPerSec: answeredInWindow / (windowMs / 1000), errors };
}

/** How long the API benchmarks run: short in quick (smoke) mode. */
export function loadPlan(quick: boolean) {
  return {
    warmUpRequests: quick ? 5 : 20,
    sequentialRequests: quick ? 30 : 300,
    concurrentWarmUpMs: quick ? 500 : 1500,
    concurrentWindowMs: quick ? 1500 : 8000,
  };
}
