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

// undici parses HTTP with WebAssembly, compiled on the first connection. Node 20's V8 then compiles the parser
// again with TurboFan on a background thread and Node waits for that before the process exits: about 150 ms
// on a 2-core agent, more than a passed gate's own work (`npm run bench` case 1). V8's baseline compiler,
// Liftoff, parses a gate's few responses as fast. Node 22 and later do not wait, and there the flag would only
// slow the parser, so it is set on Node 20 alone, before the first connection.
if (Number(process.versions.node.split('.')[0]) < 22) process.getBuiltinModule('node:v8').setFlagsFromString('--liftoff-only');

export { EnvHttpProxyAgent };
export type { Dispatcher };
