// Shapes of the API results the dashboard selects (see schema.graphql at the repository root).

export type RiskBand = 'LOW' | 'MEDIUM' | 'HIGH' | 'UNCERTAIN';
export type RunStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'INTERRUPTED';
export type RunTrigger = 'API' | 'CLI' | 'STARTUP';
export type ProgressKind = 'QUEUED' | 'STAGE' | 'DATA' | 'BATCH' | 'EPOCH' | 'FINISHED';

export interface Backend {
  name: string;
  simd: boolean;
  threads: number;
  fallbackReason: string | null;
}

export interface ModelStatus {
  ready: boolean;
  reason: string | null;
  activeVersion: string | null;
  imageSize: number | null;
  threshold: number | null;
  positiveClass: string | null;
  classes: string[] | null;
  trainingInProgress: boolean;
  activeRunId: string | null;
  backend: Backend;
}

export interface ClassCount {
  name: string;
  count: number;
}

export interface SplitCount {
  split: string;
  total: number;
  classes: ClassCount[];
}

export interface DatasetSummary {
  /** The training image folder on the server. */
  root: string;
  splits: SplitCount[];
  skippedFiles: string[];
}

export interface HeadlineMetrics {
  auc: number | null;
  sensitivity: number | null;
  specificity: number | null;
  accuracy: number | null;
  n: number;
}

export interface RocPoint {
  fpr: number | null;
  tpr: number | null;
  threshold: number | null;
}

export interface CalibrationBin {
  lower: number;
  upper: number;
  count: number;
  meanPredicted: number | null;
  fractionPositive: number | null;
}

export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface ModelMetrics {
  n: number;
  positives: number;
  threshold: number;
  auc: number | null;
  accuracy: number | null;
  balancedAccuracy: number | null;
  sensitivity: number | null;
  specificity: number | null;
  ece: number | null;
  confusionMatrix: ConfusionMatrix;
  roc: RocPoint[];
  calibration: CalibrationBin[];
}

export interface TrainingParameters {
  architecture: string;
  augment: boolean;
  batchSize: number;
  classWeighting: boolean;
  earlyStoppingPatience: number;
  epochs: number;
  imageSize: number;
  learningRate: number;
  seed: number;
  targetSensitivity: number;
  validationFraction: number;
  /** null: trained before the option existed (split image by image). */
  groupNearDuplicates: boolean | null;
}

export interface ModelVersion {
  version: string;
  active: boolean;
  architecture: string;
  backend: string;
  classNames: string[];
  positiveClass: string;
  createdAt: string;
  epochsCompleted: number;
  weightsFrom: string | null;
  imageSize: number;
  threshold: number;
  trainingSeconds: number;
  trainingParams: TrainingParameters;
  datasetFingerprint: { hash: string; counts: SplitCount[] } | null;
  testMetrics: ModelMetrics | null;
  validationMetrics: ModelMetrics | null;
}

export interface ModelList {
  active: string | null;
  versions: ModelVersion[];
  damaged: { version: string; reason: string }[];
}

export interface OverviewVersion {
  version: string;
  testMetrics: HeadlineMetrics | null;
  validationMetrics: HeadlineMetrics | null;
}

export interface ImageInfo {
  width: number;
  height: number;
  format: string;
}

export interface Prediction {
  fileName: string | null;
  probability: number;
  label: string;
  positive: boolean;
  riskBand: RiskBand;
  threshold: number;
  modelVersion: string;
  backend: string;
  preprocessMs: number;
  inferenceMs: number;
  disclaimer: string;
  input: ImageInfo;
  /** Set when the server kept the image so the result can be corrected. */
  predictionId: string | null;
  /** Null when the server scores each image once (SCREENING_VIEWS=single). */
  interval: ProbabilityInterval | null;
  inputCheck: InputCheck;
  /** Only when asked for with explain: true. */
  explanation: Explanation | null;
}

/** The spread of the probability over the image's flips and quarter turns. */
export interface ProbabilityInterval {
  lower: number;
  upper: number;
  level: number;
}

export interface InputCheck {
  status: 'PASSED' | 'OFF';
  note: string | null;
}

export interface Explanation {
  method: string;
  explainedClass: string;
  /** PNG data URL of the heatmap alone, at the image's aspect ratio. */
  heatmapPng: string;
  width: number;
  height: number;
}

export interface TrainingEpoch {
  epoch: number;
  loss: number | null;
  accuracy: number | null;
  validationLoss: number | null;
  validationAccuracy: number | null;
  validationAuc: number | null;
  imagesPerSecond: number | null;
  learningRate: number | null;
  seconds: number | null;
}

export interface TrainingRunSummary {
  id: string;
  status: RunStatus;
  trigger: RunTrigger;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  modelVersion: string | null;
  activated: boolean;
  autoPromote: boolean;
  params: Pick<TrainingParameters, 'epochs' | 'imageSize' | 'batchSize'>;
}

export interface TrainingRun extends TrainingRunSummary {
  errorCode: string | null;
  errorMessage: string | null;
  epochs: TrainingEpoch[];
  params: TrainingParameters;
  validationMetrics: ModelMetrics | null;
  testMetrics: ModelMetrics | null;
}

export interface TrainingProgressEvent {
  runId: string;
  kind: ProgressKind;
  status: RunStatus;
  stage: string | null;
  message: string | null;
  done: number | null;
  total: number | null;
  epoch: number | null;
  epochs: number | null;
  batch: number | null;
  batchesPerEpoch: number | null;
  loss: number | null;
  accuracy: number | null;
  imagesPerSecond: number | null;
  etaSeconds: number | null;
  validationLoss: number | null;
  validationAccuracy: number | null;
  validationAuc: number | null;
  modelVersion: string | null;
  activated: boolean | null;
  errorCode: string | null;
  errorMessage: string | null;
}

/** The values the training form sends; omitted fields take the server's defaults. */
export type TrainingInput = Partial<{
  architecture: string;
  augment: boolean;
  autoPromote: boolean;
  batchSize: number;
  classWeighting: boolean;
  earlyStoppingPatience: number;
  averageEpochs: number;
  ensembleMembers: number;
  mixup: number;
  epochs: number;
  imageSize: number;
  learningRate: number;
  seed: number;
  validationFraction: number;
  groupNearDuplicates: boolean;
}>;
