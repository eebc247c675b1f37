import { Field, Float, ObjectType } from 'type-graphql';
import type { Screening } from '../../ml/screening.js';
import { Explanation } from './explanation.type.js';
import { ImageInfo } from './image-info.type.js';
import { InputCheck } from './input-check.type.js';
import { ProbabilityInterval } from './probability-interval.type.js';
import { RiskBand } from './risk-band.enum.js';

@ObjectType({ description: 'A screening result for one image. Not a diagnosis.' })
export class Prediction {
  @Field(() => Float, { description: 'Probability of the cancerous (positive) class, 0..1.' })
  probability!: number;

  @Field(() => String, { description: 'The class name the threshold chooses.' })
  label!: string;

  @Field(() => Boolean, { description: 'True when probability >= threshold (screen positive).' })
  positive!: boolean;

  @Field(() => RiskBand, { description: 'UNCERTAIN overrides the others when the interval is too wide or contains the threshold.' })
  riskBand!: RiskBand;

  @Field(() => ProbabilityInterval, { nullable: true, description: 'Null when the server scores only the image as it is (SCREENING_VIEWS=single).' })
  interval!: ProbabilityInterval | null;

  @Field(() => InputCheck)
  inputCheck!: InputCheck;

  @Field(() => Explanation, { nullable: true, description: 'The heatmap; only when classify was called with explain: true.' })
  explanation!: Explanation | null;

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

  static from(c: Screening, backend: string, fileName: string | null): Prediction {
    return {
      probability: c.probability,
      label: c.label,
      positive: c.positive,
      riskBand: c.riskBand as RiskBand,
      interval: c.uncertainty ? ProbabilityInterval.from(c.uncertainty) : null,
      inputCheck: InputCheck.from(c.guard),
      explanation: c.explanation ? Explanation.from(c.explanation, c.label) : null,
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
