// Calls `refresh` every `intervalMs` while the page is visible (null pauses it).
import { getCurrentScope, onScopeDispose, toValue, watch, type MaybeRefOrGetter } from 'vue';

export function usePolling(refresh: () => void, intervalMs: MaybeRefOrGetter<number | null>): void {
  let timer: ReturnType<typeof setInterval> | undefined;
  const restart = () => {
    clearInterval(timer);
    timer = undefined;
    const ms = toValue(intervalMs);
    if (ms && ms > 0) timer = setInterval(() => document.visibilityState === 'visible' && refresh(), ms);
  };
  watch(() => toValue(intervalMs), restart, { immediate: true });
  if (getCurrentScope()) onScopeDispose(() => clearInterval(timer));
}
