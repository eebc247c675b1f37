import { Field, GraphQLISODateTime, Int, ObjectType } from 'type-graphql';
import type { IndexedImage } from '../../dataset/dataset-index.js';
import { Split } from './split.enum.js';

@ObjectType({ description: 'One image file of the training folder. Width, height, format and thumbnail are decoded on request.' })
export class DatasetImage {
  @Field(() => String, { description: '<split>/<label>/<file>: what removeImage and moveImage take.' })
  id!: string;

  @Field(() => Split)
  split!: Split;

  @Field(() => String)
  label!: string;

  @Field(() => String)
  fileName!: string;

  @Field(() => String, { description: 'sha256 of the file: the hash a model version\'s dataset manifest lists.' })
  contentHash!: string;

  @Field(() => Int)
  bytes!: number;

  @Field(() => GraphQLISODateTime, { description: 'When the file was last written.' })
  modifiedAt!: Date;

  /** The index entry the field resolvers decode from (not part of the schema). */
  source!: IndexedImage;

  static from(image: IndexedImage): DatasetImage {
    return {
      id: image.id,
      split: image.split as Split,
      label: image.label,
      fileName: image.fileName,
      contentHash: image.contentHash,
      bytes: image.bytes,
      modifiedAt: image.modifiedAt,
      source: image,
    };
  }
}
