import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'The hyper-parameters a run used (all defaults filled in).' })
export class TrainingParameters {
  @Field(() => String)
  architecture!: string;

  @Field(() => Int)
  imageSize!: number;

  @Field(() => Int)
  epochs!: number;

  @Field(() => Int)
  batchSize!: number;

  @Field(() => Float)
  learningRate!: number;

  @Field(() => Float)
  seed!: number;

  @Field(() => Float)
  validationFraction!: number;

  @Field(() => Boolean)
  classWeighting!: boolean;

  @Field(() => Boolean)
  augment!: boolean;

  @Field(() => Int)
  earlyStoppingPatience!: number;

  @Field(() => Float)
  targetSensitivity!: number;
}
