// The executable schema, built from the type-graphql classes, and its printed form (schema.graphql).
import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { authChecker } from './auth.js';
import { createProgressPubSub, schemaPubSub, type ProgressPubSub } from './progress-pubsub.js';
import { ClassifyResolver } from './resolvers/classify.resolver.js';
import { DatasetResolver } from './resolvers/dataset.resolver.js';
import { DatasetAnalysisResolver } from './resolvers/dataset-analysis.resolver.js';
import { DatasetChangesResolver } from './resolvers/dataset-changes.resolver.js';
import { DatasetImageResolver } from './resolvers/dataset-images.resolver.js';
import { FeedbackResolver } from './resolvers/feedback.resolver.js';
import { ModelStatusResolver } from './resolvers/model-status.resolver.js';
import { ModelResolver } from './resolvers/model.resolver.js';
import { TrainingProgressResolver } from './resolvers/training-progress.resolver.js';
import { TrainingRunResolver } from './resolvers/training-run.resolver.js';

export const SCHEMA_FILE = 'schema.graphql';

export function buildAppSchema(pubSub: ProgressPubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      ClassifyResolver,
      ModelStatusResolver,
      ModelResolver,
      TrainingRunResolver,
      TrainingProgressResolver,
      DatasetResolver,
      DatasetAnalysisResolver,
      DatasetImageResolver,
      DatasetChangesResolver,
      FeedbackResolver,
    ],
    pubSub: schemaPubSub(pubSub),
    authChecker,
    validate: false,
  });
}

/** Sorted SDL, so the checked-in file changes only when the schema does. */
export function printAppSchema(schema: GraphQLSchema): string {
  return `# Generated from the type-graphql classes in server/graphql by "npm run schema". Do not edit.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}

/** The SDL of the schema the server runs (no services needed). */
export async function currentSchemaText(): Promise<string> {
  return printAppSchema(await buildAppSchema(createProgressPubSub()));
}
