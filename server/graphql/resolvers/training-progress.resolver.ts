import { Arg, Authorized, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { TrainingProgressEvent } from '../../services/training-service.js';
import type { Role } from '../auth.js';
import { TRAINING_PROGRESS } from '../progress-pubsub.js';
import { TrainingProgress } from '../types/training-progress.type.js';

@Resolver()
export class TrainingProgressResolver {
  @Authorized<Role>('ADMIN')
  @Subscription(() => TrainingProgress, {
    topics: TRAINING_PROGRESS,
    filter: ({ payload, args }: { payload: TrainingProgressEvent; args: { runId?: string | null } }) => !args.runId || payload.runId === args.runId,
    description: 'Live events of one training run, or of every run when runId is omitted. Only events after subscribing are sent; read trainingRun for the history.',
  })
  trainingProgress(@Root() event: TrainingProgressEvent, @Arg('runId', () => ID, { nullable: true }) _runId: string | undefined): TrainingProgress {
    return TrainingProgress.from(event);
  }
}
