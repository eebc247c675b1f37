// The figures shown for a model on one labelled set, in one order everywhere.
import type { ModelMetrics, ModelVersion } from '../../api/types';
import { decimal, percent } from '../../format';

export type MetricSource = 'test' | 'validation';

export interface MetricRow {
  key: string;
  label: string;
  value: (m: ModelMetrics) => number | null;
  format: (v: number | null) => string;
  /** Which direction is better, for comparisons. */
  better: 'higher' | 'lower' | null;
}

export const METRIC_ROWS: MetricRow[] = [
  { key: 'auc', label: 'AUC', value: (m) => m.auc, format: (v) => decimal(v), better: 'higher' },
  { key: 'sensitivity', label: 'Sensitivity', value: (m) => m.sensitivity, format: (v) => percent(v), better: 'higher' },
  { key: 'specificity', label: 'Specificity', value: (m) => m.specificity, format: (v) => percent(v), better: 'higher' },
  { key: 'threshold', label: 'Threshold', value: (m) => m.threshold, format: (v) => decimal(v), better: null },
  { key: 'ece', label: 'ECE', value: (m) => m.ece, format: (v) => decimal(v), better: 'lower' },
  { key: 'accuracy', label: 'Accuracy', value: (m) => m.accuracy, format: (v) => percent(v), better: 'higher' },
  { key: 'balancedAccuracy', label: 'Balanced accuracy', value: (m) => m.balancedAccuracy, format: (v) => percent(v), better: 'higher' },
  { key: 'n', label: 'Images', value: (m) => m.n, format: (v) => (v === null ? '—' : String(v)), better: null },
];

export const SOURCE_LABELS: Record<MetricSource, string> = { test: 'test set', validation: 'validation set' };

/** The metrics of `source`, or of the other set when that one was not measured. */
export function metricsOf(version: Pick<ModelVersion, 'testMetrics' | 'validationMetrics'>, source: MetricSource): { source: MetricSource; metrics: ModelMetrics } | null {
  const preferred = source === 'test' ? version.testMetrics : version.validationMetrics;
  if (preferred) return { source, metrics: preferred };
  const other: MetricSource = source === 'test' ? 'validation' : 'test';
  const fallback = other === 'test' ? version.testMetrics : version.validationMetrics;
  return fallback ? { source: other, metrics: fallback } : null;
}
