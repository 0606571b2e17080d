// Features zgate does not have yet, so that tests written against Condure's full behaviour
// can say so on zgate instead of failing. Flip a flag when its issue lands; the tests that
// name it then run on zgate too.

/** WebSocket sessions (issue 4). */
export const ZGATE_WEBSOCKET = true

/** True when `targetName` lacks WebSocket support (skip such tests for it, loudly). */
export function lacksWebSocket(targetName: string): boolean {
  return targetName === 'zgate' && !ZGATE_WEBSOCKET
}
