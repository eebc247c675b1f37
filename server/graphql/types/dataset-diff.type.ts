import { Field, Int, ObjectType } from 'type-graphql';
import type { VersionDiff } from '../../services/dataset-service.js';

@ObjectType({ description: 'How one split and class changed between two versions\' training data.' })
export class DatasetChange {
  @Field(() => String)
  split!: string;

  @Field(() => String)
  label!: string;

  @Field(() => Int)
  before!: number;

  @Field(() => Int)
  after!: number;

  @Field(() => Int)
  added!: number;

  @Field(() => Int)
  removed!: number;

  @Field(() => [String], { description: 'Content hashes of the images only the newer version saw.' })
  addedHashes!: string[];

  @Field(() => [String], { description: 'Content hashes of the images only the older version saw.' })
  removedHashes!: string[];
}

@ObjectType({ description: 'The difference between the images two model versions were trained and tested on.' })
export class DatasetDiff {
  @Field(() => String)
  fromVersion!: string;

  @Field(() => String)
  toVersion!: string;

  @Field(() => Boolean, { description: 'Exactly the same images with the same labels.' })
  sameData!: boolean;

  @Field(() => Int)
  added!: number;

  @Field(() => Int)
  removed!: number;

  @Field(() => String, { description: 'In words, e.g. "v7 saw 120 more malignant training images than v6".' })
  summary!: string;

  @Field(() => [DatasetChange])
  changes!: DatasetChange[];

  static from(diff: VersionDiff): DatasetDiff {
    const changes = diff.changes.map((c) => ({
      split: c.split,
      label: c.label,
      before: c.before,
      after: c.after,
      added: c.added.length,
      removed: c.removed.length,
      addedHashes: c.added,
      removedHashes: c.removed,
    }));
    const added = changes.reduce((n, c) => n + c.added, 0);
    const removed = changes.reduce((n, c) => n + c.removed, 0);
    return { fromVersion: diff.fromVersion, toVersion: diff.toVersion, sameData: added === 0 && removed === 0, added, removed, summary: diff.summary, changes };
  }
}
