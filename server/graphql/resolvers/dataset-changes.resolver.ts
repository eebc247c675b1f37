import { GraphQLError } from 'graphql';
import { GraphQLUpload, type FileUpload } from 'graphql-upload-minimal';
import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import type { ImportCandidate } from '../../dataset/dataset-folder.js';
import type { Role } from '../auth.js';
import type { AppContext } from '../context.js';
import { describeError } from '../errors.js';
import { readUpload } from '../uploads.js';
import { DatasetImage } from '../types/dataset-image.type.js';
import { ImportReport } from '../types/import-report.type.js';
import { Split } from '../types/split.enum.js';

@Resolver()
export class DatasetChangesResolver {
  @Authorized<Role>('ADMIN')
  @Mutation(() => ImportReport, {
    description:
      'Adds labelled images to <split>/<label>/, each validated, re-encoded without metadata and named by its sha256. A picture already in the dataset is reported as a duplicate and skipped; a bad file is reported and skipped, never half-written. Errors: BAD_USER_INPUT (reason BAD_LABEL, TOO_MANY_CLASSES), TOO_MANY_FILES.',
  })
  async addImages(
    @Arg('images', () => [GraphQLUpload]) images: Promise<FileUpload>[],
    @Arg('label', () => String) label: string,
    @Arg('split', () => Split, { defaultValue: Split.TRAIN }) split: Split,
    @Ctx() ctx: AppContext,
  ): Promise<ImportReport> {
    const { maxFiles, maxUploadBytes } = ctx.limits;
    if (images.length === 0) throw new GraphQLError('images is empty: send at least one file', { extensions: { code: 'BAD_USER_INPUT' } });
    if (images.length > maxFiles) {
      throw new GraphQLError(`at most ${maxFiles} images per request, got ${images.length}`, { extensions: { code: 'TOO_MANY_FILES', maxFiles } });
    }
    // One at a time: the multipart parser hands out a file only after the previous one was read.
    const candidates: ImportCandidate[] = [];
    for (const [index, image] of images.entries()) {
      try {
        const { bytes, fileName } = await readUpload(image, maxUploadBytes);
        candidates.push({ name: fileName ?? `file ${index + 1}`, bytes });
      } catch (error) {
        const known = describeError(error);
        candidates.push({ name: `file ${index + 1}`, error: { code: known?.code ?? 'BAD_REQUEST', message: known?.message ?? String(error) } });
      }
    }
    return ImportReport.from(await ctx.services.datasets.add(candidates, label, split));
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => ImportReport, {
    description:
      'Imports a zip laid out as <label>/<file> (or <split>/<label>/<file>; folders above are ignored); `split` applies where the archive names none. Each file is handled like addImages. The archive counts against the upload size limit: import larger ones with `npm run dataset:import`. Errors: BAD_USER_INPUT (reason BAD_ARCHIVE), PAYLOAD_TOO_LARGE.',
  })
  async importDatasetArchive(
    @Arg('archive', () => GraphQLUpload) archive: Promise<FileUpload>,
    @Arg('split', () => Split, { defaultValue: Split.TRAIN }) split: Split,
    @Ctx() ctx: AppContext,
  ): Promise<ImportReport> {
    const { bytes } = await readUpload(archive, ctx.limits.maxUploadBytes);
    return ImportReport.from(await ctx.services.datasets.importArchive(bytes, split));
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => DatasetImage, { description: 'Deletes one image and returns what it was (its file is gone, so its thumbnail is null). Errors: IMAGE_NOT_FOUND, BAD_USER_INPUT (reason BAD_IMAGE_ID).' })
  async removeImage(@Arg('id', () => String) id: string, @Ctx() ctx: AppContext): Promise<DatasetImage> {
    return DatasetImage.from(await ctx.services.datasets.remove(id));
  }

  @Authorized<Role>('ADMIN')
  @Mutation(() => DatasetImage, {
    description: 'Relabels an image and/or moves it to another split, in one rename; returns it under its new id. Errors: IMAGE_NOT_FOUND, IMAGE_EXISTS, BAD_USER_INPUT (reason BAD_IMAGE_ID, BAD_LABEL, TOO_MANY_CLASSES).',
  })
  async moveImage(
    @Arg('id', () => String) id: string,
    @Arg('label', () => String, { nullable: true, description: 'The new class; unchanged when omitted.' }) label: string | undefined,
    @Arg('split', () => Split, { nullable: true, description: 'The new split; unchanged when omitted.' }) split: Split | undefined,
    @Ctx() ctx: AppContext,
  ): Promise<DatasetImage> {
    return DatasetImage.from(await ctx.services.datasets.move(id, { label: label ?? undefined, split: split ?? undefined }));
  }
}
