import { Field, ObjectType } from 'type-graphql';

@ObjectType({ description: 'Why one image of a batch was not classified; the same code and reason a single classify would raise.' })
export class ClassificationError {
  @Field(() => String, { description: 'BAD_USER_INPUT or UNSUITABLE_IMAGE (see reason), PAYLOAD_TOO_LARGE, BAD_REQUEST or INTERNAL_SERVER_ERROR.' })
  code!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'For BAD_USER_INPUT: EMPTY_FILE, NOT_AN_IMAGE, UNSUPPORTED_FORMAT, TRUNCATED_IMAGE, IMAGE_TOO_LARGE or IMAGE_TOO_SMALL. For UNSUITABLE_IMAGE: LOW_RESOLUTION, BLURRY, NOISY, OVEREXPOSED, UNDEREXPOSED or NOT_A_LESION.',
  })
  reason!: string | null;

  @Field(() => String)
  message!: string;
}
