import { Field, Int, ObjectType } from 'type-graphql';
import { ClassCount } from './class-count.type.js';

@ObjectType({ description: 'Images per class in one split (train, test, ...).' })
export class SplitCount {
  @Field(() => String)
  split!: string;

  @Field(() => [ClassCount])
  classes!: ClassCount[];

  @Field(() => Int)
  total!: number;

  /** `{ split: { class: count } }` as stored in model metadata, in a stable order. */
  static fromRecord(counts: Record<string, Record<string, number>>): SplitCount[] {
    const sorted = (keys: string[]) => [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return sorted(Object.keys(counts)).map((split) => {
      const classes = sorted(Object.keys(counts[split])).map((name) => ({ name, count: counts[split][name] }));
      return { split, classes, total: classes.reduce((sum, c) => sum + c.count, 0) };
    });
  }
}
