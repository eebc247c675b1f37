import { Field, Float, ObjectType } from 'type-graphql';
import type { Uncertainty } from '../../ml/uncertainty.js';

@ObjectType({
  description:
    'How much the probability depends on the orientation of the image: the model scores its eight flips and quarter turns (test-time augmentation); the interval runs from the 5th to the 95th percentile of those scores.',
})
export class ProbabilityInterval {
  @Field(() => Float)
  lower!: number;

  @Field(() => Float)
  upper!: number;

  @Field(() => Float, { description: 'Share of the view scores the interval covers (0.9).' })
  level!: number;

  @Field(() => [Float], { description: 'The probability under each view: identity, flips, quarter turns, transposes.' })
  views!: number[];

  static from(u: Uncertainty): ProbabilityInterval {
    return { lower: u.lower, upper: u.upper, level: u.level, views: [...u.views] };
  }
}
