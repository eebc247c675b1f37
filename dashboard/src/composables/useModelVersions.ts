// Every saved model version with its metrics, and the admin operations on them.
import { useMutation, useQuery } from '@urql/vue';
import { computed } from 'vue';
import { DELETE_MODEL, MODEL_VERSIONS, PROMOTE_MODEL, ROLLBACK_MODEL } from '../api/documents';
import { describeApiError, type ApiProblem } from '../api/errors';
import type { CombinedError } from '@urql/core';
import { notifyDataChanged, onDataChanged } from './dataChanged';

export function useModelVersions() {
  const query = useQuery({ query: MODEL_VERSIONS });
  const promoteMutation = useMutation(PROMOTE_MODEL);
  const rollbackMutation = useMutation(ROLLBACK_MODEL);
  const deleteMutation = useMutation(DELETE_MODEL);
  const refresh = () => query.executeQuery({ requestPolicy: 'network-only' });
  onDataChanged(refresh);

  /** Null on success (every view showing models refreshes), else what went wrong. */
  const settle = (error: CombinedError | undefined): ApiProblem | null => {
    if (error) return describeApiError(error);
    notifyDataChanged();
    return null;
  };

  return {
    list: computed(() => query.data.value?.models ?? null),
    loading: computed(() => query.fetching.value && !query.data.value),
    problem: computed(() => describeApiError(query.error.value)),
    busy: computed(() => promoteMutation.fetching.value || rollbackMutation.fetching.value || deleteMutation.fetching.value),
    refresh,
    promote: async (version: string) => settle((await promoteMutation.executeMutation({ version })).error),
    rollback: async () => settle((await rollbackMutation.executeMutation({})).error),
    remove: async (version: string) => settle((await deleteMutation.executeMutation({ version })).error),
  };
}
