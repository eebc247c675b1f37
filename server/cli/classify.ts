// npm run classify -- <image>... [--model <version>] [--explain <out-dir>] [--json]
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DISCLAIMER } from '../ml/risk.js';
import { Screener, type Screening } from '../ml/screening.js';
import { startCli, loadClassifier, runCli } from './common.js';
import { screeningSettings } from '../config.js';

const usage = 'usage: npm run classify -- <image>... [--model <version>] [--explain <out-dir>] [--json]';

/** Writes `<out-dir>/<image name>.heatmap.png` (the overlay) and returns its path. */
async function writeHeatmap(outDir: string, file: string, result: Screening): Promise<string | null> {
  if (!result.explanation) return null;
  await fs.mkdir(outDir, { recursive: true });
  const target = path.join(outDir, `${path.parse(file).name}.heatmap.png`);
  await fs.writeFile(target, result.explanation.overlayPng);
  return target;
}

function describe(result: Screening): string {
  const { uncertainty: u, guard } = result;
  const band = result.riskBand === 'uncertain' ? 'uncertain (refer)' : result.riskBand;
  const check = guard.status === 'passed' ? `passed (distance ${guard.distance!.toFixed(2)}, limit ${guard.maxDistance!.toFixed(2)})` : `off: ${guard.note}`;
  return (
    `${result.label} p=${result.probability.toFixed(4)} risk=${band} ${u ? `${(u.level * 100).toFixed(0)}% interval [${u.lower.toFixed(4)}, ${u.upper.toFixed(4)}]` : 'no interval'} ` +
    `(threshold ${result.threshold.toFixed(4)}, model ${result.modelVersion}, ${result.inferenceMs.toFixed(1)} ms); input check ${check}`
  );
}

runCli(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { model: { type: 'string' }, explain: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length === 0) throw new Error(usage);
  const { config } = await startCli();
  const classifier = await loadClassifier(config, values.model);
  classifier.warmUp();
  const screener = new Screener(classifier, screeningSettings(config));
  const limits = { maxPixels: config.maxImagePixels, minSide: config.minImageSide };
  let failures = 0;
  for (const file of positionals) {
    try {
      const bytes = await fs.readFile(file).catch((error: NodeJS.ErrnoException) => {
        throw Object.assign(new Error(`cannot read the file (${error.code ?? error.message})`), { code: 'UNREADABLE_FILE' });
      });
      const result = await screener.screen(bytes, { explain: values.explain !== undefined }, limits);
      const heatmap = values.explain !== undefined ? await writeHeatmap(values.explain, file, result) : null;
      if (values.json) {
        const { explanation, ...rest } = result;
        const explained = explanation ? { layer: explanation.map.layer, map: { width: explanation.map.width, height: explanation.map.height, values: Array.from(explanation.map.values) }, file: heatmap } : null;
        process.stdout.write(`${JSON.stringify({ file, ...rest, explanation: explained })}\n`);
      } else {
        process.stdout.write(`${file}: ${describe(result)}${heatmap ? `; heatmap ${heatmap}` : ''}\n`);
      }
    } catch (error) {
      failures++;
      const code = (error as { code?: string }).code ?? 'ERROR';
      const reason = (error as { reason?: string }).reason;
      const message = error instanceof Error ? error.message : String(error);
      if (values.json) process.stdout.write(`${JSON.stringify({ file, error: { code, ...(reason ? { reason } : {}), message } })}\n`);
      else process.stdout.write(`${file}: ${code}${reason ? ` (${reason})` : ''}: ${message}\n`);
    }
  }
  if (!values.json) process.stdout.write(`\n${DISCLAIMER}\n`);
  if (failures > 0) process.exitCode = 1;
});
