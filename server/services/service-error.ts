// Errors the application services raise for the API to turn into coded GraphQL errors.
export type ServiceErrorCode = 'MODEL_NOT_READY' | 'OVERLOADED' | 'INFERENCE_FAILED' | 'TRAINING_UNAVAILABLE' | 'TRAINING_IN_PROGRESS' | 'RUN_NOT_FOUND' | 'RUN_FINISHED' | 'BAD_TRAINING_INPUT';

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}
