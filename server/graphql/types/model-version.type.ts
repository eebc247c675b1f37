import { Field, Float, GraphQLISODateTime, Int, ObjectType } from 'type-graphql';
import type { ModelMetadata } from '../../ml/types.js';
import { DatasetFingerprint } from './dataset-fingerprint.type.js';
import { ModelMetrics } from './model-metrics.type.js';
import { SplitCount } from './split-count.type.js';
import { TrainingParameters } from './training-parameters.type.js';

@ObjectType({ description: 'One saved model version and how well it did.' })
export class ModelVersion {
  @Field(() => String)
  version!: string;

  @Field(() => String)
  architecture!: string;

  @Field(() => Int)
  imageSize!: number;

  @Field(() => [String], { description: 'Negative class first, positive (cancerous) class second.' })
  classNames!: string[];

  @Field(() => String)
  positiveClass!: string;

  @Field(() => Float, { description: 'Decision threshold chosen on the validation set for the target sensitivity.' })
  threshold!: number;

  @Field(() => GraphQLISODateTime)
  createdAt!: string;

  @Field(() => Boolean, { description: 'This version serves classifications.' })
  active!: boolean;

  @Field(() => String, { description: 'The tfjs backend it was trained on.' })
  backend!: string;

  @Field(() => Float)
  trainingSeconds!: number;

  @Field(() => Int)
  epochsCompleted!: number;

  @Field(() => String, { nullable: true, description: 'Which weights were kept: the best epoch by validation AUC, or the mean of the last epochs.' })
  weightsFrom!: string | null;

  @Field(() => TrainingParameters)
  trainingParams!: TrainingParameters;

  @Field(() => DatasetFingerprint, { nullable: true })
  datasetFingerprint!: DatasetFingerprint | null;

  @Field(() => ModelMetrics, { nullable: true, description: 'On the held-out validation part of the training split.' })
  validationMetrics!: ModelMetrics | null;

  @Field(() => ModelMetrics, { nullable: true, description: 'On the test split, when the dataset has one.' })
  testMetrics!: ModelMetrics | null;

  static from(m: ModelMetadata, activeVersion: string | null): ModelVersion {
    return {
      version: m.version,
      architecture: m.architecture,
      imageSize: m.imageSize,
      classNames: [...m.classNames],
      positiveClass: m.positiveClass,
      threshold: m.threshold,
      createdAt: m.createdAt,
      active: m.version === activeVersion,
      backend: m.backend,
      trainingSeconds: m.trainingSeconds,
      epochsCompleted: m.epochsCompleted,
      weightsFrom: m.weightsFrom ?? null,
      trainingParams: { ...m.trainingParams },
      datasetFingerprint: m.datasetFingerprint ? { hash: m.datasetFingerprint.hash, counts: SplitCount.fromRecord(m.datasetFingerprint.counts) } : null,
      validationMetrics: ModelMetrics.from(m.metrics.validation),
      testMetrics: ModelMetrics.from(m.metrics.test),
    };
  }
}
