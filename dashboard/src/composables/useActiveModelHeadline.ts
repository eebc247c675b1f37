// The headline figures of the serving model: on the test split when there is one, else validation.
import { useQuery } from '@urql/vue';
import { computed, toValue, type MaybeRefOrGetter } from 'vue';
import { ACTIVE_MODEL_HEADLINE } from '../api/documents';
import { onDataChanged } from './dataChanged';

export function useActiveModelHeadline(activeVersion: MaybeRefOrGetter<string | null | undefined>) {
  const query = useQuery({
    query: ACTIVE_MODEL_HEADLINE,
    variables: () => ({ version: toValue(activeVersion) ?? '' }),
    pause: () => !toValue(activeVersion),
  });
  onDataChanged(() => toValue(activeVersion) && query.executeQuery({ requestPolicy: 'network-only' }));
  return computed(() => {
    const model = query.data.value?.model;
    if (!model || model.version !== toValue(activeVersion)) return null;
    if (model.testMetrics) return { source: 'test' as const, metrics: model.testMetrics };
    if (model.validationMetrics) return { source: 'validation' as const, metrics: model.validationMetrics };
    return null;
  });
}
