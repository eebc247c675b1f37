// Whether the service can classify, with which model, and whether training runs.
import { useQuery } from '@urql/vue';
import { computed, type MaybeRefOrGetter } from 'vue';
import { SERVICE_STATUS } from '../api/documents';
import { describeApiError } from '../api/errors';
import { onDataChanged } from './dataChanged';
import { usePolling } from './usePolling';

export function useModelStatus(options: { pollMs?: MaybeRefOrGetter<number | null> } = {}) {
  const query = useQuery({ query: SERVICE_STATUS });
  const refresh = () => query.executeQuery({ requestPolicy: 'network-only' });
  onDataChanged(refresh);
  if (options.pollMs !== undefined) usePolling(refresh, options.pollMs);
  return {
    status: computed(() => query.data.value?.modelStatus ?? null),
    problem: computed(() => describeApiError(query.error.value)),
    loading: computed(() => query.fetching.value && !query.data.value),
    refresh,
  };
}
