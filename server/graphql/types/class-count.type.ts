import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType()
export class ClassCount {
  @Field(() => String)
  name!: string;

  @Field(() => Int)
  count!: number;
}
