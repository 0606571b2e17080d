// Permissions and ownership of a unix-socket listener (`--listen PATH,local,mode=660,user=U,
// group=G`, zhttp.md 7.2, Condure 1.10): applied right after the socket file is bound, before
// any client can reach it through a group or other bit it should not have. Names are resolved
// through the C library (getpwnam/getgrnam, src/sys/libc-ffi.ts), so accounts from any NSS
// source work as they do for Condure; a decimal number is taken as the id itself. An unknown
// name fails start-up, like a bind failure.

import { chmodSync, chownSync } from 'node:fs'
import type { ListenSpec } from '../config.ts'
import { groupIdByName, userIdByName } from '../sys/libc-ffi.ts'

/** A unix listener whose mode or owner cannot be applied; start-up stops (exit 1). */
export class UnixSocketSetupError extends Error {
  readonly code = 'ZGATE_UNIX_SOCKET_SETUP'
}

/** The uid for `user=`: a decimal number as itself, else the account's id, or -1 if none. */
export function resolveUserId(user: string): number {
  return /^[0-9]+$/.test(user) ? Number(user) : userIdByName(user)
}

/** The gid for `group=`: a decimal number as itself, else the group's id, or -1 if none. */
export function resolveGroupId(group: string): number {
  return /^[0-9]+$/.test(group) ? Number(group) : groupIdByName(group)
}

/** Applies `mode=`, `user=` and `group=` of a unix listener to its bound socket file. */
export function applyOwnership(spec: ListenSpec): void {
  if (spec.user !== '' || spec.group !== '') {
    const uid = spec.user === '' ? -1 : resolveUserId(spec.user)
    if (uid < 0 && spec.user !== '') throw new UnixSocketSetupError(`unknown user ${spec.user}`)
    const gid = spec.group === '' ? -1 : resolveGroupId(spec.group)
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
