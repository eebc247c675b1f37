// Shapes of the dataset management and review answers, as the dashboard selects them.
export type Split = 'TRAIN' | 'TEST';
export type ImportStatus = 'ADDED' | 'DUPLICATE' | 'REJECTED';
export type FeedbackStatus = 'KEPT' | 'PENDING' | 'ACCEPTED' | 'REJECTED' | 'EXPIRED';

export interface ClassShare {
  name: string;
  count: number;
  fraction: number;
}

export interface SplitStatistics {
  split: Split;
  total: number;
  imbalanceRatio: number | null;
  classes: ClassShare[];
  sizes: { minWidth: number; medianWidth: number; maxWidth: number; minHeight: number; medianHeight: number; maxHeight: number; totalBytes: number } | null;
  formats: { format: string; count: number }[];
}

export interface DatasetOverview {
  root: string;
  skippedFiles: string[];
  statistics: SplitStatistics[];
  duplicates: { contentHash: string; imageIds: string[]; crossSplit: boolean; conflictingLabels: boolean }[];
  nearDuplicates: { trainImageId: string; testImageId: string; distance: number }[];
  nearDuplicateCount: number;
  leakedTestImages: number;
  leakageWarning: string | null;
  unreadableImages: { id: string; reason: string }[];
}

export interface DatasetImage {
  id: string;
  split: Split;
  label: string;
  fileName: string;
  width: number | null;
  height: number | null;
  thumbnail: string | null;
}

export interface DatasetImagePage {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: DatasetImage }[];
}

export interface ImportedFile {
  index: number;
  name: string;
  status: ImportStatus;
  split: Split | null;
  label: string | null;
  imageId: string | null;
  duplicateOf: string | null;
  error: { code: string; reason: string | null; message: string } | null;
}

export interface ImportReport {
  added: number;
  duplicates: number;
  rejected: number;
  files: ImportedFile[];
}

export interface FeedbackItem {
  id: string;
  status: FeedbackStatus;
  createdAt: string;
  modelVersion: string;
  predictedLabel: string;
  probability: number | null;
  trueLabel: string | null;
  fileName: string | null;
  feedbackAt: string | null;
  datasetImageId: string | null;
  thumbnail: string | null;
}

export interface DatasetDiff {
  fromVersion: string;
  toVersion: string;
  sameData: boolean;
  added: number;
  removed: number;
  summary: string;
  changes: { split: string; label: string; before: number; after: number; added: number; removed: number }[];
}
