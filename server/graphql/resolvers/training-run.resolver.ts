import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { TrainingInput as ServiceTrainingInput } from '../../services/training-service.js';
import type { Role } from '../auth.js';
import type { AppContext } from '../context.js';
import { RunStatus } from '../types/run-status.enum.js';
import { TrainingInput } from '../types/training-input.input.js';
import { TrainingRun } from '../types/training-run.type.js';

const MAX_RUNS_PER_PAGE = 500;

/** Omitted and null fields both mean "use the default". */
function definedFields(input: TrainingInput | undefined): ServiceTrainingInput {
  return Object.fromEntries(Object.entries(input ?? {}).filter(([, value]) => value !== null && value !== undefined));
}

@Resolver()
export class TrainingRunResolver {
  @Query(() => [TrainingRun], { description: 'Training runs, newest first.' })
  trainingRuns(
    @Arg('limit', () => Int, { defaultValue: 50, description: `1..${MAX_RUNS_PER_PAGE}.` }) limit: number,
    @Arg('status', () => RunStatus, { nullable: true, description: 'Only runs in this status.' }) status: RunStatus | undefined,
    @Ctx() ctx: AppContext,
  ): TrainingRun[] {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RUNS_PER_PAGE) {
      throw new GraphQLError(`limit must be between 1 and ${MAX_RUNS_PER_PAGE}, got ${limit}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return ctx.services.runs.list({ limit, status: status ?? undefined }).map((r) => TrainingRun.from(r));
  }

  @Query(() => TrainingRun, { nullable: true, description: 'One run; null when there is no run with that id.' })
  trainingRun(@Arg('id', () => ID) id: string, @Ctx() ctx: AppContext): TrainingRun | null {
    const run = ctx.services.runs.get(id);
    return run ? TrainingRun.from(run) : null;
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => TrainingRun, {
    description:
      'Starts training on the server\'s image folder in the background and returns the run at once; follow it with the trainingProgress subscription. One run at a time: TRAINING_IN_PROGRESS while another is queued or runs (TRAINING_UNAVAILABLE when the job queue of a scaled-out deployment is unreachable); BAD_USER_INPUT (reason BAD_TRAINING_INPUT) names a field out of range.',
  })
  async startTraining(@Arg('input', () => TrainingInput, { nullable: true }) input: TrainingInput | undefined, @Ctx() ctx: AppContext): Promise<TrainingRun> {
    return TrainingRun.from(await ctx.services.training.start(definedFields(input), 'api'));
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => TrainingRun, {
    description: 'Asks the run to stop after its current batch; nothing is saved. Its final status (CANCELLED) arrives as a FINISHED progress event. Errors: RUN_NOT_FOUND, RUN_FINISHED.',
  })
  async cancelTraining(@Arg('id', () => ID) id: string, @Ctx() ctx: AppContext): Promise<TrainingRun> {
    return TrainingRun.from(await ctx.services.training.cancel(id));
  }
}
