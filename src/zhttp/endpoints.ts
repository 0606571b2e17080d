// Binding or connecting one ZeroMQ endpoint of a server-mode socket (zhttp.md 1.1): bound ipc
// files get --ipc-file-mode and are remembered so that shutdown can remove them.

import { chmodSync } from 'node:fs'
import type { ZmqSocket } from '../zmq/socket.ts'

const IPC_PREFIX = 'ipc://'

/** Binds `ep` (or connects it when `connect`); bound ipc paths are appended to `bound`. */
export function openEndpoint(
  sock: ZmqSocket,
  ep: string,
  connect: boolean,
  ipcFileMode: number,
  bound: string[],
): void {
  if (connect) {
    sock.connect(ep)
    return
  }
  sock.bind(ep)
  if (!ep.startsWith(IPC_PREFIX)) return
  const path = ep.slice(IPC_PREFIX.length)
  bound.push(path)
  // --ipc-file-mode (zhttp.md 1.1): applied to every ipc endpoint zgate binds; 0 leaves it.
  if (ipcFileMode > 0) chmodSync(path, ipcFileMode)
}

/** A socket set could not bind or connect its endpoints; `kind` names the set in the log line. */
export class SpecsError extends Error {
  readonly code = 'ZGATE_SPECS'
  constructor(
    readonly kind: 'req' | 'stream',
    message: string,
  ) {
    super(message)
  }
}
