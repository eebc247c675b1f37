import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Predictions with probability in [lower, upper): mean predicted vs observed fraction positive.' })
export class CalibrationBin {
  @Field(() => Float)
  lower!: number;

  @Field(() => Float)
  upper!: number;

  @Field(() => Int)
  count!: number;

  @Field(() => Float, { nullable: true, description: 'Null for an empty bin.' })
  meanPredicted!: number | null;

  @Field(() => Float, { nullable: true, description: 'Null for an empty bin.' })
  fractionPositive!: number | null;
}
