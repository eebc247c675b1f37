import { Field, Float, ObjectType } from 'type-graphql';
import type { Classification } from '../../ml/classifier.js';
import { ImageInfo } from './image-info.type.js';
import { RiskBand } from './risk-band.enum.js';

@ObjectType({ description: 'A screening result for one image. Not a diagnosis.' })
export class Prediction {
  @Field(() => Float, { description: 'Probability of the cancerous (positive) class, 0..1.' })
  probability!: number;

  @Field(() => String, { description: 'The class name the threshold chooses.' })
  label!: string;

  @Field(() => Boolean, { description: 'True when probability >= threshold (screen positive).' })
  positive!: boolean;

  @Field(() => RiskBand)
  riskBand!: RiskBand;

  @Field(() => Float, { description: "The model version's decision threshold." })
  threshold!: number;

  @Field(() => String)
  modelVersion!: string;

  @Field(() => String, { description: 'The tfjs backend that computed it.' })
  backend!: string;

  @Field(() => Float, { description: 'Decoding and resizing time, in milliseconds.' })
  preprocessMs!: number;

  @Field(() => Float, { description: 'Model time, in milliseconds (per image for a batch).' })
  inferenceMs!: number;

  @Field(() => String)
  disclaimer!: string;

  @Field(() => ImageInfo)
  input!: ImageInfo;

  @Field(() => String, { nullable: true, description: 'The name the client gave the uploaded file.' })
  fileName!: string | null;

  @Field(() => String, { nullable: true, description: 'Set when the server kept the image for review (KEEP_CLASSIFIED_IMAGES): pass it to submitFeedback to correct this result.' })
  predictionId!: string | null;

  static from(c: Classification, backend: string, fileName: string | null): Prediction {
    return {
      probability: c.probability,
      label: c.label,
      positive: c.positive,
      riskBand: c.riskBand as RiskBand,
      threshold: c.threshold,
      modelVersion: c.modelVersion,
      backend,
      preprocessMs: c.preprocessMs,
      inferenceMs: c.inferenceMs,
      disclaimer: c.disclaimer,
      input: { width: c.original.width, height: c.original.height, format: c.original.format },
      fileName,
      predictionId: null,
    };
  }
}
