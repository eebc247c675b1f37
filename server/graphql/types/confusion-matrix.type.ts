import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Counts at the decision threshold; positive means the cancerous class.' })
export class ConfusionMatrix {
  @Field(() => Int)
  tp!: number;

  @Field(() => Int)
  fp!: number;

  @Field(() => Int)
  tn!: number;

  @Field(() => Int)
  fn!: number;
}
