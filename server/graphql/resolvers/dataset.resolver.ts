import { Ctx, Query, Resolver } from 'type-graphql';
import type { AppContext } from '../context.js';
import { DatasetSummary } from '../types/dataset-summary.type.js';

@Resolver()
export class DatasetResolver {
  @Query(() => DatasetSummary, { description: 'Images per split and class in the training folder.' })
  async dataset(@Ctx() ctx: AppContext): Promise<DatasetSummary> {
    return ctx.services.dataset();
  }
}
