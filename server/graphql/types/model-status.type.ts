import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { BackendType } from './backend.type.js';

@ObjectType({ description: 'Whether a model serves classifications, and which one.' })
export class ModelStatus {
  @Field(() => Boolean)
  ready!: boolean;

  @Field(() => String, { nullable: true, description: 'Why no model serves (loading, none trained, damaged); null when ready.' })
  reason!: string | null;

  @Field(() => String, { nullable: true })
  activeVersion!: string | null;

  @Field(() => BackendType)
  backend!: BackendType;

  @Field(() => Int, { nullable: true, description: 'Side of the square input the active model expects, in pixels.' })
  imageSize!: number | null;

  @Field(() => [String], { nullable: true, description: 'Negative class first, positive (cancerous) class second.' })
  classes!: string[] | null;

  @Field(() => String, { nullable: true })
  positiveClass!: string | null;

  @Field(() => Float, { nullable: true })
  threshold!: number | null;

  @Field(() => String, { description: 'all: each image is scored under its 8 flips and turns, giving the probability interval; single: scored once, no interval (SCREENING_VIEWS).' })
  screeningViews!: string;

  @Field(() => Boolean)
  trainingInProgress!: boolean;

  @Field(() => ID, { nullable: true })
  activeRunId!: string | null;
}
