import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import type { TrainingProgressEvent } from '../../services/training-service.js';
import { finiteOrNull } from '../values.js';
import { ProgressKind } from './progress-kind.enum.js';
import { RunStatus } from './run-status.enum.js';

const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

@ObjectType({ description: 'A live training event; `kind` says which fields are set, the others are null.' })
export class TrainingProgress {
  @Field(() => ID)
  runId!: string;

  @Field(() => RunStatus)
  status!: RunStatus;

  @Field(() => ProgressKind)
  kind!: ProgressKind;

  @Field(() => String, { nullable: true, description: 'loading-data, training, evaluating or saving.' })
  stage!: string | null;

  @Field(() => String, { nullable: true })
  message!: string | null;

  @Field(() => Int, { nullable: true, description: 'Images decoded so far.' })
  done!: number | null;

  @Field(() => Int, { nullable: true, description: 'Images to decode.' })
  total!: number | null;

  @Field(() => Int, { nullable: true })
  epoch!: number | null;

  @Field(() => Int, { nullable: true })
  epochs!: number | null;

  @Field(() => Int, { nullable: true })
  batch!: number | null;

  @Field(() => Int, { nullable: true })
  batchesPerEpoch!: number | null;

  @Field(() => Float, { nullable: true })
  loss!: number | null;

  @Field(() => Float, { nullable: true })
  accuracy!: number | null;

  @Field(() => Float, { nullable: true })
  imagesPerSecond!: number | null;

  @Field(() => Float, { nullable: true, description: 'Estimated seconds until training ends.' })
  etaSeconds!: number | null;

  @Field(() => Float, { nullable: true })
  validationLoss!: number | null;

  @Field(() => Float, { nullable: true })
  validationAccuracy!: number | null;

  @Field(() => Float, { nullable: true })
  validationAuc!: number | null;

  @Field(() => String, { nullable: true })
  modelVersion!: string | null;

  @Field(() => Boolean, { nullable: true })
  activated!: boolean | null;

  @Field(() => String, { nullable: true })
  errorCode!: string | null;

  @Field(() => String, { nullable: true })
  errorMessage!: string | null;

  static from(e: TrainingProgressEvent): TrainingProgress {
    return {
      runId: e.runId,
      status: e.status as RunStatus,
      kind: e.kind as ProgressKind,
      stage: orNull(e.stage),
      message: orNull(e.message),
      done: orNull(e.done),
      total: orNull(e.total),
      epoch: orNull(e.epoch),
      epochs: orNull(e.epochs),
      batch: orNull(e.batch),
      batchesPerEpoch: orNull(e.batchesPerEpoch),
      loss: finiteOrNull(e.loss),
      accuracy: finiteOrNull(e.accuracy),
      imagesPerSecond: finiteOrNull(e.imagesPerSecond),
      etaSeconds: finiteOrNull(e.etaSeconds),
      validationLoss: finiteOrNull(e.validationLoss),
      validationAccuracy: finiteOrNull(e.validationAccuracy),
      validationAuc: finiteOrNull(e.validationAuc),
      modelVersion: orNull(e.modelVersion),
      activated: orNull(e.activated),
      errorCode: orNull(e.errorCode),
      errorMessage: orNull(e.errorMessage),
    };
  }
}
