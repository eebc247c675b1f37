import { Ctx, Query, Resolver } from 'type-graphql';
import type { AppContext } from '../context.js';
import { BackendType } from '../types/backend.type.js';
import { ModelStatus } from '../types/model-status.type.js';

@Resolver()
export class ModelStatusResolver {
  @Query(() => ModelStatus, { description: 'Whether classification is available, with which model, and whether a training run is in progress.' })
  modelStatus(@Ctx() ctx: AppContext): ModelStatus {
    const { models, training, backend } = ctx.services;
    const status = models.status();
    const run = training.activeRun();
    return {
      ready: status.ready,
      reason: status.reason,
      activeVersion: status.activeVersion,
      backend: BackendType.from(backend),
      imageSize: status.imageSize,
      classes: status.classNames,
      positiveClass: status.positiveClass,
      threshold: status.threshold,
      screeningViews: models.screeningViews,
      trainingInProgress: run !== null,
      activeRunId: run?.id ?? null,
    };
  }
}
