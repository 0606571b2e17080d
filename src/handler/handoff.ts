// Handing a session to another process (zhttp.md 4.10): send `handoff-start`, wait for the
// gateway's `handoff-proceed`, then give up the session here and return its portable state.
// The new owner (handler.resume) sends the next packet, with its own `from` and the next seq,
// and the gateway routes everything after that to it.

import { HandlerStateError, SessionClosedError } from './errors.ts'
import { HANDOFF_STATE_VERSION, type HandoffState, type RequestHead } from './head.ts'
import { END_HANDOFF, type Session } from './session.ts'

/** How long handoff() waits for the gateway's handoff-proceed. */
export const HANDOFF_PROCEED_TIMEOUT_MS = 10_000

export async function handoffSession(
  s: Session,
  head: RequestHead,
  kind: HandoffState['kind'],
  bodyPending: boolean,
  responseStarted: boolean,
): Promise<HandoffState> {
  if (s.gw === null) throw new HandlerStateError('handoff needs stream mode (zhttp.md 4.10)')
  if (s.ended) throw new SessionClosedError(s.endReason)
  if (s.handoffWaiter !== null) throw new HandlerStateError('a handoff is already in progress')
  const proceed = new Promise<boolean>((resolve) => {
    s.handoffWaiter = resolve
  })
  s.sendControl('handoff-start')
  let timer: ReturnType<typeof setTimeout> | undefined
  const ok = await Promise.race([
    proceed,
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(false), HANDOFF_PROCEED_TIMEOUT_MS)
    }),
  ])
  clearTimeout(timer)
  s.handoffWaiter = null
  if (!ok) {
    if (!s.ended) s.cancel('handoff-timeout')
    throw new SessionClosedError(s.ended ? s.endReason : 'handoff-timeout')
  }
  const state: HandoffState = {
    v: HANDOFF_STATE_VERSION,
    kind,
    gateway: s.gw.name,
    id: s.idText,
    seqOut: s.seqOut,
    seqIn: s.seqIn,
    credits: s.credits,
    method: head.method,
    uri: head.uri,
    headers: head.headers,
    peer: head.peer,
    bodyPending,
    responseStarted,
  }
  s.end(END_HANDOFF)
  return state
}
