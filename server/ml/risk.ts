// Turns a probability into the words a clinician reads. The threshold is the model's own
// (chosen on validation data for a target sensitivity), so bands move with it.
// 'uncertain' (refer) overrides the others when test-time views disagree: see uncertainty.ts.
export type RiskBand = 'low' | 'medium' | 'high' | 'uncertain';

/**
 * low: below the decision threshold (screen negative).
 * medium: at or above it but in the lower half of the remaining range (screen positive, weak evidence).
 * high: in the upper half between the threshold and 1.
 */
export function riskBand(probability: number, threshold: number): Exclude<RiskBand, 'uncertain'> {
  if (probability < threshold) return 'low';
  return probability < threshold + (1 - threshold) / 2 ? 'medium' : 'high';
}

export const DISCLAIMER =
  'Screening aid only, not a diagnosis. A clinician must examine any lesion of concern; a low score does not rule out cancer.';
