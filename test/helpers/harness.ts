// End-to-end harness: gateway processes (zgate or Debian's condure), ZHTTP handler peers
// (test/helpers/zhttp-peer.mjs under Node) and raw TCP clients, for bun:test files.
//
// Invariants:
// - Every wait is bounded; a timeout error says what was waited for and what arrived.
// - Processes are only ever signalled through the Subprocess objects this module spawned
//   (their own PID); cleanup() and a process 'exit' hook reap whatever is still alive.
// - Sockets are loopback TCP or ipc under a directory from tmpDir().
//
// This file is the public face of the harness; tests import only from here. The parts:
// - harness-wait.ts: sleep, settlesWithin, withTimeout (and the internal Notifier).
// - harness-process.ts: cleanup registry, tmpDir, free ports, spawning and stopping children.
// - harness-gateway.ts: gateway targets, listeners, startGateway, signal handler checks.
// - harness-peer.ts: startPeer, packet filters, waitUntilServing, packet field helpers.
// - gateways.ts: forEachGateway (one describe block per gateway target), testFor.
// - stack.ts: startStack (a gateway plus linked handler peers).
// - raw-http.ts: rawHttp, the raw TCP client.
// - http-response.ts: parseHttpResponse, dechunk, responseLength.

export {
  comparedTargets,
  DEFAULT_GATEWAYS,
  failingStart,
  gatewayCommands,
  gatewayTargets,
  listenTargets,
  startGateway,
  stopSignalsHandled,
} from './harness-gateway.ts'
export type { Gateway, GatewayOptions, GatewayTarget, ListenTarget } from './harness-gateway.ts'
export { forEachGateway, testFor } from './gateways.ts'
export type { ForEachGatewayOptions, GatewayName, MissingGateway } from './gateways.ts'
export { startStack } from './stack.ts'
export type { Stack, StackOptions } from './stack.ts'
export { bytesOf, headerPairs, PEER_SCRIPT, startPeer, waitUntilServing } from './harness-peer.ts'
export type {
  Json,
  OutValue,
  PacketFilter,
  Peer,
  PeerEvent,
  PeerOptions,
  PeerPacket,
  ZPacket,
} from './harness-peer.ts'
export { cleanup, freePort, freeTcpBase, REPO_ROOT, tmpDir } from './harness-process.ts'
export { settlesWithin, sleep, withTimeout } from './harness-wait.ts'
export { dechunk, parseHttpResponse, responseLength, UNTIL_CLOSE } from './http-response.ts'
export type { Dechunked, HttpResponse } from './http-response.ts'
export { rawHttp } from './raw-http.ts'
export type { CloseInfo, RawConn } from './raw-http.ts'
