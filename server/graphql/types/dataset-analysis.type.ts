import { Field, Float, Int, ObjectType } from 'type-graphql';
import { Split } from './split.enum.js';

@ObjectType()
export class ClassShare {
  @Field(() => String)
  name!: string;

  @Field(() => Int)
  count!: number;

  @Field(() => Float, { description: 'Of the split, 0..1.' })
  fraction!: number;
}

@ObjectType({ description: 'Pixel sizes (after EXIF orientation) and file sizes of the decodable images.' })
export class SizeStatistics {
  @Field(() => Int) minWidth!: number;
  @Field(() => Int) medianWidth!: number;
  @Field(() => Int) maxWidth!: number;
  @Field(() => Int) minHeight!: number;
  @Field(() => Int) medianHeight!: number;
  @Field(() => Int) maxHeight!: number;
  @Field(() => Float, { description: 'Bytes on disk (Float: may exceed 2^31).' })
  totalBytes!: number;
}

@ObjectType()
export class FormatCount {
  @Field(() => String) format!: string;
  @Field(() => Int) count!: number;
}

@ObjectType({ description: 'Class balance and image sizes of one split.' })
export class SplitStatistics {
  @Field(() => Split)
  split!: Split;

  @Field(() => Int)
  total!: number;

  @Field(() => [ClassShare])
  classes!: ClassShare[];

  @Field(() => Float, { nullable: true, description: 'Largest class over smallest (1 = balanced); null when a class is empty.' })
  imbalanceRatio!: number | null;

  @Field(() => SizeStatistics, { nullable: true })
  sizes!: SizeStatistics | null;

  @Field(() => [FormatCount])
  formats!: FormatCount[];
}

@ObjectType({ description: 'Files with identical content.' })
export class DuplicateGroup {
  @Field(() => String)
  contentHash!: string;

  @Field(() => [String])
  imageIds!: string[];

  @Field(() => Boolean, { description: 'Copies in different splits: the test split leaks into training.' })
  crossSplit!: boolean;

  @Field(() => Boolean, { description: 'Copies carry different labels.' })
  conflictingLabels!: boolean;
}

@ObjectType({ description: 'A test image whose picture is nearly the same as a training image (perceptual hash).' })
export class NearDuplicatePair {
  @Field(() => String)
  trainImageId!: string;

  @Field(() => String)
  testImageId!: string;

  @Field(() => Int, { description: 'Differing bits of the 64-bit perceptual hashes (0 = the same picture, re-encoded or resized).' })
  distance!: number;
}

@ObjectType()
export class UnreadableImage {
  @Field(() => String)
  id!: string;

  @Field(() => String)
  reason!: string;
}
