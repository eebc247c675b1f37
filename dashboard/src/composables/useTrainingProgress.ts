// Follows one training run: its recorded epochs from the trainingRun query, live batches and
// epochs from the trainingProgress subscription, and its outcome. After the WebSocket drops and
// reconnects, the history is read again so epochs finished meanwhile are not lost. Without an
// admin token (the subscription needs one) the epoch history is polled instead.
import { computed, getCurrentScope, onScopeDispose, ref, watch, type Ref } from 'vue';
import { graphqlClient, liveConnectionState, onLiveReconnected } from '../api/client';
import { TRAINING_PROGRESS, TRAINING_RUN } from '../api/documents';
import { describeApiError, problemFromCode, type ApiProblem } from '../api/errors';
import type { RunStatus, TrainingEpoch, TrainingProgressEvent, TrainingRun } from '../api/types';
import { notifyDataChanged } from './dataChanged';
import { useAdminToken } from './useAdminToken';
import { usePolling } from './usePolling';

export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batchesPerEpoch: number;
  loss: number | null;
  accuracy: number | null;
  imagesPerSecond: number | null;
  etaSeconds: number | null;
  /** Share of all batches of the run done, 0..1. */
  fraction: number;
}

export interface TrainingOutcome {
  status: RunStatus;
  modelVersion: string | null;
  activated: boolean;
  errorCode: string | null;
  errorMessage: string | null;
}

/** What the live view shows about its connection. */
export type LiveView = 'off' | 'connecting' | 'live' | 'reconnecting' | 'lost' | 'needs-token' | 'ended';

const HISTORY_POLL_MS = 3_000;

export const isRunActive = (status: RunStatus | null | undefined): boolean => status === 'QUEUED' || status === 'RUNNING';

export function useTrainingProgress(runId: Ref<string | null>) {
  const { hasToken } = useAdminToken();
  const run = ref<TrainingRun | null>(null);
  const status = ref<RunStatus | null>(null);
  const stage = ref<{ name: string; message: string | null } | null>(null);
  const decoding = ref<{ done: number; total: number } | null>(null);
  const batch = ref<BatchProgress | null>(null);
  const epochs = ref<TrainingEpoch[]>([]);
  const plannedEpochs = ref<number | null>(null);
  const outcome = ref<TrainingOutcome | null>(null);
  const problem = ref<ApiProblem | null>(null);
  const mode = ref<'off' | 'subscribed' | 'lost' | 'needs-token' | 'ended'>('off');

  let subscription: { unsubscribe(): void } | null = null;
  // Results that arrive for a run no longer followed are dropped.
  let generation = 0;

  function mergeEpochs(list: readonly TrainingEpoch[]): void {
    const byEpoch = new Map(epochs.value.map((e) => [e.epoch, e]));
    for (const epoch of list) byEpoch.set(epoch.epoch, { ...byEpoch.get(epoch.epoch), ...epoch });
    epochs.value = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  }

  function stopLive(next: typeof mode.value): void {
    subscription?.unsubscribe();
    subscription = null;
    mode.value = next;
  }

  function finish(result: TrainingOutcome): void {
    const first = outcome.value === null;
    status.value = result.status;
    outcome.value = result;
    stopLive('ended');
    if (first) notifyDataChanged();
  }

  async function loadHistory(): Promise<void> {
    const id = runId.value;
    if (!id) return;
    const current = generation;
    const result = await graphqlClient.query(TRAINING_RUN, { id }, { requestPolicy: 'network-only' }).toPromise();
    if (current !== generation) return;
    if (result.error) {
      problem.value = describeApiError(result.error);
      return;
    }
    const record = result.data?.trainingRun;
    if (!record) {
      problem.value = problemFromCode('RUN_NOT_FOUND', `There is no training run ${id}`);
      stopLive('ended');
      return;
    }
    run.value = record;
    plannedEpochs.value = record.params.epochs;
    mergeEpochs(record.epochs);
    if (!isRunActive(record.status)) {
      finish({
        status: record.status,
        modelVersion: record.modelVersion,
        activated: record.activated,
        errorCode: record.errorCode,
        errorMessage: record.errorMessage,
      });
    } else if (!outcome.value) {
      status.value = status.value === 'RUNNING' ? 'RUNNING' : record.status;
    }
  }

  function apply(event: TrainingProgressEvent): void {
    if (outcome.value) return;
    status.value = event.status;
    switch (event.kind) {
      case 'STAGE':
        stage.value = { name: event.stage ?? '', message: event.message };
        break;
      case 'DATA':
        decoding.value = { done: event.done ?? 0, total: event.total ?? 0 };
        break;
      case 'BATCH':
      case 'EPOCH': {
        // Epoch events carry no batch counts or ETA: the last batch event's stand.
        const previous = batch.value;
        const epochsTotal = event.epochs ?? plannedEpochs.value ?? 1;
        const perEpoch = event.batchesPerEpoch ?? previous?.batchesPerEpoch ?? 1;
        const epoch = event.epoch ?? 1;
        const done = event.kind === 'EPOCH' ? perEpoch : (event.batch ?? 0);
        plannedEpochs.value = epochsTotal;
        batch.value = {
          epoch,
          epochs: epochsTotal,
          batch: done,
          batchesPerEpoch: perEpoch,
          loss: event.kind === 'EPOCH' ? (previous?.loss ?? event.loss) : event.loss,
          accuracy: event.kind === 'EPOCH' ? (previous?.accuracy ?? event.accuracy) : event.accuracy,
          imagesPerSecond: event.imagesPerSecond ?? previous?.imagesPerSecond ?? null,
          etaSeconds: event.etaSeconds ?? previous?.etaSeconds ?? null,
          fraction: Math.min(1, ((epoch - 1) * perEpoch + done) / (epochsTotal * perEpoch)),
        };
        if (event.kind === 'EPOCH') {
          const last = epochs.value.at(-1)?.epoch ?? 0;
          mergeEpochs([
            {
              epoch,
              loss: event.loss,
              accuracy: event.accuracy,
              validationLoss: event.validationLoss,
              validationAccuracy: event.validationAccuracy,
              validationAuc: event.validationAuc,
              imagesPerSecond: event.imagesPerSecond,
              learningRate: null,
              seconds: null,
            },
          ]);
          // An epoch event went missing (it ended while the subscription was being set up): read the record.
          if (epoch > last + 1) void loadHistory();
        }
        break;
      }
      case 'FINISHED':
        finish({
          status: event.status,
          modelVersion: event.modelVersion,
          activated: event.activated ?? false,
          errorCode: event.errorCode,
          errorMessage: event.errorMessage,
        });
        // The record now holds the final metrics.
        void loadHistory();
        break;
      default:
        break;
    }
  }

  function startLive(): void {
    const id = runId.value;
    if (!id || outcome.value) return;
    stopLive('off');
    if (!hasToken.value) {
      mode.value = 'needs-token';
      return;
    }
    problem.value = null;
    mode.value = 'subscribed';
    const current = generation;
    subscription = graphqlClient.subscription(TRAINING_PROGRESS, { runId: id }).subscribe((result) => {
      if (current !== generation) return;
      if (result.error) {
        problem.value = describeApiError(result.error);
        stopLive(result.error.graphQLErrors[0]?.extensions?.code === 'UNAUTHENTICATED' ? 'needs-token' : 'lost');
        return;
      }
      const event = result.data?.trainingProgress;
      if (event) apply(event);
    });
  }

  function follow(id: string | null): void {
    generation++;
    stopLive('off');
    run.value = null;
    status.value = null;
    stage.value = null;
    decoding.value = null;
    batch.value = null;
    epochs.value = [];
    plannedEpochs.value = null;
    outcome.value = null;
    problem.value = null;
    if (!id) return;
    // Subscribe first, then read the history: nothing that happens in between is missed.
    startLive();
    void loadHistory();
  }

  watch(runId, follow, { immediate: true });

  watch(hasToken, (present) => {
    if (present && (mode.value === 'needs-token' || mode.value === 'lost')) startLive();
  });

  const stopReconnectListener = onLiveReconnected(() => {
    if (mode.value === 'subscribed') void loadHistory();
  });

  // Without the subscription, epochs still arrive by reading the record every few seconds.
  usePolling(
    () => void loadHistory(),
    () => ((mode.value === 'needs-token' || mode.value === 'lost') && !outcome.value ? HISTORY_POLL_MS : null),
  );

  if (getCurrentScope()) {
    onScopeDispose(() => {
      generation++;
      stopReconnectListener();
      stopLive('off');
    });
  }

  const liveView = computed<LiveView>(() => {
    if (mode.value !== 'subscribed') return mode.value;
    const connection = liveConnectionState.value;
    if (connection === 'connected') return 'live';
    if (connection === 'reconnecting') return 'reconnecting';
    return 'connecting';
  });

  return {
    run,
    status,
    stage,
    decoding,
    batch,
    epochs,
    plannedEpochs,
    outcome,
    problem,
    liveView,
    /** Tries the live connection again (after it was lost). */
    reconnect: startLive,
  };
}
