/// <reference types="vite/client" />

declare module 'virtual:training-input' {
  /** One field of the API's TrainingInput, as schema.graphql declares it. */
  export interface TrainingInputFieldSpec {
    name: string;
    /** GraphQL scalar name: Int, Float, Boolean or String. */
    type: string;
    defaultValue: string | number | boolean | null;
    description: string | null;
  }
  export const trainingInputFields: TrainingInputFieldSpec[];
}
