import { Field, Int, ObjectType } from 'type-graphql';
import { DatasetImage } from './dataset-image.type.js';

@ObjectType({ description: 'Relay page information.' })
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => Boolean)
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true })
  startCursor!: string | null;

  @Field(() => String, { nullable: true, description: 'Pass as `after` for the next page.' })
  endCursor!: string | null;
}

@ObjectType()
export class DatasetImageEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => DatasetImage)
  node!: DatasetImage;
}

@ObjectType({ description: 'A page of dataset images, ordered by label and file name (a Relay connection).' })
export class DatasetImageConnection {
  @Field(() => [DatasetImageEdge])
  edges!: DatasetImageEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int, { description: 'Images matching the split and label filter, across all pages.' })
  totalCount!: number;
}
