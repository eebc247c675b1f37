// Prometheus metrics of one server instance (own registry, so several servers in one process,
// as in tests, do not collide): GraphQL requests by operation, classification latency, training state.
import type { ApolloServerPlugin } from '@apollo/server';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Classification } from '../ml/classifier.js';
import type { BatcherStats } from '../services/classify-batcher.js';

// Operation names come from clients: only well-formed names become labels, and only so many,
// so a client cannot grow the label set without bound.
const MAX_OPERATION_NAMES = 100;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export interface AppMetrics {
  registry: Registry;
  recordClassification(result: Classification): void;
  /** A request answered with an error before it reached GraphQL execution (size limits, CSRF, bad multipart). */
  recordRefusal(code: string): void;
  apolloPlugin: ApolloServerPlugin;
}

export function createMetrics(options: { trainingInProgress: () => boolean; modelReady: () => boolean; classifyBatching: () => BatcherStats }): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'graphql_requests_total',
    help: 'GraphQL operations over HTTP, by operation name, type and outcome (ok, error).',
    labelNames: ['operation', 'type', 'outcome'] as const,
    registers: [registry],
  });
  const refused = new Counter({
    name: 'graphql_requests_refused_total',
    help: 'HTTP requests to /graphql refused before execution, by error code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'graphql_request_duration_seconds',
    help: 'Time from receiving a GraphQL operation over HTTP to sending the response.',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const inference = new Histogram({
    name: 'classify_inference_seconds',
    help: 'Model forward-pass time per classified image.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const preprocess = new Histogram({
    name: 'classify_preprocess_seconds',
    help: 'Decode and resize time per classified image.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  new Gauge({
    name: 'training_in_progress',
    help: '1 while a training run is in progress.',
    registers: [registry],
    collect() {
      this.set(options.trainingInProgress() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'model_ready',
    help: '1 when a model serves classifications.',
    registers: [registry],
    collect() {
      this.set(options.modelReady() ? 1 : 0);
    },
  });

  // The batcher keeps its own running totals; these read them at scrape time.
  const batchingCounter = (name: string, help: string, pick: (s: BatcherStats) => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(pick(options.classifyBatching()));
      },
    });
  batchingCounter('classify_batches_total', 'Forward passes run for classify requests (concurrent requests share one).', (s) => s.batches);
  batchingCounter('classify_batched_images_total', 'Images classified through those forward passes.', (s) => s.images);
  batchingCounter('classify_overloaded_total', 'Classify requests refused with OVERLOADED.', (s) => s.refused);
  new Gauge({
    name: 'classify_in_progress',
    help: 'Classifications admitted and not finished (decoding, waiting for a batch, or inferring).',
    registers: [registry],
    collect() {
      this.set(options.classifyBatching().pending);
    },
  });

  const seenNames = new Set<string>();
  const operationLabel = (name: string | null | undefined): string => {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'invalid';
    if (seenNames.has(name)) return name;
    if (seenNames.size >= MAX_OPERATION_NAMES) return 'other';
    seenNames.add(name);
    return name;
  };

  const apolloPlugin: ApolloServerPlugin = {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse(ctx) {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const operation = operationLabel(ctx.operationName ?? ctx.request.operationName);
          const type = ctx.operation?.operation ?? 'unknown';
          const hasErrors = ctx.response.body.kind === 'single' && (ctx.response.body.singleResult.errors?.length ?? 0) > 0;
          requests.inc({ operation, type, outcome: hasErrors ? 'error' : 'ok' });
          duration.observe({ operation, type }, seconds);
        },
      };
    },
  };

  return {
    registry,
    apolloPlugin,
    recordRefusal(code) {
      refused.inc({ code });
    },
    recordClassification(result) {
      inference.observe(result.inferenceMs / 1000);
      preprocess.observe(result.preprocessMs / 1000);
    },
  };
}
