import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'A version folder that cannot be loaded (missing or corrupt files); it is never served.' })
export class DamagedModel {
  @Field(() => String)
  version!: string;

  @Field(() => String)
  reason!: string;
}
