// Writes schema.graphql at the repository root from the type-graphql classes.
import fs from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../paths.js';
import { SCHEMA_FILE, currentSchemaText } from './schema.js';

const file = path.join(repoRoot, SCHEMA_FILE);
await fs.writeFile(file, await currentSchemaText());
process.stdout.write(`wrote ${path.relative(process.cwd(), file) || file}\n`);
