import { Field, Float, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'The hyper-parameters a run used (all defaults filled in).' })
export class TrainingParameters {
  @Field(() => String)
  architecture!: string;

  @Field(() => Int)
  imageSize!: number;

  @Field(() => Int)
  epochs!: number;

  @Field(() => Int)
  batchSize!: number;

  @Field(() => Float)
  learningRate!: number;

  @Field(() => Float)
  seed!: number;

  @Field(() => Float)
  validationFraction!: number;

  @Field(() => Boolean, { nullable: true, description: 'Near-duplicates kept on one side of the validation split; null for versions trained before the option existed (split image by image).' })
  groupNearDuplicates?: boolean | null;

  @Field(() => Boolean)
  classWeighting!: boolean;

  @Field(() => Boolean)
  augment!: boolean;

  @Field(() => Int)
  earlyStoppingPatience!: number;

  @Field(() => Float)
  targetSensitivity!: number;

  // Added later: null on versions trained before they existed.
  @Field(() => String, { nullable: true, description: 'basic or strong (see TrainingInput.augmentation).' })
  augmentation?: string | null;

  @Field(() => String, { nullable: true, description: 'constant or cosine.' })
  learningRateSchedule?: string | null;

  @Field(() => Float, { nullable: true })
  warmupEpochs?: number | null;

  @Field(() => Float, { nullable: true })
  weightDecay?: number | null;

  @Field(() => Float, { nullable: true })
  labelSmoothing?: number | null;

  @Field(() => Boolean, { nullable: true })
  testTimeAugmentation?: boolean | null;

  @Field(() => Boolean, { nullable: true })
  calibrate?: boolean | null;

  @Field(() => Int, { nullable: true })
  averageEpochs?: number | null;

  @Field(() => Int, { nullable: true, description: 'Networks averaged into the model (null on versions trained before ensembles: 1).' })
  ensembleMembers?: number | null;

  @Field(() => Float, { nullable: true, description: 'Mixup alpha (null on versions trained before mixup: 0, off).' })
  mixup?: number | null;
}
