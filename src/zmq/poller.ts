// ZmqPoller: a C thread blocked in poll(2) on the registered sockets' ZMQ_FDs wakes the JS
// thread (re-exported from socket.ts).
//
// Invariants
// - Only the JS thread touches sockets; the poller thread only watches ZMQ_FD descriptors.
// - ZMQ_FD is edge-like: it signals when the socket's command mailbox gets work, and any
//   zmq call on the socket may consume that signal. So after each flush() of a polled
//   socket (ZmqSocket.flush() calls kick()) and before every re-arm (rearm()) we read
//   ZMQ_EVENTS and re-notify ourselves if input is already waiting. The same fd signals when
//   a blocked sender may write again (the peer read enough to send "activate_write"), so a
//   polled socket needs no send-retry timer.
// - Depends only downward (ffi.ts, constants.ts, errors.ts): it sees a socket through
//   PolledSocket, which ZmqSocket satisfies, so socket.ts may import this file and not the
//   other way round.

import type { JSCallback, Pointer } from 'bun:ffi'
import { ZMQ_POLLIN, ZMQ_POLLOUT, ZMQ_ROUTER } from './constants.ts'
import { ZmqError, zmqError } from './errors.ts'
import { loadZmq, threadsafeCallback, type ZmqLib } from './ffi.ts'

/** What the poller needs from a socket (ZmqSocket has it). */
export interface PolledSocket {
  /** The socket type: a ROUTER's POLLOUT is always set, so it never counts as writable. */
  readonly type: number
  /** Bytes of complete messages not yet sent: POLLOUT only matters while some wait. */
  readonly outbox: { readonly pending: number }
  /** The poller watching it; set and cleared by ZmqPoller only. */
  poller: ZmqPoller | null
  /** ZMQ_FD. */
  fd(): number
  /** ZMQ_EVENTS (processes the socket's pending commands). */
  events(): number
}

/** A stopped poller's JSCallback is freed after this, once queued calls have drained. */
export const POLLER_CALLBACK_CLOSE_DELAY_MS = 1_000
/** Period of the poller's keep-alive timer: long, it only has to exist. */
const POLLER_KEEP_ALIVE_MS = 1 << 30

// Poller states. The C thread is armed in ARMED; it disarms itself when it calls back.
/** call: add, start. next: ARMED */
const POLLER_IDLE = 0
/** C thread watching the fds. call: add, remove, stop. next: NOTIFIED (fd readable or kick) */
const POLLER_ARMED = 1
/** onReady is due or running. call: rearm. next: ARMED, or NOTIFIED again if input waits */
const POLLER_NOTIFIED = 2
/** call: nothing. next: none */
const POLLER_STOPPED = 3

/** Started pollers, joined at process exit so no thread calls into a dying VM. */
const livePollers = new Set<ZmqPoller>()
let exitHookInstalled = false

function noop(): void {}

/**
 * Wakes the JS thread when any registered socket may have work, without spinning: a C
 * thread blocks in poll(2) on their ZMQ_FDs. `onReady` runs on the JS thread, once, and
 * not again until rearm(). onReady must drain every registered socket (recvBatch() until
 * inbox.drained) before calling rearm(), or rearm() will re-notify at once.
 */
export class ZmqPoller {
  /** onReady calls so far (C wake-ups plus self-notifications). */
  notifications = 0
  private readonly lib: ZmqLib
  private readonly onReady: () => void
  private readonly callback: JSCallback
  private handle: Pointer | null
  private state = POLLER_IDLE
  private readonly sockets: PolledSocket[] = []
  private readonly fds: number[] = []
  private immediatePending = false
  private readonly fireBound: () => void
  /**
   * A referenced timer while started: without one, Bun's event loop may sleep without
   * dispatching calls queued by the poller thread (and would exit with nothing else to do).
   */
  private keepAlive: ReturnType<typeof setInterval> | null = null

  constructor(onReady: () => void) {
    this.lib = loadZmq()
    this.onReady = onReady
    this.fireBound = () => this.fire()
    // Kept in a field: the C thread holds its pointer until stop().
    this.callback = threadsafeCallback(() => this.onNative())
    const err = new Int32Array(1)
    this.handle = this.lib.pollerNew(this.callback.ptr!, err)
    if (this.handle === null) {
      this.callback.close()
      throw zmqError(this.lib, 'ZMQ_POLLER', 'poller', err[0])
    }
  }

  /** Watch sock's ZMQ_FD (before or after start). */
  add(sock: PolledSocket): void {
    const h = this.live()
    if (sock.poller !== null) throw new ZmqError('ZMQ_POLLER', 0, 'poller add: socket already has a poller')
    const fd = sock.fd()
    const rc = this.lib.pollerAdd(h, fd)
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_POLLER', 'poller add', -rc)
    sock.poller = this
    this.sockets.push(sock)
    this.fds.push(fd)
  }

  /** Stop watching sock (ZmqSocket.close() calls this). */
  remove(sock: PolledSocket): void {
    const i = this.sockets.indexOf(sock)
    if (i < 0) return
    const fd = this.fds[i]
    this.sockets.splice(i, 1)
    this.fds.splice(i, 1)
    sock.poller = null
    if (this.handle !== null) this.lib.pollerRemove(this.handle, fd)
  }

  start(): void {
    if (this.state !== POLLER_IDLE) return
    const rc = this.lib.pollerStart(this.live())
    if (rc < 0) throw zmqError(this.lib, 'ZMQ_POLLER', 'poller start', -rc)
    this.state = POLLER_ARMED
    this.keepAlive = setInterval(noop, POLLER_KEEP_ALIVE_MS)
    livePollers.add(this)
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.on('exit', () => {
        for (const p of livePollers) p.stop()
      })
    }
  }

  /**
   * Call after draining: re-notifies if a socket is already ready, else re-arms the
   * thread. Ready = input waiting, or unsent messages and POLLOUT (not for ROUTER, whose
   * POLLOUT is always set: a ROUTER blocked on one full peer needs a retry timer).
   */
  rearm(): void {
    if (this.state !== POLLER_NOTIFIED) return
    for (let i = 0; i < this.sockets.length; i++) {
      // Reading ZMQ_EVENTS processes the socket's commands and so consumes its fd signal:
      // whatever those commands changed must be acted on now, not left to the thread.
      const s = this.sockets[i]
      const ev = s.events()
      const writable = (ev & ZMQ_POLLOUT) !== 0 && s.outbox.pending > 0 && s.type !== ZMQ_ROUTER
      if ((ev & ZMQ_POLLIN) !== 0 || writable) {
        this.schedule()
        return
      }
    }
    this.state = POLLER_ARMED
    this.lib.pollerRearm(this.handle!)
  }

  /** Join the thread. Idempotent. Sockets stay open. */
  stop(): void {
    if (this.state === POLLER_STOPPED) return
    this.state = POLLER_STOPPED
    if (this.keepAlive !== null) clearInterval(this.keepAlive)
    this.keepAlive = null
    livePollers.delete(this)
    for (const s of this.sockets) s.poller = null
    this.sockets.length = 0
    this.fds.length = 0
    if (this.handle !== null) this.lib.pollerStop(this.handle)
    this.handle = null
    // Calls already queued for the JS thread may still run; free the callback later.
    const cb = this.callback
    setTimeout(() => cb.close(), POLLER_CALLBACK_CLOSE_DELAY_MS).unref()
  }

  /** C thread wake-ups so far. */
  wakeups(): number {
    return this.handle === null ? 0 : this.lib.pollerWakeups(this.handle)
  }

  /** @internal Input is waiting on a registered socket: notify even if the fd stays quiet. */
  kick(): void {
    if (this.state !== POLLER_ARMED) return
    this.state = POLLER_NOTIFIED
    this.schedule()
  }

  private live(): Pointer {
    if (this.handle === null) throw new ZmqError('ZMQ_POLLER', 0, 'poller is stopped')
    return this.handle
  }

  private onNative(): void {
    // A wake-up that lands while NOTIFIED is redundant: rearm() re-checks every socket.
    if (this.state !== POLLER_ARMED) return
    this.state = POLLER_NOTIFIED
    this.notifications++
    this.onReady()
  }

  private schedule(): void {
    if (this.immediatePending) return
    this.immediatePending = true
    setImmediate(this.fireBound)
  }

  private fire(): void {
    this.immediatePending = false
    if (this.state !== POLLER_NOTIFIED) return
    this.notifications++
    this.onReady()
  }
}
