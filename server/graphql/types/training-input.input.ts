import { Field, Float, InputType, Int } from 'type-graphql';
import { defaultTrainingParams as d } from '../../ml/types.js';

// Defaults come from the ML core so the schema documents exactly what an omitted field means.
@InputType({ description: 'Every field is optional; an omitted (or null) field takes the default shown. The server checks ranges and answers BAD_USER_INPUT naming the field.' })
export class TrainingInput {
  @Field(() => Int, { nullable: true, defaultValue: d.epochs, description: '1..500.' })
  epochs?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: d.batchSize, description: '1..512.' })
  batchSize?: number | null;

  @Field(() => Float, { nullable: true, defaultValue: d.learningRate, description: 'Above 0, at most 1.' })
  learningRate?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: d.imageSize, description: 'Side of the square network input, in pixels: 16..384 (and at least what the architecture needs).' })
  imageSize?: number | null;

  @Field(() => String, { nullable: true, defaultValue: d.architecture })
  architecture?: string | null;

  @Field(() => Float, { nullable: true, defaultValue: d.seed, description: 'Whole number 0..4294967295: equal seeds and data give equal models.' })
  seed?: number | null;

  @Field(() => Float, { nullable: true, defaultValue: d.validationFraction, description: 'Share of the training split held out for threshold choice and early stopping: 0..0.5.' })
  validationFraction?: number | null;

  @Field(() => Boolean, {
    nullable: true,
    defaultValue: d.groupNearDuplicates,
    description: 'Keep near-duplicate pictures (the same photo re-encoded or re-exposed) on one side of the validation split.',
  })
  groupNearDuplicates?: boolean | null;

  @Field(() => Boolean, { nullable: true, defaultValue: d.classWeighting, description: 'Weight classes inversely to their frequency in the loss.' })
  classWeighting?: boolean | null;

  @Field(() => Boolean, { nullable: true, defaultValue: d.augment, description: 'Random flips, quarter turns and brightness/contrast changes while training.' })
  augment?: boolean | null;

  @Field(() => Int, { nullable: true, defaultValue: d.earlyStoppingPatience, description: 'Stop when validation AUC has not improved for this many epochs (0 = never).' })
  earlyStoppingPatience?: number | null;

  @Field(() => String, { nullable: true, defaultValue: d.augmentation, description: 'basic: flips, quarter turns, light brightness/contrast; strong: also free rotation, zoom, shift and colour jitter.' })
  augmentation?: 'basic' | 'strong' | null;

  @Field(() => String, { nullable: true, defaultValue: d.learningRateSchedule, description: 'constant, or cosine (decays to 0 at the last planned epoch).' })
  learningRateSchedule?: 'constant' | 'cosine' | null;

  @Field(() => Float, { nullable: true, defaultValue: d.warmupEpochs, description: 'Epochs of linear learning-rate warm-up: 0..50.' })
  warmupEpochs?: number | null;

  @Field(() => Float, { nullable: true, defaultValue: d.weightDecay, description: 'Decoupled (AdamW) weight decay of kernels per unit of learning rate: 0..1.' })
  weightDecay?: number | null;

  @Field(() => Float, { nullable: true, defaultValue: d.labelSmoothing, description: 'Targets move this far towards 1/2: 0..0.5.' })
  labelSmoothing?: number | null;

  @Field(() => Boolean, { nullable: true, defaultValue: d.testTimeAugmentation, description: 'Score every image as the mean over its 8 flips and quarter turns.' })
  testTimeAugmentation?: boolean | null;

  @Field(() => Boolean, { nullable: true, defaultValue: d.calibrate, description: 'Fit a probability temperature on the validation images.' })
  calibrate?: boolean | null;

  @Field(() => Int, { nullable: true, defaultValue: d.averageEpochs, description: 'Average the weights of the last N epochs and keep the mean when it validates at least as well as the best epoch: 0..500 (0 or 1 = off).' })
  averageEpochs?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: d.ensembleMembers, description: 'Train this many networks from consecutive seeds and serve the mean of their logits as one model: 1..8 (1 = a single network). Costs this many times the training time and the forward passes.' })
  ensembleMembers?: number | null;

  @Field(() => Float, { nullable: true, defaultValue: d.mixup, description: 'Mixup: blend each training image and its target with another one by Beta(alpha, alpha), the image keeping the larger share: alpha 0..4 (0 = off).' })
  mixup?: number | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'Activate the new version when its held-out AUC beats the active one (the first version is always activated).' })
  autoPromote?: boolean | null;
}
