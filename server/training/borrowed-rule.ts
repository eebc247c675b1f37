// A decision rule taken from an existing version for a run that holds back no validation data.
// It only carries between runs of one recipe on the same images: the network, input size and
// test-time views must match, or the scores it was chosen on mean something else.
import type { ModelMetadata, ResolvedTrainingParams } from '../ml/types.js';
import { scoringViewsOf } from '../ml/view-names.js';
import { testTimeViews, singleView } from '../ml/tta.js';
import type { BorrowedDecisionRule } from './training-events.js';

export function borrowDecisionRule(source: ModelMetadata, params: ResolvedTrainingParams): BorrowedDecisionRule {
  const views = scoringViewsOf(source);
  const runViews = params.testTimeAugmentation ? testTimeViews : singleView;
  const differences = [
    source.architecture !== params.architecture && `architecture ${source.architecture} against ${params.architecture}`,
    source.imageSize !== params.imageSize && `input size ${source.imageSize} against ${params.imageSize}`,
    views.length !== runViews.length && `${views.length} test-time views against ${runViews.length}`,
  ].filter(Boolean);
  if (differences.length > 0) throw new Error(`${source.version}'s decision rule does not carry to this recipe: ${differences.join(', ')}`);
  return {
    from: source.version,
    description: source.weightsFrom ?? 'its own validation split',
    temperature: source.temperature ?? 1,
    threshold: source.threshold,
    views: [...views],
    targetSensitivity: source.trainingParams.targetSensitivity,
    positiveClass: source.positiveClass,
  };
}
