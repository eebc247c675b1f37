import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { ImportReport as Report } from '../../dataset/dataset-folder.js';
import { ClassificationError } from './classification-error.type.js';
import { Split } from './split.enum.js';

export enum ImportStatus {
  ADDED = 'added',
  DUPLICATE = 'duplicate',
  REJECTED = 'rejected',
}

registerEnumType(ImportStatus, {
  name: 'ImportStatus',
  valuesConfig: {
    ADDED: { description: 'Stored in the dataset.' },
    DUPLICATE: { description: 'The same picture is already in the dataset (see duplicateOf); nothing was written.' },
    REJECTED: { description: 'Not an image training could use, or no usable label (see error); nothing was written.' },
  },
});

// Codes that say the file or its placement was wrong, reported like classify's BAD_USER_INPUT.
const INPUT_REASONS = new Set([
  'EMPTY_FILE',
  'NOT_AN_IMAGE',
  'UNSUPPORTED_FORMAT',
  'TRUNCATED_IMAGE',
  'IMAGE_TOO_LARGE',
  'IMAGE_TOO_SMALL',
  'BAD_LABEL',
  'TOO_MANY_CLASSES',
  'BAD_ARCHIVE',
  'NO_DIAGNOSIS',
]);

@ObjectType({ description: 'What happened to one offered file.' })
export class ImportedFile {
  @Field(() => Int, { description: 'Position in the request or archive.' })
  index!: number;

  @Field(() => String, { description: 'The file name or archive entry it came as.' })
  name!: string;

  @Field(() => ImportStatus)
  status!: ImportStatus;

  @Field(() => Split, { nullable: true })
  split!: Split | null;

  @Field(() => String, { nullable: true })
  label!: string | null;

  @Field(() => String, { nullable: true, description: 'The new image id (ADDED).' })
  imageId!: string | null;

  @Field(() => String, { nullable: true, description: 'sha256 of the stored (re-encoded) file.' })
  contentHash!: string | null;

  @Field(() => String, { nullable: true, description: 'The image already holding this picture (DUPLICATE).' })
  duplicateOf!: string | null;

  @Field(() => ClassificationError, { nullable: true, description: 'Why it was rejected: BAD_USER_INPUT with a reason (NOT_AN_IMAGE, BAD_LABEL, TOO_MANY_CLASSES, ...), or PAYLOAD_TOO_LARGE.' })
  error!: ClassificationError | null;
}

@ObjectType({ description: 'The outcome of adding or importing images: every file is listed; bad ones were skipped, never half-written.' })
export class ImportReport {
  @Field(() => Int)
  added!: number;

  @Field(() => Int)
  duplicates!: number;

  @Field(() => Int)
  rejected!: number;

  @Field(() => [ImportedFile])
  files!: ImportedFile[];

  static from(report: Report): ImportReport {
    return {
      added: report.added,
      duplicates: report.duplicates,
      rejected: report.rejected,
      files: report.items.map((item) => ({
        index: item.index,
        name: item.name,
        status: item.status as ImportStatus,
        split: item.split as Split | null,
        label: item.label,
        imageId: item.id,
        contentHash: item.contentHash,
        duplicateOf: item.duplicateOf,
        error:
          item.status === 'rejected'
            ? INPUT_REASONS.has(item.code ?? '')
              ? { code: 'BAD_USER_INPUT', reason: item.code, message: item.message ?? '' }
              : { code: item.code ?? 'INTERNAL_SERVER_ERROR', reason: null, message: item.message ?? '' }
            : null,
      })),
    };
  }
}
