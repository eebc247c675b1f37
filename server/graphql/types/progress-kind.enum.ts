import { registerEnumType } from 'type-graphql';

export enum ProgressKind {
  QUEUED = 'queued',
  STAGE = 'stage',
  DATA = 'data',
  BATCH = 'batch',
  EPOCH = 'epoch',
  FINISHED = 'finished',
}

registerEnumType(ProgressKind, {
  name: 'ProgressKind',
  description: 'Which fields of a TrainingProgress event are set.',
  valuesConfig: {
    QUEUED: { description: 'The run was accepted.' },
    STAGE: { description: 'A new stage began: stage, message.' },
    DATA: { description: 'Images decoded so far: done, total.' },
    BATCH: { description: 'A training batch finished: epoch, epochs, batch, batchesPerEpoch, loss, accuracy, imagesPerSecond, etaSeconds.' },
    EPOCH: { description: 'An epoch finished: the batch fields plus the validation figures.' },
    FINISHED: { description: 'The run ended (status says how): modelVersion, activated, errorCode, errorMessage.' },
  },
});
