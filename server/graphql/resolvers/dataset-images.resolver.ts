import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { DatasetChangeError } from '../../dataset/dataset-change-error.js';
import { checkLabel } from '../../dataset/layout.js';
import type { Role } from '../auth.js';
import type { AppContext } from '../context.js';
import { DatasetImageConnection } from '../types/dataset-image-connection.type.js';
import { DatasetImage } from '../types/dataset-image.type.js';
import { Split } from '../types/split.enum.js';

const MAX_PAGE = 100;
const MIN_THUMBNAIL = 16;
const MAX_THUMBNAIL = 256;

/** Opaque to clients: the (label, file name) position of an image. */
export function encodeCursor(position: { label: string; fileName: string }): string {
  return Buffer.from(JSON.stringify([position.label, position.fileName]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { label: string; fileName: string } {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) return { label: value[0], fileName: value[1] };
  } catch {
    // Reported below.
  }
  throw new DatasetChangeError('BAD_CURSOR', `"${cursor.slice(0, 80)}" is not a cursor this server handed out`);
}

@Resolver(() => DatasetImage)
export class DatasetImageResolver {
  @Authorized<Role>('ADMIN')
  @Query(() => DatasetImageConnection, { description: 'Browses the image folder a page at a time, ordered by label and file name. Errors: BAD_USER_INPUT (reason BAD_CURSOR, BAD_LABEL).' })
  async datasetImages(
    @Arg('split', () => Split, { defaultValue: Split.TRAIN }) split: Split,
    @Arg('label', () => String, { nullable: true, description: 'Only this class; all classes when omitted.' }) label: string | undefined,
    @Arg('first', () => Int, { defaultValue: 24, description: `1..${MAX_PAGE}.` }) first: number,
    @Arg('after', () => String, { nullable: true, description: 'The endCursor of the previous page.' }) after: string | undefined,
    @Ctx() ctx: AppContext,
  ): Promise<DatasetImageConnection> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) {
      throw new GraphQLError(`first must be between 1 and ${MAX_PAGE}, got ${first}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
    const page = await ctx.services.datasets.page({
      split,
      label: label == null ? undefined : checkLabel(label),
      first,
      after: after == null ? undefined : decodeCursor(after),
    });
    const edges = page.images.map((image) => ({ cursor: encodeCursor(image), node: DatasetImage.from(image) }));
    return {
      edges,
      totalCount: page.totalCount,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        hasPreviousPage: after != null,
        startCursor: edges[0]?.cursor ?? null,
        endCursor: edges[edges.length - 1]?.cursor ?? null,
      },
    };
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: `A square preview as a data URL (image/webp); size ${MIN_THUMBNAIL}..${MAX_THUMBNAIL} pixels. Null when the file is gone (a removed image) or cannot be decoded.`,
  })
  thumbnail(@Root() image: DatasetImage, @Arg('size', () => Int, { defaultValue: 96 }) size: number, @Ctx() ctx: AppContext): Promise<string | null> {
    return ctx.services.datasets.thumbnail(image.source, Math.min(MAX_THUMBNAIL, Math.max(MIN_THUMBNAIL, Math.round(size)))).catch(() => null);
  }

  @FieldResolver(() => Int, { nullable: true, description: 'Null when the file cannot be decoded (see problem).' })
  async width(@Root() image: DatasetImage, @Ctx() ctx: AppContext): Promise<number | null> {
    return (await ctx.services.datasets.facts(image.source)).width;
  }

  @FieldResolver(() => Int, { nullable: true })
  async height(@Root() image: DatasetImage, @Ctx() ctx: AppContext): Promise<number | null> {
    return (await ctx.services.datasets.facts(image.source)).height;
  }

  @FieldResolver(() => String, { nullable: true, description: 'jpeg, png, webp, tiff or gif.' })
  async format(@Root() image: DatasetImage, @Ctx() ctx: AppContext): Promise<string | null> {
    return (await ctx.services.datasets.facts(image.source)).format;
  }

  @FieldResolver(() => String, { nullable: true, description: 'Why training cannot use this file; null when it can.' })
  async problem(@Root() image: DatasetImage, @Ctx() ctx: AppContext): Promise<string | null> {
    return (await ctx.services.datasets.facts(image.source)).problem;
  }
}
