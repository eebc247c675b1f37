// A one-line progress bar on stderr (stdout stays clean for --json output).
export class ProgressBar {
  private lastDraw = 0;
  private readonly interactive = process.stderr.isTTY === true;

  constructor(private readonly label: string, private readonly width = 28) {}

  update(done: number, total: number, suffix = ''): void {
    const now = Date.now();
    // Non-interactive logs (CI) get a line every few seconds instead of a redraw storm.
    if (done < total && now - this.lastDraw < (this.interactive ? 100 : 5000)) return;
    this.lastDraw = now;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(fraction * this.width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(this.width - filled)}`;
    const line = `${this.label} [${bar}] ${done}/${total} ${suffix}`;
    process.stderr.write(this.interactive ? `\r${line}\x1b[K` : `${line}\n`);
  }

  finish(message = ''): void {
    if (this.interactive) process.stderr.write('\r\x1b[K');
    if (message) process.stderr.write(`${this.label} ${message}\n`);
  }
}

export function formatMetric(value: number | undefined, digits = 3): string {
  return value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);
}
