// The GraphQL operations of the Dataset and Review pages and of the "correct this prediction" control.
import { gql } from '@urql/core';
import type { DatasetDiff, DatasetImage, DatasetImagePage, DatasetOverview, FeedbackItem, ImportReport, Split } from './dataset-types';

export const DATASET_OVERVIEW = gql<{ dataset: DatasetOverview }>`
  query DatasetOverview {
    dataset {
      root
      skippedFiles
      statistics {
        split
        total
        imbalanceRatio
        classes { name count fraction }
        sizes { minWidth medianWidth maxWidth minHeight medianHeight maxHeight totalBytes }
        formats { format count }
      }
      duplicates { contentHash imageIds crossSplit conflictingLabels }
      nearDuplicates { trainImageId testImageId distance }
      nearDuplicateCount
      leakedTestImages
      leakageWarning
      unreadableImages { id reason }
    }
  }
`;

export const DATASET_IMAGES = gql<{ datasetImages: DatasetImagePage }, { split: Split; label: string | null; first: number; after: string | null }>`
  query DatasetImages($split: Split!, $label: String, $first: Int!, $after: String) {
    datasetImages(split: $split, label: $label, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id split label fileName width height thumbnail(size: 96) } }
    }
  }
`;

const REPORT_FIELDS = gql`
  fragment ImportReportFields on ImportReport {
    added
    duplicates
    rejected
    files { index name status split label imageId duplicateOf error { code reason message } }
  }
`;

export const ADD_IMAGES = gql<{ addImages: ImportReport }, { images: File[]; label: string; split: Split }>`
  mutation AddImages($images: [Upload!]!, $label: String!, $split: Split!) {
    addImages(images: $images, label: $label, split: $split) { ...ImportReportFields }
  }
  ${REPORT_FIELDS}
`;

export const IMPORT_ARCHIVE = gql<{ importDatasetArchive: ImportReport }, { archive: File; split: Split }>`
  mutation ImportDatasetArchive($archive: Upload!, $split: Split!) {
    importDatasetArchive(archive: $archive, split: $split) { ...ImportReportFields }
  }
  ${REPORT_FIELDS}
`;

export const MOVE_IMAGE = gql<{ moveImage: Pick<DatasetImage, 'id' | 'split' | 'label'> }, { id: string; label?: string; split?: Split }>`
  mutation MoveImage($id: String!, $label: String, $split: Split) {
    moveImage(id: $id, label: $label, split: $split) { id split label }
  }
`;

export const REMOVE_IMAGE = gql<{ removeImage: { id: string } }, { id: string }>`
  mutation RemoveImage($id: String!) {
    removeImage(id: $id) { id }
  }
`;

export const DATASET_DIFF = gql<{ datasetDiff: DatasetDiff }, { from: string; to: string }>`
  query DatasetDiff($from: String!, $to: String!) {
    datasetDiff(from: $from, to: $to) {
      fromVersion
      toVersion
      sameData
      added
      removed
      summary
      changes { split label before after added removed }
    }
  }
`;

export const REVIEW_QUEUE = gql<{ feedbackQueue: FeedbackItem[]; keepsClassifiedImages: boolean }>`
  query ReviewQueue {
    keepsClassifiedImages
    feedbackQueue(status: PENDING, limit: 100) {
      id
      status
      createdAt
      modelVersion
      predictedLabel
      probability
      trueLabel
      fileName
      feedbackAt
      datasetImageId
      thumbnail(size: 128)
    }
  }
`;

export const SUBMIT_FEEDBACK = gql<{ submitFeedback: Pick<FeedbackItem, 'id' | 'status' | 'trueLabel'> }, { predictionId: string; trueLabel: string }>`
  mutation SubmitFeedback($predictionId: String!, $trueLabel: String!) {
    submitFeedback(predictionId: $predictionId, trueLabel: $trueLabel) { id status trueLabel }
  }
`;

export const ACCEPT_FEEDBACK = gql<{ acceptFeedback: Pick<FeedbackItem, 'id' | 'status' | 'datasetImageId'> }, { id: string }>`
  mutation AcceptFeedback($id: String!) {
    acceptFeedback(id: $id) { id status datasetImageId }
  }
`;

export const REJECT_FEEDBACK = gql<{ rejectFeedback: Pick<FeedbackItem, 'id' | 'status'> }, { id: string }>`
  mutation RejectFeedback($id: String!) {
    rejectFeedback(id: $id) { id status }
  }
`;
