// Starting and cancelling training runs (admin operations).
import { useMutation } from '@urql/vue';
import { ref } from 'vue';
import { CANCEL_TRAINING, START_TRAINING } from '../api/documents';
import { describeApiError, type ApiProblem } from '../api/errors';
import type { TrainingInput, TrainingRunSummary } from '../api/types';
import { notifyDataChanged } from './dataChanged';

export function useTrainingControl() {
  const startMutation = useMutation(START_TRAINING);
  const cancelMutation = useMutation(CANCEL_TRAINING);
  const problem = ref<ApiProblem | null>(null);

  async function start(input: TrainingInput): Promise<TrainingRunSummary | null> {
    problem.value = null;
    const result = await startMutation.executeMutation({ input });
    if (!result.data?.startTraining) {
      problem.value = describeApiError(result.error);
      return null;
    }
    notifyDataChanged();
    return result.data.startTraining;
  }

  async function cancel(runId: string): Promise<boolean> {
    problem.value = null;
    const result = await cancelMutation.executeMutation({ id: runId });
    if (result.error) {
      problem.value = describeApiError(result.error);
      return false;
    }
    return true;
  }

  return { start, cancel, starting: startMutation.fetching, cancelling: cancelMutation.fetching, problem };
}
