import { Field, ObjectType } from 'type-graphql';
import { SplitCount } from './split-count.type.js';

@ObjectType({ description: 'Which images a model was trained and measured on.' })
export class DatasetFingerprint {
  @Field(() => String, { description: 'sha256 over the image contents, split and class names: equal data gives an equal hash.' })
  hash!: string;

  @Field(() => [SplitCount])
  counts!: SplitCount[];
}
