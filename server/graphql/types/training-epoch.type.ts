import { Field, Float, Int, ObjectType } from 'type-graphql';
import type { EpochRecord } from '../../store/run-store.js';
import { finiteOrNull } from '../values.js';

@ObjectType({ description: 'One finished epoch. Figures that were not finite, or not measured (no validation set), are null.' })
export class TrainingEpoch {
  @Field(() => Int)
  epoch!: number;

  @Field(() => Float, { nullable: true })
  loss!: number | null;

  @Field(() => Float, { nullable: true })
  accuracy!: number | null;

  @Field(() => Float, { nullable: true })
  validationLoss!: number | null;

  @Field(() => Float, { nullable: true })
  validationAccuracy!: number | null;

  @Field(() => Float, { nullable: true })
  validationAuc!: number | null;

  @Field(() => Float, { nullable: true })
  learningRate!: number | null;

  @Field(() => Float, { nullable: true })
  seconds!: number | null;

  @Field(() => Float, { nullable: true })
  imagesPerSecond!: number | null;

  static from(e: EpochRecord): TrainingEpoch {
    return {
      epoch: e.epoch,
      loss: finiteOrNull(e.loss),
      accuracy: finiteOrNull(e.accuracy),
      validationLoss: finiteOrNull(e.validationLoss),
      validationAccuracy: finiteOrNull(e.validationAccuracy),
      validationAuc: finiteOrNull(e.validationAuc),
      learningRate: finiteOrNull(e.learningRate),
      seconds: finiteOrNull(e.seconds),
      imagesPerSecond: finiteOrNull(e.imagesPerSecond),
    };
  }
}
