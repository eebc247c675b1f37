import { Field, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'The uploaded image as decoded (after EXIF orientation).' })
export class ImageInfo {
  @Field(() => Int)
  width!: number;

  @Field(() => Int)
  height!: number;

  @Field(() => String, { description: 'jpeg, png, webp, tiff or gif.' })
  format!: string;
}
