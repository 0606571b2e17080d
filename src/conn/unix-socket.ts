// Permissions and ownership of a unix-socket listener (`--listen PATH,local,mode=660,user=U,
// group=G`, zhttp.md 7.2, Condure 1.10): applied right after the socket file is bound, before
// any client can reach it through a group or other bit it should not have. Names are resolved
// through /etc/passwd and /etc/group (a decimal number is taken as the id itself); an unknown
// name fails start-up, like a bind failure.

import { chmodSync, chownSync, readFileSync } from 'node:fs'
import type { ListenSpec } from '../config.ts'

/** A unix listener whose mode or owner cannot be applied; start-up stops (exit 1). */
export class UnixSocketSetupError extends Error {
  readonly code = 'ZGATE_UNIX_SOCKET_SETUP'
}

const PASSWD_PATH = '/etc/passwd'
const GROUP_PATH = '/etc/group'

/**
 * The id of `name` in a colon-separated database (`name:x:id:...`, field 3), a decimal
 * `name` as itself, or -1 when there is no such entry.
 */
export function lookupId(dbPath: string, name: string): number {
  if (/^[0-9]+$/.test(name)) return Number(name)
  let text: string
  try {
    text = readFileSync(dbPath, 'latin1')
  } catch {
    return -1
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':')
    if (fields.length >= 3 && fields[0] === name && /^[0-9]+$/.test(fields[2])) return Number(fields[2])
  }
  return -1
}

/** Applies `mode=`, `user=` and `group=` of a unix listener to its bound socket file. */
export function applyOwnership(spec: ListenSpec): void {
  if (spec.user !== '' || spec.group !== '') {
    const uid = spec.user === '' ? -1 : lookupId(PASSWD_PATH, spec.user)
    if (uid < 0 && spec.user !== '') throw new UnixSocketSetupError(`unknown user ${spec.user}`)
    const gid = spec.group === '' ? -1 : lookupId(GROUP_PATH, spec.group)
    if (gid < 0 && spec.group !== '') throw new UnixSocketSetupError(`unknown group ${spec.group}`)
    try {
      // -1 leaves that id unchanged (chown(2)).
      chownSync(spec.path, uid, gid)
    } catch (err) {
      throw new UnixSocketSetupError(`chown: ${(err as Error).message}`)
    }
  }
  if (spec.fileMode >= 0) {
    try {
      chmodSync(spec.path, spec.fileMode)
    } catch (err) {
      throw new UnixSocketSetupError(`chmod: ${(err as Error).message}`)
    }
  }
}
