// The temperature and decision threshold of a trained model, fitted on labelled images it did not
// train on: the one step shared by a training run and each fold of a cross-validation.
import type { tf } from './tf.js';
import type { LabelledImages } from './dataset.js';
import { predictViewScores } from './predict.js';
import { combineViews, fitTemperature } from './calibration.js';
import { chooseThreshold, rocAuc } from './metrics.js';
import { singleView, testTimeViews, type TestTimeView } from './tta.js';
import type { ResolvedTrainingParams } from './types.js';

export interface DecisionRule {
  temperature: number;
  threshold: number;
  views: readonly TestTimeView[];
  /** Calibrated scores of the images the rule was fitted on, in their order. */
  scores: Float32Array;
}

/**
 * Fits the rule on `images`. `fitCalibration: false` keeps temperature 1: images the model
 * trained on would make any fitted temperature overconfident.
 */
export function fitDecisionRule(
  model: tf.LayersModel,
  images: LabelledImages,
  params: Pick<ResolvedTrainingParams, 'testTimeAugmentation' | 'calibrate' | 'batchSize' | 'targetSensitivity'>,
  { fitCalibration }: { fitCalibration: boolean },
): DecisionRule {
  const views = params.testTimeAugmentation ? testTimeViews : singleView;
  const viewScores = predictViewScores(model, images, params.batchSize, views);
  // Images the model separates perfectly give no finite fit (the likelihood keeps rising as
  // T -> 0): sharpening on no observed error would only make the scores overconfident.
  const fit = fitCalibration && params.calibrate && rocAuc(images.labels, combineViews(viewScores)) !== 1;
  const temperature = fit ? fitTemperature(images.labels, viewScores) : 1;
  const scores = combineViews(viewScores, temperature);
  const threshold = chooseThreshold(images.labels, scores, { targetSensitivity: params.targetSensitivity });
  return { temperature, threshold, views, scores };
}
