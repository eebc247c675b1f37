import { Field, Float, GraphQLISODateTime, ObjectType, registerEnumType } from 'type-graphql';
import type { KeptPrediction } from '../../store/feedback-store.js';

export enum FeedbackStatus {
  KEPT = 'kept',
  PENDING = 'pending',
  ACCEPTED = 'accepted',
  REJECTED = 'rejected',
  EXPIRED = 'expired',
}

registerEnumType(FeedbackStatus, {
  name: 'FeedbackStatus',
  valuesConfig: {
    KEPT: { description: 'Classified and kept; nobody corrected it yet.' },
    PENDING: { description: 'A correction was submitted: waiting in the review queue.' },
    ACCEPTED: { description: 'Moved into the training set under the corrected label.' },
    REJECTED: { description: 'Turned down in review; the image was deleted.' },
    EXPIRED: { description: 'Nobody corrected it within the retention time; the image was deleted.' },
  },
});

@ObjectType({ description: 'A kept classification and the correction a user submitted for it.' })
export class FeedbackItem {
  @Field(() => String, { description: 'The prediction id classify returned.' })
  id!: string;

  @Field(() => FeedbackStatus)
  status!: FeedbackStatus;

  @Field(() => GraphQLISODateTime)
  createdAt!: string;

  @Field(() => String)
  modelVersion!: string;

  @Field(() => String, { description: 'What the model said.' })
  predictedLabel!: string;

  @Field(() => Float, { nullable: true })
  probability!: number | null;

  @Field(() => String, { nullable: true, description: 'What the user says it is.' })
  trueLabel!: string | null;

  @Field(() => [String], { description: 'The labels the correction may use (the model\'s classes).' })
  classNames!: string[];

  @Field(() => String, { nullable: true })
  fileName!: string | null;

  @Field(() => GraphQLISODateTime, { nullable: true })
  feedbackAt!: string | null;

  @Field(() => GraphQLISODateTime, { nullable: true })
  reviewedAt!: string | null;

  @Field(() => String, { nullable: true, description: 'The dataset image it became (ACCEPTED).' })
  datasetImageId!: string | null;

  /** For the thumbnail resolver (not part of the schema). */
  record!: KeptPrediction;

  static from(record: KeptPrediction): FeedbackItem {
    return {
      id: record.id,
      status: record.status as FeedbackStatus,
      createdAt: record.createdAt,
      modelVersion: record.modelVersion,
      predictedLabel: record.predictedLabel,
      probability: record.probability,
      trueLabel: record.trueLabel,
      classNames: record.classNames,
      fileName: record.fileName,
      feedbackAt: record.feedbackAt,
      reviewedAt: record.reviewedAt,
      datasetImageId: record.datasetImageId,
      record,
    };
  }
}
