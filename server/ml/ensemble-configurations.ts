// What each member and each test-time view of an ensemble adds, measured on a cross-validation
// fold: the ensembles of its first k members under the first v views, each with its own fitted
// temperature. Tells whether a cheaper serving configuration ranks as well as the full one.
import type { tf } from './tf.js';
import type { LabelledImages } from './dataset.js';
import type { ResolvedTrainingParams } from './types.js';
import { predictViewScores } from './predict.js';
import { combineViews, fitTemperature } from './calibration.js';
import { rocAuc } from './metrics.js';
import { testTimeViews } from './tta.js';
import { combineMembers } from './ensemble.js';

/** One serving configuration of an ensemble: how many of its members, how many test-time views. */
export interface ConfigurationAuc {
  members: number;
  views: number;
  auc: number;
}

/** Held-out scores of each configuration, fold after fold, keyed `members x views`. */
export type ConfigurationScores = Map<string, number[]>;

/**
 * How much each member and each test-time view adds: the ensembles of the first k members (k = 1
 * is the plain recipe's network), each scored under the first 1, 2, 4 and 8 views (as many as
 * the recipe uses), a temperature fitted on the rule's images for each. Appends every
 * configuration's held-out scores to `pooled`.
 */
export function scoreConfigurations(
  members: tf.LayersModel[],
  ensemble: tf.LayersModel,
  ruleImages: LabelledImages,
  heldOut: LabelledImages,
  params: ResolvedTrainingParams,
  separateRuleImages: boolean,
  pooled: ConfigurationScores,
): ConfigurationAuc[] {
  const viewCounts = params.testTimeAugmentation ? [1, 2, 4, 8] : [1];
  const views = testTimeViews.slice(0, viewCounts.at(-1));
  const results: ConfigurationAuc[] = [];
  for (let k = 1; k <= members.length; k++) {
    const model = k === 1 ? members[0]! : k === members.length ? ensemble : combineMembers(members.slice(0, k));
    try {
      const ruleViews = predictViewScores(model, ruleImages, params.batchSize, views);
      const heldOutViews = separateRuleImages ? predictViewScores(model, heldOut, params.batchSize, views) : ruleViews;
      for (const v of viewCounts) {
        const temperature = params.calibrate ? fitTemperature(ruleImages.labels, ruleViews.slice(0, v)) : 1;
        const scores = combineViews(heldOutViews.slice(0, v), temperature);
        results.push({ members: k, views: v, auc: rocAuc(heldOut.labels, scores) });
        const key = `${k}x${v}`;
        pooled.set(key, [...(pooled.get(key) ?? []), ...scores]);
      }
    } finally {
      if (model !== members[0] && model !== ensemble) model.dispose();
    }
  }
  return results;
}
