import { Arg, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import type { DatasetAnalysis } from '../../dataset/dataset-analysis.js';
import { RegistryError } from '../../registry/registry-error.js';
import type { AppContext } from '../context.js';
import { DuplicateGroup, NearDuplicatePair, SplitStatistics, UnreadableImage } from '../types/dataset-analysis.type.js';
import { DatasetDiff } from '../types/dataset-diff.type.js';
import { DatasetSummary } from '../types/dataset-summary.type.js';
import type { Split } from '../types/split.enum.js';

// One analysis per summary object, however many of its fields a query selects.
const analyses = new WeakMap<object, Promise<DatasetAnalysis>>();

function analysisOf(summary: DatasetSummary, ctx: AppContext): Promise<DatasetAnalysis> {
  let analysis = analyses.get(summary);
  if (!analysis) {
    analysis = ctx.services.datasets.analysis();
    analyses.set(summary, analysis);
  }
  return analysis;
}

@Resolver(() => DatasetSummary)
export class DatasetAnalysisResolver {
  @FieldResolver(() => [SplitStatistics], { description: 'Class balance, image sizes and formats per split (decodes each image once; remembered by content hash).' })
  async statistics(@Root() summary: DatasetSummary, @Ctx() ctx: AppContext): Promise<SplitStatistics[]> {
    return (await analysisOf(summary, ctx)).statistics.map((s) => ({ ...s, split: s.split as Split }));
  }

  @FieldResolver(() => [DuplicateGroup], { description: 'Files with identical content, within or across splits.' })
  async duplicates(@Root() summary: DatasetSummary, @Ctx() ctx: AppContext): Promise<DuplicateGroup[]> {
    return (await analysisOf(summary, ctx)).duplicates;
  }

  @FieldResolver(() => [NearDuplicatePair], { description: 'Test images nearly identical to a training image (closest first, at most 200).' })
  async nearDuplicates(@Root() summary: DatasetSummary, @Ctx() ctx: AppContext): Promise<NearDuplicatePair[]> {
    return (await analysisOf(summary, ctx)).nearDuplicates;
  }

  @FieldResolver(() => Int, { description: 'All near-duplicate train/test pairs, also those past the list\'s cut.' })
  async nearDuplicateCount(@Root() summary: DatasetSummary, @Ctx() ctx: AppContext): Promise<number> {
    return (await analysisOf(summary, ctx)).nearDuplicateCount;
  }

  @FieldResolver(() => Int, { description: 'Test images that are copies or near copies of training images.' })
  async leakedTestImages(@Root() summary: DatasetSummary, @Ctx() ctx: AppContext): Promise<number> {
    return (await analysisOf(summary, ctx)).leakedTestImages;
  }

  @FieldResolver(() => String, { nullable: true, description: 'Set when test images leak into training: test metrics would be too optimistic.' })
  async leakageWarning(@Root() summary: DatasetSummary, @Ctx() ctx: AppContext): Promise<string | null> {
    return (await analysisOf(summary, ctx)).leakageWarning;
  }

  @FieldResolver(() => [UnreadableImage], { description: 'Image files training would skip, with why.' })
  async unreadableImages(@Root() summary: DatasetSummary, @Ctx() ctx: AppContext): Promise<UnreadableImage[]> {
    return (await analysisOf(summary, ctx)).unreadable;
  }

  @Query(() => DatasetDiff, {
    description: 'Which images `to` was trained and tested on that `from` was not, and the reverse, per split and class. Errors: MODEL_NOT_FOUND, NO_DATASET_MANIFEST (a version saved before manifests were recorded).',
  })
  async datasetDiff(@Arg('from', () => String) from: string, @Arg('to', () => String) to: string, @Ctx() ctx: AppContext): Promise<DatasetDiff> {
    const [older, newer] = await Promise.all([from, to].map((version) => ctx.services.models.getVersion(version)));
    for (const [version, found] of [
      [from, older],
      [to, newer],
    ] as const) {
      if (!found) throw new RegistryError('MODEL_NOT_FOUND', `model version ${version} not found`);
    }
    return DatasetDiff.from(ctx.services.datasets.diff(older!, newer!));
  }
}
