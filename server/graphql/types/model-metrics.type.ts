import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { EvaluationMetrics } from '../../ml/types.js';
import { finiteOrNull } from '../values.js';
import { CalibrationBin } from './calibration-bin.type.js';
import { ConfusionMatrix } from './confusion-matrix.type.js';
import { RocPoint } from './roc-point.type.js';

@ObjectType({ description: 'Quality on one labelled set at one threshold. A figure that is undefined for the set (e.g. AUC with one class) is null.' })
export class ModelMetrics {
  @Field(() => Int, { description: 'Images in the set.' })
  n!: number;

  @Field(() => Int, { description: 'Cancerous images in the set.' })
  positives!: number;

  @Field(() => Float, { nullable: true })
  auc!: number | null;

  @Field(() => Float, { nullable: true })
  accuracy!: number | null;

  @Field(() => Float, { nullable: true })
  balancedAccuracy!: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of cancerous images flagged positive.' })
  sensitivity!: number | null;

  @Field(() => Float, { nullable: true, description: 'Share of benign images left negative.' })
  specificity!: number | null;

  @Field(() => Float)
  threshold!: number;

  @Field(() => Float, { nullable: true, description: 'Expected calibration error.' })
  ece!: number | null;

  @Field(() => ConfusionMatrix)
  confusionMatrix!: ConfusionMatrix;

  @Field(() => [RocPoint])
  roc!: RocPoint[];

  @Field(() => [CalibrationBin])
  calibration!: CalibrationBin[];

  static from(m: EvaluationMetrics | null | undefined): ModelMetrics | null {
    if (!m) return null;
    return {
      n: m.n,
      positives: m.positives,
      auc: finiteOrNull(m.auc),
      accuracy: finiteOrNull(m.accuracy),
      balancedAccuracy: finiteOrNull(m.balancedAccuracy),
      sensitivity: finiteOrNull(m.sensitivity),
      specificity: finiteOrNull(m.specificity),
      threshold: m.threshold,
      ece: finiteOrNull(m.ece),
      confusionMatrix: { ...m.confusionMatrix },
      roc: (m.roc ?? []).map((p) => ({ fpr: finiteOrNull(p.fpr), tpr: finiteOrNull(p.tpr), threshold: finiteOrNull(p.threshold) })),
      calibration: (m.calibration ?? []).map((b) => ({
        lower: b.lower,
        upper: b.upper,
        count: b.count,
        meanPredicted: finiteOrNull(b.meanPredicted),
        fractionPositive: finiteOrNull(b.fractionPositive),
      })),
    };
  }
}
