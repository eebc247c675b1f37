// The one GraphQL client: queries and mutations (including multipart uploads) over HTTP, the
// training subscription over a graphql-ws WebSocket that reconnects by itself after a drop.
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import { readonly, ref } from 'vue';
import { currentAdminToken, onAdminTokenChange } from '../composables/useAdminToken';

const GRAPHQL_PATH = '/graphql';
/** Reconnection attempts after a dropped connection before the live view gives up. */
const RECONNECT_ATTEMPTS = 30;
/** How often the socket is checked, and how long an answer may take before it counts as dropped. */
const KEEP_ALIVE_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;

export type LiveConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting';

const liveState = ref<LiveConnectionState>('idle');
const reconnectListeners = new Set<() => void>();

function authorizationHeader(): Record<string, string> {
  const token = currentAdminToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

function webSocketUrl(): string {
  const url = new URL(GRAPHQL_PATH, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

let activeSocket: WebSocket | null = null;
let pongTimer: ReturnType<typeof setTimeout> | undefined;

const wsClient = createWsClient({
  url: webSocketUrl,
  lazy: true,
  connectionParams: () => authorizationHeader(),
  retryAttempts: RECONNECT_ATTEMPTS,
  // A dropped network connection is not a CloseEvent; it is worth retrying too.
  shouldRetry: () => true,
  retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** retries, 8_000) * (0.75 + Math.random() / 2))),
  keepAlive: KEEP_ALIVE_MS,
  on: {
    connecting: (isRetry) => {
      liveState.value = isRetry ? 'reconnecting' : 'connecting';
    },
    connected: (socket, _payload, wasRetry) => {
      activeSocket = socket as WebSocket;
      liveState.value = 'connected';
      if (wasRetry) reconnectListeners.forEach((listener) => listener());
    },
    closed: (event) => {
      activeSocket = null;
      clearTimeout(pongTimer);
      const code = (event as { code?: number } | undefined)?.code;
      // 1000 is the lazy close after the last subscription ended; anything else is followed by a retry.
      liveState.value = code === 1000 ? 'idle' : 'reconnecting';
    },
    ping: (received) => {
      if (received) return;
      // A socket that stops answering pings is treated as dropped, so the client reconnects.
      pongTimer = setTimeout(() => {
        if (activeSocket?.readyState === WebSocket.OPEN) activeSocket.close(4408, 'Request Timeout');
      }, PONG_TIMEOUT_MS);
    },
    pong: (received) => {
      if (received) clearTimeout(pongTimer);
    },
  },
});

// A new token must reach the server: reconnect (subscriptions are re-sent with the new credentials).
onAdminTokenChange(() => {
  if (activeSocket) wsClient.terminate();
});

export const graphqlClient = new Client({
  url: GRAPHQL_PATH,
  preferGetMethod: false,
  requestPolicy: 'cache-and-network',
  // Apollo's CSRF protection accepts multipart uploads only with this header.
  fetchOptions: () => ({ headers: { 'apollo-require-preflight': 'true', ...authorizationHeader() } }),
  exchanges: [
    cacheExchange,
    fetchExchange,
    subscriptionExchange({
      forwardSubscription: (request) => ({
        subscribe: (sink) => ({ unsubscribe: wsClient.subscribe({ ...request, query: request.query ?? '' }, sink) }),
      }),
    }),
  ],
});

/** State of the WebSocket that carries live training progress. */
export const liveConnectionState = readonly(liveState);

/** Runs `listener` each time the WebSocket is re-established after a drop. Returns an unsubscribe function. */
export function onLiveReconnected(listener: () => void): () => void {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}
