import { Field, ObjectType } from 'type-graphql';
import type { ModelMetadata } from '../../ml/types.js';
import { DamagedModel } from './damaged-model.type.js';
import { ModelVersion } from './model-version.type.js';

@ObjectType({ description: 'Every saved model version.' })
export class ModelList {
  @Field(() => [ModelVersion], { description: 'Intact versions, oldest first.' })
  versions!: ModelVersion[];

  @Field(() => String, { nullable: true, description: 'The version serving classifications.' })
  active!: string | null;

  @Field(() => [DamagedModel])
  damaged!: DamagedModel[];

  static from(listing: { versions: ModelMetadata[]; active: string | null; damaged: { version: string; reason: string }[] }): ModelList {
    return {
      versions: listing.versions.map((m) => ModelVersion.from(m, listing.active)),
      active: listing.active,
      damaged: listing.damaged.map((d) => ({ version: d.version, reason: d.reason })),
    };
  }
}
