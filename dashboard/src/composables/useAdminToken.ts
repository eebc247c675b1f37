// The admin token for training and model management, kept for this browser tab only
// (sessionStorage): closing the tab forgets it.
import { computed, readonly, ref } from 'vue';

const STORAGE_KEY = 'skin-screening.admin-token';

function readStored(): string {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? '';
  } catch {
    return '';
  }
}

const token = ref(readStored());
const changeListeners = new Set<() => void>();

/** The current token ('' when none); read by the GraphQL client for every request. */
export function currentAdminToken(): string {
  return token.value;
}

/** Called after the token changes (the live connection re-authenticates). */
export function onAdminTokenChange(listener: () => void): () => void {
  changeListeners.add(listener);
  return () => changeListeners.delete(listener);
}

function store(value: string): void {
  token.value = value;
  try {
    if (value) sessionStorage.setItem(STORAGE_KEY, value);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage can be unavailable (private modes); the token still works until the page reloads.
  }
  changeListeners.forEach((listener) => listener());
}

export function useAdminToken() {
  return {
    token: readonly(token),
    hasToken: computed(() => token.value !== ''),
    setToken: (value: string) => store(value.trim()),
    forgetToken: () => store(''),
  };
}
