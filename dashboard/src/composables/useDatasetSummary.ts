// Images per split and class in the server's training folder.
import { useQuery } from '@urql/vue';
import { computed } from 'vue';
import { DATASET_SUMMARY } from '../api/documents';
import { describeApiError } from '../api/errors';
import { onDataChanged } from './dataChanged';

export function useDatasetSummary() {
  const query = useQuery({ query: DATASET_SUMMARY });
  onDataChanged(() => query.executeQuery({ requestPolicy: 'network-only' }));
  return {
    dataset: computed(() => query.data.value?.dataset ?? null),
    problem: computed(() => describeApiError(query.error.value)),
  };
}
