// A signal that server data changed (a model promoted, a run finished...): views that show it refresh.
import { getCurrentScope, onScopeDispose } from 'vue';

const listeners = new Set<() => void>();

export function notifyDataChanged(): void {
  listeners.forEach((listener) => listener());
}

/** Calls `listener` after every change for as long as the calling component lives. */
export function onDataChanged(listener: () => void): void {
  listeners.add(listener);
  if (getCurrentScope()) onScopeDispose(() => listeners.delete(listener));
}
