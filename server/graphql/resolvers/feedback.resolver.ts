import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { GraphQLError } from 'graphql';
import type { Role } from '../auth.js';
import type { AppContext } from '../context.js';
import { FeedbackItem, FeedbackStatus } from '../types/feedback-item.type.js';
import { Split } from '../types/split.enum.js';

const MAX_ITEMS = 500;

@Resolver(() => FeedbackItem)
export class FeedbackResolver {
  @Authorized<Role>('CLASSIFY')
  @Mutation(() => FeedbackItem, {
    description:
      'Says what a kept prediction really was; it joins the review queue (status PENDING). Only predictions classify returned an id for (the server keeps images when KEEP_CLASSIFIED_IMAGES is on). Errors: PREDICTION_NOT_FOUND, FEEDBACK_NOT_PENDING, BAD_USER_INPUT (reason BAD_LABEL).',
  })
  submitFeedback(@Arg('predictionId', () => String) predictionId: string, @Arg('trueLabel', () => String) trueLabel: string, @Ctx() ctx: AppContext): FeedbackItem {
    return FeedbackItem.from(ctx.services.feedback.submit(predictionId, trueLabel));
  }

  @Authorized<Role>('ADMIN')
  @Query(() => [FeedbackItem], { description: 'The review queue (PENDING, oldest correction first) or the items in another status.' })
  feedbackQueue(
    @Arg('status', () => FeedbackStatus, { defaultValue: FeedbackStatus.PENDING }) status: FeedbackStatus,
    @Arg('limit', () => Int, { defaultValue: 50, description: `1..${MAX_ITEMS}.` }) limit: number,
    @Ctx() ctx: AppContext,
  ): FeedbackItem[] {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_ITEMS) throw new GraphQLError(`limit must be between 1 and ${MAX_ITEMS}, got ${limit}`, { extensions: { code: 'BAD_USER_INPUT' } });
    return ctx.services.feedback.list(status, limit).map((record) => FeedbackItem.from(record));
  }

  @Authorized<Role>('ADMIN')
  @Query(() => Int, { description: 'How many corrections wait for review.' })
  pendingFeedbackCount(@Ctx() ctx: AppContext): number {
    return ctx.services.feedback.count('pending');
  }

  @Authorized<Role>('ADMIN')
  @Query(() => Boolean, { description: 'Whether classify keeps images so users can correct them (KEEP_CLASSIFIED_IMAGES).' })
  keepsClassifiedImages(@Ctx() ctx: AppContext): boolean {
    return ctx.services.feedback.keepsImages;
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => FeedbackItem, {
    description: 'Moves the corrected image into <split>/<true label>/ (the training set by default) and deletes the kept copy. Errors: PREDICTION_NOT_FOUND, FEEDBACK_NOT_PENDING, BAD_USER_INPUT (reason TOO_MANY_CLASSES).',
  })
  async acceptFeedback(@Arg('id', () => String) id: string, @Arg('split', () => Split, { defaultValue: Split.TRAIN }) split: Split, @Ctx() ctx: AppContext): Promise<FeedbackItem> {
    return FeedbackItem.from(await ctx.services.feedback.accept(id, split));
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => FeedbackItem, { description: 'Turns the correction down and deletes the kept image. Errors: PREDICTION_NOT_FOUND, FEEDBACK_NOT_PENDING.' })
  async rejectFeedback(@Arg('id', () => String) id: string, @Ctx() ctx: AppContext): Promise<FeedbackItem> {
    return FeedbackItem.from(await ctx.services.feedback.reject(id));
  }

  @Authorized<Role>('ADMIN')
  @FieldResolver(() => String, { nullable: true, description: 'A square preview as a data URL (image/webp) while the image is kept; null once deleted.' })
  async thumbnail(@Root() item: FeedbackItem, @Arg('size', () => Int, { defaultValue: 96 }) size: number, @Ctx() ctx: AppContext): Promise<string | null> {
    const file = ctx.services.feedback.imagePath(item.record);
    if (!file) return null;
    return ctx.services.datasets.thumbnailOf(`feedback:${item.id}`, file, Math.min(256, Math.max(16, Math.round(size)))).catch(() => null);
  }
}
