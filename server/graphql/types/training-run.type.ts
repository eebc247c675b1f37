import { Field, GraphQLISODateTime, ID, ObjectType } from 'type-graphql';
import type { TrainingRunRecord } from '../../store/run-store.js';
import { ModelMetrics } from './model-metrics.type.js';
import { RunStatus } from './run-status.enum.js';
import { RunTrigger } from './run-trigger.enum.js';
import { TrainingEpoch } from './training-epoch.type.js';
import { TrainingParameters } from './training-parameters.type.js';

@ObjectType({ description: 'One training run: what was asked, how each epoch went and how it ended.' })
export class TrainingRun {
  @Field(() => ID)
  id!: string;

  @Field(() => RunStatus)
  status!: RunStatus;

  @Field(() => RunTrigger)
  trigger!: RunTrigger;

  @Field(() => TrainingParameters)
  params!: TrainingParameters;

  @Field(() => Boolean, { description: 'Activate the new version when it beats the active one.' })
  autoPromote!: boolean;

  @Field(() => GraphQLISODateTime)
  createdAt!: string;

  @Field(() => GraphQLISODateTime, { nullable: true })
  startedAt!: string | null;

  @Field(() => GraphQLISODateTime, { nullable: true })
  finishedAt!: string | null;

  @Field(() => String, { nullable: true })
  errorCode!: string | null;

  @Field(() => String, { nullable: true })
  errorMessage!: string | null;

  @Field(() => String, { nullable: true, description: 'The version a successful run saved.' })
  modelVersion!: string | null;

  @Field(() => Boolean, { description: 'The saved version became the active one.' })
  activated!: boolean;

  @Field(() => ModelMetrics, { nullable: true })
  validationMetrics!: ModelMetrics | null;

  @Field(() => ModelMetrics, { nullable: true })
  testMetrics!: ModelMetrics | null;

  @Field(() => [TrainingEpoch], { description: 'Finished epochs, in order.' })
  epochs!: TrainingEpoch[];

  static from(r: TrainingRunRecord): TrainingRun {
    return {
      id: r.id,
      status: r.status as RunStatus,
      trigger: r.trigger as RunTrigger,
      params: { ...r.params },
      autoPromote: r.autoPromote,
      createdAt: r.createdAt,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      modelVersion: r.modelVersion,
      activated: r.activated,
      validationMetrics: ModelMetrics.from(r.metrics?.validation),
      testMetrics: ModelMetrics.from(r.metrics?.test),
      epochs: r.epochs.map((e) => TrainingEpoch.from(e)),
    };
  }
}
