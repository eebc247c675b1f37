// npm run evaluate -- --data <folder with class subfolders> [--model <version>] [--views all|single] [--ci] [--json]
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadImageFolder } from '../ml/dataset.js';
import { evaluateScores } from '../ml/metrics.js';
import { predictScores } from '../ml/predict.js';
import { singleView } from '../ml/tta.js';
import { metricIntervals } from '../ml/metric-intervals.js';
import { scoringOf } from '../ml/classifier.js';
import { startCli, loadClassifier, runCli } from './common.js';
import { ProgressBar } from './progress.js';
import { printMetrics } from './print-metrics.js';

runCli(async () => {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      model: { type: 'string' },
      'positive-class': { type: 'string' },
      json: { type: 'boolean', default: false },
      ci: { type: 'boolean', default: false },
      // 'single' scores each image once, as a server with SCREENING_VIEWS=single does.
      views: { type: 'string', default: 'all' },
    },
  });
  if (!values.data) throw new Error('usage: npm run evaluate -- --data <folder with class subfolders> [--model <version>] [--views all|single] [--ci] [--json]');
  if (values.views !== 'all' && values.views !== 'single') throw new Error(`--views must be all or single, got "${values.views}"`);
  const { config, backend } = await startCli();
  const classifier = await loadClassifier(config, values.model);
  const { metadata } = classifier;
  const progress = new ProgressBar('decoding');
  const images = await loadImageFolder(path.resolve(values.data), {
    imageSize: metadata.imageSize,
    positiveClass: values['positive-class'] ?? metadata.positiveClass,
    onProgress: (done, total) => progress.update(done, total),
  });
  progress.finish();
  for (const { file, reason } of images.skipped) process.stderr.write(`skipped ${file}: ${reason}\n`);
  const started = performance.now();
  const scoring = { ...scoringOf(metadata), ...(values.views === 'single' && { views: singleView }) };
  const { views } = scoring;
  const scores = predictScores(classifier.model, images, 64, scoring);
  const seconds = (performance.now() - started) / 1000;
  const metrics = evaluateScores(images.labels, scores, metadata.threshold);
  // 95 % stratified bootstrap intervals, on request (2000 resamples take a few seconds).
  const intervals = values.ci ? metricIntervals(images.labels, scores, metadata.threshold) : undefined;
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ modelVersion: metadata.version, backend: backend.name, imageSize: metadata.imageSize, temperature: metadata.temperature ?? 1, testTimeViews: views.length, skipped: images.skipped.length, inferenceSeconds: seconds, ...metrics, ...(intervals ? { confidenceIntervals: intervals } : {}) })}\n`,
    );
    return;
  }
  process.stdout.write(`model ${metadata.version} (${metadata.architecture}, ${metadata.imageSize}px, ${views.length} view${views.length > 1 ? 's' : ''}) on ${values.data}: ${(images.count / seconds).toFixed(0)} img/s\n`);
  printMetrics('evaluation', metrics);
  if (intervals) {
    for (const [name, ci] of Object.entries(intervals)) {
      process.stdout.write(`  ${name} ${ci.estimate.toFixed(3)} (95% CI ${ci.lower.toFixed(3)}-${ci.upper.toFixed(3)})\n`);
    }
  }
});
