// npm run classify -- <image>... [--model <version>] [--json]
import fs from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DISCLAIMER } from '../ml/risk.js';
import { startCli, loadClassifier, runCli } from './common.js';

runCli(async () => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { model: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length === 0) throw new Error('usage: npm run classify -- <image>... [--model <version>] [--json]');
  const { config } = await startCli();
  const classifier = await loadClassifier(config, values.model);
  classifier.warmUp();
  let failures = 0;
  for (const file of positionals) {
    try {
      const bytes = await fs.readFile(file).catch((error: NodeJS.ErrnoException) => {
        throw Object.assign(new Error(`cannot read the file (${error.code ?? error.message})`), { code: 'UNREADABLE_FILE' });
      });
      const result = await classifier.classify(bytes);
      if (values.json) process.stdout.write(`${JSON.stringify({ file, ...result })}\n`);
      else
        process.stdout.write(
          `${file}: ${result.label} p=${result.probability.toFixed(4)} risk=${result.riskBand} (threshold ${result.threshold.toFixed(4)}, model ${result.modelVersion}, ${result.inferenceMs.toFixed(1)} ms)\n`,
        );
    } catch (error) {
      failures++;
      const code = (error as { code?: string }).code ?? 'ERROR';
      const message = error instanceof Error ? error.message : String(error);
      if (values.json) process.stdout.write(`${JSON.stringify({ file, error: { code, message } })}\n`);
      else process.stdout.write(`${file}: ${code}: ${message}\n`);
    }
  }
  if (!values.json) process.stdout.write(`\n${DISCLAIMER}\n`);
  if (failures > 0) process.exitCode = 1;
});
