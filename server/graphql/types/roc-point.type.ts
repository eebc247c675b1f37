import { Field, Float, ObjectType } from 'type-graphql';

@ObjectType({ description: 'One point of the ROC curve. Figures undefined for the set (one class only) are null.' })
export class RocPoint {
  @Field(() => Float, { nullable: true })
  fpr!: number | null;

  @Field(() => Float, { nullable: true })
  tpr!: number | null;

  @Field(() => Float, { nullable: true })
  threshold!: number | null;
}
