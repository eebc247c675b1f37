import type { EvaluationMetrics } from '../ml/types.js';
import { formatMetric } from './progress.js';

export function printMetrics(title: string, m: EvaluationMetrics): void {
  const c = m.confusionMatrix;
  process.stdout.write(
    [
      `${title} (n=${m.n}, ${m.positives} positive)`,
      `  AUC ${formatMetric(m.auc)}  accuracy ${formatMetric(m.accuracy)}  balanced accuracy ${formatMetric(m.balancedAccuracy)}`,
      `  sensitivity ${formatMetric(m.sensitivity)}  specificity ${formatMetric(m.specificity)}  at threshold ${formatMetric(m.threshold, 4)}  ECE ${formatMetric(m.ece)}`,
      `  confusion: TP ${c.tp}  FN ${c.fn}  TN ${c.tn}  FP ${c.fp}`,
      '',
    ].join('\n'),
  );
}
