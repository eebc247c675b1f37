// What a classification says about an image, and how a probability becomes a label and a risk
// band at a version's stored threshold. Plain data: no model or tensor needed.
import type { DecodedImage } from './preprocess.js';
import { riskBand, DISCLAIMER, type RiskBand } from './risk.js';
import type { ModelMetadata } from './types.js';

export interface Classification {
  probability: number;
  label: string;
  positive: boolean;
  riskBand: RiskBand;
  threshold: number;
  modelVersion: string;
  preprocessMs: number;
  inferenceMs: number;
  original: DecodedImage['original'];
  disclaimer: string;
}

export type Description = Pick<Classification, 'probability' | 'label' | 'positive' | 'riskBand' | 'threshold' | 'modelVersion' | 'disclaimer'>;

/** The label and risk band of a probability at the version's stored threshold (needs no model). */
export function describeProbability(metadata: Pick<ModelMetadata, 'threshold' | 'classNames' | 'version'>, probability: number): Description {
  const { threshold, classNames, version } = metadata;
  const positive = probability >= threshold;
  return {
    probability,
    label: positive ? classNames[1] : classNames[0],
    positive,
    riskBand: riskBand(probability, threshold),
    threshold,
    modelVersion: version,
    disclaimer: DISCLAIMER,
  };
}

