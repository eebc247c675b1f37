// schema.graphql is what clients and the dashboard read: it must be exactly the schema the
// server builds, and the server must serve that same schema.
import fs from 'node:fs/promises';
import path from 'node:path';
import { buildSchema, getIntrospectionQuery, lexicographicSortSchema, printSchema, buildClientSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_FILE, currentSchemaText } from '../../server/graphql/schema.js';
import { repoRoot } from '../../server/paths.js';
import { gql, startTestApp, tempDir, type TestApp } from './helpers.js';

describe('schema.graphql', () => {
  it('is up to date with the type-graphql classes (regenerate with "npm run schema")', async () => {
    const checkedIn = await fs.readFile(path.join(repoRoot, SCHEMA_FILE), 'utf8');
    expect(checkedIn).toBe(await currentSchemaText());
  });

  describe('and the running server', () => {
    let root: string;
    let app: TestApp;

    beforeAll(async () => {
      root = await tempDir('api-schema-');
      app = await startTestApp({ dataDir: path.join(root, 'data'), modelsDir: path.join(root, 'models'), storeFile: path.join(root, 'runs.sqlite') });
    });

    afterAll(async () => {
      await app?.close();
      if (root) await fs.rm(root, { recursive: true, force: true });
    });

    it('serves the schema in the file', async () => {
      const { data } = await gql(app.url, getIntrospectionQuery({ descriptions: true }));
      const served = printSchema(lexicographicSortSchema(buildClientSchema(data as never)));
      const file = printSchema(lexicographicSortSchema(buildSchema(await fs.readFile(path.join(repoRoot, SCHEMA_FILE), 'utf8'))));
      expect(served).toBe(file);
    });
  });
});
