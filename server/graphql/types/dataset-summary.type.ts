import { Field, ObjectType } from 'type-graphql';
import { SplitCount } from './split-count.type.js';

@ObjectType({ description: 'The training image folder, counted by file name (nothing is decoded).' })
export class DatasetSummary {
  @Field(() => String, { description: 'The folder on the server.' })
  root!: string;

  @Field(() => [SplitCount])
  splits!: SplitCount[];

  @Field(() => [String], { description: 'Files in class folders that training ignores (not images by their extension), relative to root.' })
  skippedFiles!: string[];
}
