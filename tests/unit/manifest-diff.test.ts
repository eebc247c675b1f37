import { describe, expect, it } from 'vitest';
import { describeChanges, diffManifests } from '../../server/dataset/manifest-diff.js';

describe('diffManifests', () => {
  it('counts added and removed content hashes per split and class, as multisets', () => {
    const before = { train: { benign: ['a', 'b', 'b'], malignant: ['c'] }, test: { benign: ['t'] } };
    const after = { train: { benign: ['a', 'b'], malignant: ['c', 'd', 'e'] }, test: { benign: ['t'], malignant: ['u'] } };
    expect(diffManifests(before, after)).toEqual([
      { split: 'test', label: 'benign', before: 1, after: 1, added: [], removed: [] },
      { split: 'test', label: 'malignant', before: 0, after: 1, added: ['u'], removed: [] },
      { split: 'train', label: 'benign', before: 3, after: 2, added: [], removed: ['b'] },
      { split: 'train', label: 'malignant', before: 1, after: 3, added: ['d', 'e'], removed: [] },
    ]);
  });

  it('shows a relabelled image as removed from one class and added to the other, and says so in words', () => {
    const before = { train: { benign: ['x', 'y'], malignant: ['z'] } };
    const after = { train: { benign: ['y'], malignant: ['x', 'z'] } };
    const changes = diffManifests(before, after);
    expect(changes.map((c) => [c.label, c.added, c.removed])).toEqual([
      ['benign', [], ['x']],
      ['malignant', ['x'], []],
    ]);
    expect(describeChanges('v6', 'v7', changes)).toBe('v7 saw 1 fewer benign training image, 1 more malignant training image than v6');
    expect(describeChanges('v6', 'v7', diffManifests(before, before))).toBe('v7 was trained on the same images as v6');
    expect(describeChanges('v1', 'v2', diffManifests({ test: { benign: ['a'] } }, { test: { benign: ['b'] } }))).toBe('v2 saw 1 different benign test image than v1');
  });
});
