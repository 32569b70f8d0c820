/**
 * The parts of undici the client uses: the proxy-aware agent, the retry interceptor, and the request/stream/
 * connect methods that undici's index attaches to every dispatcher (its ProxyAgent needs `connect`). Taken
 * directly, not through undici's index, which would also load fetch, WebSocket, EventSource, the cache and
 * the mocks — about half of undici, parsed and run at every start.
 */
import api from 'undici/lib/api/index.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import retryInterceptor from 'undici/lib/interceptor/retry.js';

// What undici's index.js does: `Object.assign(Dispatcher.prototype, api)`.
Object.assign(Dispatcher.prototype, api);

export { EnvHttpProxyAgent, retryInterceptor };
export type { Dispatcher };
