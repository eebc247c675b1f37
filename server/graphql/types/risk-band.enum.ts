import { registerEnumType } from 'type-graphql';

// Values are the classifier's own strings, so results map to the enum without translation.
export enum RiskBand {
  LOW = 'low',
  MEDIUM = 'medium',
  HIGH = 'high',
  UNCERTAIN = 'uncertain',
}

registerEnumType(RiskBand, {
  name: 'RiskBand',
  description: "Where the probability falls relative to the model's decision threshold.",
  valuesConfig: {
    LOW: { description: 'Below the threshold: screen negative.' },
    MEDIUM: { description: 'At or above the threshold, in the lower half of the remaining range: screen positive, weak evidence.' },
    HIGH: { description: 'In the upper half between the threshold and 1: screen positive, strong evidence.' },
    UNCERTAIN: {
      description:
        'Uncertain - refer: the probability interval over test-time views is wider than the allowed spread or contains the threshold, so neither a positive nor a negative screen can be trusted.',
    },
  },
});
