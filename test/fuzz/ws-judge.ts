// The rules of the WebSocket frame differential. zgate and ws's Receiver must hand on the same
// messages and control frames in the same order, and refuse the same streams. zgate may refuse
// earlier or where ws does not only where RFC 6455 says so; those cases are ALLOWANCES below.
// Close codes are not compared: where several rules break at once the two may name different
// ones (a 64-bit length with its top bit set is 1002 in zgate and 1009 in ws, for example).

import type { WsView } from './ws-views.ts'

export const ALLOWANCES: ReadonlyArray<{ name: string; rfc: string }> = [
  {
    name: 'invalid UTF-8 in a text message is refused before the message ends',
    rfc: "RFC 6455 8.1: an endpoint that finds the bytes are not UTF-8 MUST fail the connection; zgate checks as the bytes arrive, ws at the message's end, so zgate's 1007 may come while ws still waits for the message's end (or has stopped at a close frame between its fragments)",
  },
  {
    name: 'a frame header is judged once it is complete',
    rfc: 'RFC 6455 5.2 puts the whole header (2 to 14 bytes) before any rule can be applied to the frame; zgate reads all of it first, ws refuses some headers (RSV1, reserved opcodes) after their first 2 bytes. Until the header is complete zgate has taken nothing, so input ending there is undecided, not accepted',
  },
]

/** '' when zgate's view is allowed, else the first disagreement. */
export function judgeWs(z: WsView, w: WsView): string {
  const ze = JSON.stringify(z.events)
  const we = JSON.stringify(w.events)
  if (z.end === 'ok') {
    if (w.end === 'refused' && z.headerPending && ze === we) return '' // allowance 2
    if (w.end === 'refused') return `zgate accepts what ws refuses (${w.code}): zgate ${ze} ws ${we}`
    return ze === we ? '' : `events differ: zgate ${ze} ws ${we}`
  }
  // zgate refused: what it passed on before must be what ws passed on, or a prefix of it
  if (!we.startsWith(ze.slice(0, -1))) return `zgate passed on events ws did not: zgate ${ze} ws ${we}`
  if (w.end === 'refused') return ''
  // allowance 1: ws stopped inside a message (at its end, or at a close frame in between)
  if (z.code === 1007 && !w.atBoundary) return ''
  return `zgate refuses (${z.code}) what ws accepts: zgate ${ze} ws ${we}`
}
