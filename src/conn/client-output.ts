// Writing to a client socket in order, for both connection kinds (connection.ts,
// req-connection.ts): bytes go straight to the kernel unless earlier bytes still wait in the
// connection's write queue; whatever the kernel does not take joins the queue, and a drain
// writes the queue first. Nothing is ever written around queued bytes.

import type { Socket } from 'bun'
import type { ByteQueue } from '../mem/byte-queue.ts'
import { stats } from '../stats.ts'

/** Writes buf[s, e) or queues it; true when all of it went to the kernel now. */
export function writeOrQueue(sock: Socket<unknown>, q: ByteQueue, buf: Uint8Array, s: number, e: number): boolean {
  stats.bytesOut += e - s
  if (q.length > 0) {
    q.append(buf, s, e)
    return false
  }
  const n = sock.write(buf, s, e - s)
  if (n < 0) return false
  if (n < e - s) {
    q.append(buf, s + n, e)
    return false
  }
  return true
}

/** The socket can take more: writes what `q` holds. True when `q` is now empty. */
export function writeQueued(sock: Socket<unknown>, q: ByteQueue): boolean {
  if (q.buf === null) return false
  const n = sock.write(q.buf, q.start, q.length)
  if (n < 0) return false
  q.consume(n)
  return q.length === 0
}
