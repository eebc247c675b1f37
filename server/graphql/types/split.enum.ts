import { registerEnumType } from 'type-graphql';

// Values are the folder names, so a split maps to its folder without translation.
export enum Split {
  TRAIN = 'train',
  TEST = 'test',
}

registerEnumType(Split, {
  name: 'Split',
  description: 'A part of the image folder.',
  valuesConfig: {
    TRAIN: { description: 'Training images (a stratified validation part is held out from them).' },
    TEST: { description: 'Images only ever used to measure a trained model.' },
  },
});
