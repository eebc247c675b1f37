import { Field, Int, ObjectType } from 'type-graphql';
import { ClassificationError } from './classification-error.type.js';
import { Prediction } from './prediction.type.js';

@ObjectType({ description: 'One image of a batch: exactly one of prediction and error is set.' })
export class PredictionResult {
  @Field(() => Int, { description: 'Position of the image in the request.' })
  index!: number;

  @Field(() => String, { nullable: true })
  fileName!: string | null;

  @Field(() => Prediction, { nullable: true })
  prediction!: Prediction | null;

  @Field(() => ClassificationError, { nullable: true })
  error!: ClassificationError | null;
}
