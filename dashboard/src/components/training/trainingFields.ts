// The training form's fields: labels and input limits here, defaults and descriptions from the
// API's TrainingInput (read from schema.graphql when the dashboard is built).
import { trainingInputFields } from 'virtual:training-input';
import type { TrainingInput } from '../../api/types';

export type TrainingFieldName = keyof TrainingInput;

export interface TrainingField {
  name: TrainingFieldName;
  label: string;
  kind: 'integer' | 'decimal' | 'toggle' | 'text';
  min?: number;
  max?: number;
  step?: number | 'any';
  /** Shown under "More settings". */
  advanced?: boolean;
  defaultValue: string | number | boolean | null;
  description: string | null;
}

type FieldLayout = Omit<TrainingField, 'defaultValue' | 'description'>;

const LAYOUT: FieldLayout[] = [
  { name: 'epochs', label: 'Epochs', kind: 'integer', min: 1, max: 500, step: 1 },
  { name: 'batchSize', label: 'Batch size', kind: 'integer', min: 1, max: 512, step: 1 },
  { name: 'learningRate', label: 'Learning rate', kind: 'decimal', min: 0, max: 1, step: 'any' },
  { name: 'imageSize', label: 'Image size (px)', kind: 'integer', min: 16, max: 384, step: 1 },
  { name: 'autoPromote', label: 'Promote automatically if better', kind: 'toggle' },
  { name: 'validationFraction', label: 'Validation share', kind: 'decimal', min: 0, max: 0.5, step: 0.01, advanced: true },
  { name: 'groupNearDuplicates', label: 'Keep near-duplicates out of validation', kind: 'toggle', advanced: true },
  { name: 'earlyStoppingPatience', label: 'Early-stopping patience (epochs)', kind: 'integer', min: 0, max: 500, step: 1, advanced: true },
  { name: 'averageEpochs', label: 'Average the last epochs (0 = off)', kind: 'integer', min: 0, max: 500, step: 1, advanced: true },
  { name: 'mixup', label: 'Mixup alpha (0 = off)', kind: 'decimal', min: 0, max: 4, step: 'any', advanced: true },
  { name: 'ensembleMembers', label: 'Networks in the ensemble (1 = one)', kind: 'integer', min: 1, max: 8, step: 1, advanced: true },
  { name: 'seed', label: 'Random seed', kind: 'integer', min: 0, max: 4294967295, step: 1, advanced: true },
  { name: 'architecture', label: 'Architecture', kind: 'text', advanced: true },
  { name: 'augment', label: 'Augment images', kind: 'toggle', advanced: true },
  { name: 'classWeighting', label: 'Weight classes by frequency', kind: 'toggle', advanced: true },
];

const fromSchema = new Map(trainingInputFields.map((f) => [f.name, f]));

export const TRAINING_FIELDS: TrainingField[] = LAYOUT.filter((f) => fromSchema.has(f.name)).map((f) => ({
  ...f,
  defaultValue: fromSchema.get(f.name)?.defaultValue ?? null,
  description: fromSchema.get(f.name)?.description ?? null,
}));

export function defaultTrainingValues(): Record<TrainingFieldName, string | number | boolean | null> {
  return Object.fromEntries(TRAINING_FIELDS.map((f) => [f.name, f.defaultValue])) as Record<TrainingFieldName, string | number | boolean | null>;
}
