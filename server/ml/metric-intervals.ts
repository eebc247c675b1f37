// 95 % bootstrap confidence intervals of the headline metrics at one threshold, so a report
// says how far a number on a few hundred images can be trusted.
import { bootstrapInterval, confusionAt, expectedCalibrationError, rocAuc, type BootstrapInterval } from './metrics.js';

export interface MetricIntervals {
  auc: BootstrapInterval;
  sensitivity: BootstrapInterval;
  specificity: BootstrapInterval;
  accuracy: BootstrapInterval;
  ece: BootstrapInterval;
}

export function metricIntervals(labels: ArrayLike<number>, scores: ArrayLike<number>, threshold: number, iterations = 2000, seed = 0x5eed): MetricIntervals {
  const options = { iterations, confidence: 0.95, seed };
  const rates = (l: number[], s: number[]) => {
    const { tp, fp, tn, fn } = confusionAt(l, s, threshold);
    return { sensitivity: tp / (tp + fn), specificity: tn / (tn + fp), accuracy: (tp + tn) / l.length };
  };
  // One resampling stream per metric, all from the same seed: each interval is reproducible alone.
  return {
    auc: bootstrapInterval(labels, scores, rocAuc, options),
    sensitivity: bootstrapInterval(labels, scores, (l, s) => rates(l, s).sensitivity, options),
    specificity: bootstrapInterval(labels, scores, (l, s) => rates(l, s).specificity, options),
    accuracy: bootstrapInterval(labels, scores, (l, s) => rates(l, s).accuracy, options),
    ece: bootstrapInterval(labels, scores, (l, s) => expectedCalibrationError(l, s), options),
  };
}
