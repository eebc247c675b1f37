import { GraphQLError } from 'graphql';
import { GraphQLUpload, type FileUpload } from 'graphql-upload-minimal';
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { Classification } from '../../ml/classifier.js';
import type { ImageErrorCode } from '../../ml/image-error.js';
import type { Role } from '../auth.js';
import type { AppContext } from '../context.js';
import { describeError } from '../errors.js';
import { readUpload } from '../uploads.js';
import { ClassificationError } from '../types/classification-error.type.js';
import { PredictionResult } from '../types/prediction-result.type.js';
import { Prediction } from '../types/prediction.type.js';

// The record's type makes the compiler flag any image code added later and not listed here.
const IMAGE_CODES: Record<ImageErrorCode, true> = {
  EMPTY_FILE: true,
  NOT_AN_IMAGE: true,
  UNSUPPORTED_FORMAT: true,
  TRUNCATED_IMAGE: true,
  IMAGE_TOO_LARGE: true,
  IMAGE_TOO_SMALL: true,
};

/** A batch item's error in the same terms a single `classify` would raise it. */
function itemError(error: { code: string; reason?: string; message: string }, ctx: AppContext): ClassificationError {
  if (error.code in IMAGE_CODES) return { code: 'BAD_USER_INPUT', reason: error.code, message: error.message };
  if (error.code !== 'INTERNAL_SERVER_ERROR') return { code: error.code, reason: error.reason ?? null, message: error.message };
  ctx.log.error(`classifyBatch: an image failed unexpectedly: ${error.message}`);
  return { code: 'INTERNAL_SERVER_ERROR', reason: null, message: ctx.production ? 'Internal server error' : error.message };
}

/** The id a correction can refer to when the server keeps images for review; a failure to keep never fails the classification. */
async function keepForReview(ctx: AppContext, bytes: Buffer, result: Classification, fileName: string | null): Promise<string | null> {
  if (!ctx.services.feedback.keepsImages) return null;
  const classNames = ctx.services.models.status().classNames ?? [result.label];
  return ctx.services.feedback.keep(bytes, { ...result, classNames }, fileName).catch((error: unknown) => {
    ctx.log.error('classify: the image could not be kept for review', error);
    return null;
  });
}

@Resolver()
export class ClassifyResolver {
  @Authorized<Role>('CLASSIFY')
  @Mutation(() => Prediction, {
    description:
      'Screens one dermoscopic image (jpeg, png, webp, tiff or gif) with the active model. Send it as a GraphQL multipart request with the header apollo-require-preflight: true. An image the input guard finds unsuitable (too small, blurred, badly exposed, noise or print, or unlike a skin-lesion photo) is refused with UNSUITABLE_IMAGE and a reason instead of a probability.',
  })
  async classify(
    @Arg('image', () => GraphQLUpload) image: Promise<FileUpload>,
    @Arg('explain', () => Boolean, { defaultValue: false, description: 'Also return the Grad-CAM heatmap (explanation field).' }) explain: boolean,
    @Ctx() ctx: AppContext,
  ): Promise<Prediction> {
    const { bytes, fileName } = await readUpload(image, ctx.limits.maxUploadBytes);
    const result = await ctx.services.models.classify(bytes, { explain });
    ctx.recordClassification(result);
    const predictionId = await keepForReview(ctx, bytes, result, fileName);
    return { ...Prediction.from(result, ctx.services.backend.name, fileName), predictionId };
  }

  @Authorized<Role>('CLASSIFY')
  @Mutation(() => [PredictionResult], {
    description: 'Screens several images in one forward pass. A bad file gets its own error item; the others are still classified.',
  })
  async classifyBatch(@Arg('images', () => [GraphQLUpload]) images: Promise<FileUpload>[], @Ctx() ctx: AppContext): Promise<PredictionResult[]> {
    const { maxFiles, maxUploadBytes } = ctx.limits;
    if (images.length === 0) throw new GraphQLError('images is empty: send at least one file', { extensions: { code: 'BAD_USER_INPUT' } });
    if (images.length > maxFiles) {
      throw new GraphQLError(`at most ${maxFiles} images per request, got ${images.length}`, { extensions: { code: 'TOO_MANY_FILES', maxFiles } });
    }
    // One at a time: the multipart parser hands out a file only after the previous one was read.
    const read: Array<{ fileName: string | null; bytes?: Buffer; error?: ClassificationError }> = [];
    for (const image of images) {
      try {
        read.push(await readUpload(image, maxUploadBytes));
      } catch (error) {
        const known = describeError(error) ?? { code: 'INTERNAL_SERVER_ERROR', reason: null, message: String(error) };
        read.push({ fileName: null, error: known });
      }
    }
    const readable = read.filter((r) => r.bytes !== undefined);
    const outcomes = readable.length > 0 ? await ctx.services.models.classifyMany(readable.map((r) => r.bytes!)) : [];
    let next = 0;
    return Promise.all(
      read.map(async (item, index): Promise<PredictionResult> => {
        if (item.error) return { index, fileName: item.fileName, prediction: null, error: item.error };
        const outcome = outcomes[next++];
        if ('error' in outcome) return { index, fileName: item.fileName, prediction: null, error: itemError(outcome.error, ctx) };
        ctx.recordClassification(outcome);
        // Kept like a single classification's image, so each item can be corrected and reviewed.
        const predictionId = await keepForReview(ctx, item.bytes!, outcome, item.fileName);
        return { index, fileName: item.fileName, prediction: { ...Prediction.from(outcome, ctx.services.backend.name, item.fileName), predictionId }, error: null };
      }),
    );
  }
}
