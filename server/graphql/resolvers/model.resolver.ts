import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { Role } from '../auth.js';
import type { AppContext } from '../context.js';
import { ModelList } from '../types/model-list.type.js';
import { ModelVersion } from '../types/model-version.type.js';

@Resolver()
export class ModelResolver {
  @Query(() => ModelList, { description: 'Every saved model version with its metrics, the active one, and damaged versions with the reason.' })
  async models(@Ctx() ctx: AppContext): Promise<ModelList> {
    return ModelList.from(await ctx.services.models.listVersions());
  }

  @Query(() => ModelVersion, { nullable: true, description: 'One version; null when there is no intact version of that name.' })
  async model(@Arg('version', () => String) version: string, @Ctx() ctx: AppContext): Promise<ModelVersion | null> {
    const listing = await ctx.services.models.listVersions();
    const found = listing.versions.find((v) => v.version === version);
    return found ? ModelVersion.from(found, listing.active) : null;
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => ModelVersion, { description: 'Makes a version the one that serves classifications. Errors: MODEL_NOT_FOUND, DAMAGED_MODEL.' })
  async promoteModel(@Arg('version', () => String) version: string, @Ctx() ctx: AppContext): Promise<ModelVersion> {
    const promoted = await ctx.services.models.promote(version);
    return ModelVersion.from(promoted, promoted.version);
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => ModelVersion, { description: 'Re-activates the previously active intact version. Error: NO_ROLLBACK_TARGET.' })
  async rollbackModel(@Ctx() ctx: AppContext): Promise<ModelVersion> {
    const restored = await ctx.services.models.rollback();
    return ModelVersion.from(restored, restored.version);
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => ModelList, { description: 'Deletes a version that is not active and returns the remaining list. Errors: MODEL_ACTIVE, MODEL_NOT_FOUND.' })
  async deleteModel(@Arg('version', () => String) version: string, @Ctx() ctx: AppContext): Promise<ModelList> {
    await ctx.services.models.delete(version);
    return ModelList.from(await ctx.services.models.listVersions());
  }
}
