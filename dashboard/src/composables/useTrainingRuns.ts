// The most recent training runs, newest first.
import { useQuery } from '@urql/vue';
import { computed } from 'vue';
import { RECENT_TRAINING_RUNS } from '../api/documents';
import { describeApiError } from '../api/errors';
import { onDataChanged } from './dataChanged';

export function useTrainingRuns(limit = 8) {
  const query = useQuery({ query: RECENT_TRAINING_RUNS, variables: { limit } });
  const refresh = () => query.executeQuery({ requestPolicy: 'network-only' });
  onDataChanged(refresh);
  return {
    runs: computed(() => query.data.value?.trainingRuns ?? []),
    loaded: computed(() => query.data.value !== undefined || query.error.value !== undefined),
    problem: computed(() => describeApiError(query.error.value)),
    refresh,
  };
}
