// Serves `virtual:training-input`: the fields of the API's TrainingInput (type, default and
// description) read from the repository's schema.graphql at build time, so the training form's
// defaults and hints always match what the server would use.
import fs from 'node:fs';
import { buildSchema, getNamedType, isInputObjectType, isScalarType } from 'graphql';
import type { Plugin } from 'vite';

const MODULE_ID = 'virtual:training-input';
const RESOLVED_ID = `\0${MODULE_ID}`;

export interface TrainingInputFieldSpec {
  name: string;
  type: string;
  defaultValue: string | number | boolean | null;
  description: string | null;
}

export function readTrainingInputFields(schemaFile: string): TrainingInputFieldSpec[] {
  if (!fs.existsSync(schemaFile)) {
    throw new Error(`${schemaFile} is missing: the dashboard takes the training defaults from it (run "npm run schema")`);
  }
  const schema = buildSchema(fs.readFileSync(schemaFile, 'utf8'));
  const input = schema.getType('TrainingInput');
  if (!isInputObjectType(input)) throw new Error(`${schemaFile} has no input type TrainingInput`);
  return Object.values(input.getFields()).map((field) => {
    const named = getNamedType(field.type);
    const value = field.defaultValue;
    const plain = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : null;
    return {
      name: field.name,
      type: isScalarType(named) ? named.name : String(named),
      defaultValue: plain,
      description: field.description ?? null,
    };
  });
}

export function trainingInputPlugin(schemaFile: string): Plugin {
  return {
    name: 'training-input-from-schema',
    resolveId(id) {
      return id === MODULE_ID ? RESOLVED_ID : undefined;
    },
    load(id) {
      if (id !== RESOLVED_ID) return undefined;
      this.addWatchFile(schemaFile);
      return `export const trainingInputFields = ${JSON.stringify(readTrainingInputFields(schemaFile), null, 2)};\n`;
    },
  };
}
