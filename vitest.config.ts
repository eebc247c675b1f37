import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // tfjs training is CPU-bound; files run one at a time so timings and memory checks are not skewed.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
  resolve: {
    // type-graphql (CJS) and tests must share one graphql instance.
    alias: { graphql: 'graphql/index.js' },
  },
});
