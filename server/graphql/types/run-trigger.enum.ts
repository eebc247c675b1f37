import { registerEnumType } from 'type-graphql';

export enum RunTrigger {
  API = 'api',
  STARTUP = 'startup',
  CLI = 'cli',
}

registerEnumType(RunTrigger, {
  name: 'RunTrigger',
  description: 'What started a training run.',
  valuesConfig: {
    STARTUP: { description: 'The server found no model but training images at start-up.' },
  },
});
