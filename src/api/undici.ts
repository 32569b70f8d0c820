/**
 * The parts of undici the transport uses: the proxy-aware agent and the `request` method that undici's index
 * attaches to every dispatcher (its ProxyAgent needs `connect` too). Taken directly, not through undici's
 * index, which would also load fetch, WebSocket, EventSource, the cache and the mocks — about half of undici,
 * parsed and run at every start.
 */
import api from 'undici/lib/api/index.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';

// What undici's index.js does: `Object.assign(Dispatcher.prototype, api)`.
Object.assign(Dispatcher.prototype, api);

export { EnvHttpProxyAgent };
export type { Dispatcher };
