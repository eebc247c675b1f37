// Every GraphQL operation the dashboard sends.
import { gql } from '@urql/core';
import type {
  DatasetSummary,
  ModelList,
  ModelStatus,
  ModelVersion,
  OverviewVersion,
  Prediction,
  TrainingInput,
  TrainingProgressEvent,
  TrainingRun,
  TrainingRunSummary,
} from './types';

const METRICS_FIELDS = gql`
  fragment MetricsFields on ModelMetrics {
    n
    positives
    threshold
    auc
    accuracy
    balancedAccuracy
    sensitivity
    specificity
    ece
    confusionMatrix { tp fp tn fn }
    roc { fpr tpr threshold }
    calibration { lower upper count meanPredicted fractionPositive }
  }
`;

export const SERVICE_STATUS = gql<{ modelStatus: ModelStatus }>`
  query ServiceStatus {
    modelStatus {
      ready
      reason
      activeVersion
      imageSize
      threshold
      positiveClass
      classes
      trainingInProgress
      activeRunId
      backend { name simd threads fallbackReason }
    }
  }
`;

export const ACTIVE_MODEL_HEADLINE = gql<{ model: OverviewVersion | null }, { version: string }>`
  query ActiveModelHeadline($version: String!) {
    model(version: $version) {
      version
      testMetrics { auc sensitivity specificity accuracy n }
      validationMetrics { auc sensitivity specificity accuracy n }
    }
  }
`;

export const DATASET_SUMMARY = gql<{ dataset: DatasetSummary }>`
  query DatasetSummary {
    dataset {
      root
      splits { split total classes { name count } }
      skippedFiles
    }
  }
`;

export const MODEL_VERSIONS = gql<{ models: ModelList }>`
  query ModelVersions {
    models {
      active
      damaged { version reason }
      versions {
        version
        active
        architecture
        backend
        classNames
        positiveClass
        createdAt
        epochsCompleted
        weightsFrom
        imageSize
        threshold
        trainingSeconds
        trainingParams {
          architecture augment batchSize classWeighting earlyStoppingPatience epochs imageSize learningRate seed targetSensitivity validationFraction groupNearDuplicates
        }
        datasetFingerprint { hash counts { split total classes { name count } } }
        testMetrics { ...MetricsFields }
        validationMetrics { ...MetricsFields }
      }
    }
  }
  ${METRICS_FIELDS}
`;

export const PROMOTE_MODEL = gql<{ promoteModel: Pick<ModelVersion, 'version' | 'active'> }, { version: string }>`
  mutation PromoteModel($version: String!) {
    promoteModel(version: $version) { version active }
  }
`;

export const ROLLBACK_MODEL = gql<{ rollbackModel: Pick<ModelVersion, 'version' | 'active'> }>`
  mutation RollbackModel {
    rollbackModel { version active }
  }
`;

export const DELETE_MODEL = gql<{ deleteModel: Pick<ModelList, 'active'> }, { version: string }>`
  mutation DeleteModel($version: String!) {
    deleteModel(version: $version) { active }
  }
`;

export const CLASSIFY_IMAGE = gql<{ classify: Prediction }, { image: File; explain: boolean }>`
  mutation ClassifyImage($image: Upload!, $explain: Boolean) {
    classify(image: $image, explain: $explain) {
      fileName
      probability
      label
      positive
      riskBand
      threshold
      modelVersion
      backend
      preprocessMs
      inferenceMs
      disclaimer
      input { width height format }
      predictionId
      interval { lower upper level }
      inputCheck { status note }
      explanation { method explainedClass heatmapPng width height }
    }
  }
`;

const RUN_SUMMARY_FIELDS = gql`
  fragment RunSummaryFields on TrainingRun {
    id
    status
    trigger
    createdAt
    startedAt
    finishedAt
    modelVersion
    activated
    autoPromote
  }
`;

export const RECENT_TRAINING_RUNS = gql<{ trainingRuns: TrainingRunSummary[] }, { limit: number }>`
  query RecentTrainingRuns($limit: Int!) {
    trainingRuns(limit: $limit) {
      ...RunSummaryFields
      params { epochs imageSize batchSize }
    }
  }
  ${RUN_SUMMARY_FIELDS}
`;

export const TRAINING_RUN = gql<{ trainingRun: TrainingRun | null }, { id: string }>`
  query TrainingRun($id: ID!) {
    trainingRun(id: $id) {
      ...RunSummaryFields
      errorCode
      errorMessage
      params {
        architecture augment batchSize classWeighting earlyStoppingPatience epochs imageSize learningRate seed targetSensitivity validationFraction groupNearDuplicates
      }
      epochs { epoch loss accuracy validationLoss validationAccuracy validationAuc imagesPerSecond learningRate seconds }
      validationMetrics { ...MetricsFields }
      testMetrics { ...MetricsFields }
    }
  }
  ${RUN_SUMMARY_FIELDS}
  ${METRICS_FIELDS}
`;

export const START_TRAINING = gql<{ startTraining: TrainingRunSummary }, { input: TrainingInput }>`
  mutation StartTraining($input: TrainingInput) {
    startTraining(input: $input) {
      ...RunSummaryFields
      params { epochs imageSize batchSize }
    }
  }
  ${RUN_SUMMARY_FIELDS}
`;

export const CANCEL_TRAINING = gql<{ cancelTraining: Pick<TrainingRun, 'id' | 'status'> }, { id: string }>`
  mutation CancelTraining($id: ID!) {
    cancelTraining(id: $id) { id status }
  }
`;

export const TRAINING_PROGRESS = gql<{ trainingProgress: TrainingProgressEvent }, { runId: string }>`
  subscription TrainingProgress($runId: ID!) {
    trainingProgress(runId: $runId) {
      runId kind status stage message done total
      epoch epochs batch batchesPerEpoch loss accuracy imagesPerSecond etaSeconds
      validationLoss validationAccuracy validationAuc
      modelVersion activated errorCode errorMessage
    }
  }
`;
