// The only file that dlopens the C library. It answers user and group names the way the
// system answers them, through getpwnam(3) and getgrnam(3): every source configured in
// /etc/nsswitch.conf (files, LDAP or SSSD, nss-systemd's DynamicUser accounts) is consulted, as
// for Condure, which calls the same functions. Reading /etc/passwd directly would miss all
// but the first.
//
// Invariants
// - Called at start-up only (unix listeners' `user=`/`group=`, zhttp.md 7.2), on the main
//   thread: getpwnam and getgrnam return pointers into static storage that the next call
//   overwrites, so each result is read at once, before any other call.
// - The layouts are the LP64 ones shared by glibc, musl and macOS: `struct passwd` starts
//   with two `char *` (pw_name, pw_passwd) then `uid_t pw_uid` (u32) at byte 16; `struct
//   group` with two `char *` (gr_name, gr_passwd) then `gid_t gr_gid` (u32) at byte 16.
// - Loaded on first use, so a process that never resolves a name never opens libc here.
// - ZGATE_TRACE_FFI (not "0") at load time logs each call (src/util/ffi-trace.ts).

import { dlopen, FFIType, read, type Pointer } from 'bun:ffi'
import { withFfiTrace } from '../util/ffi-trace.ts'

/** Byte offset of pw_uid in struct passwd and of gr_gid in struct group (LP64). */
const ID_OFFSET_BYTES = 16

const LIBC_SYMBOLS = {
  // struct passwd *getpwnam(const char *name)
  getpwnam: { args: [FFIType.ptr], returns: FFIType.ptr },
  // struct group *getgrnam(const char *name)
  getgrnam: { args: [FFIType.ptr], returns: FFIType.ptr },
} as const

/** Raised when no C library can be loaded (a platform zgate does not know). */
export class LibcLoadError extends Error {
  readonly code = 'LIBC_LOAD'
  override readonly name = 'LibcLoadError'
}

interface LibcLib {
  getpwnam(name: Uint8Array): Pointer | null
  getgrnam(name: Uint8Array): Pointer | null
}

let instance: LibcLib | null = null

/** The C library's file names, in the order they are tried. */
function libcCandidates(): string[] {
  if (process.platform === 'darwin') return ['libSystem.B.dylib']
  // glibc's soname, then musl's (Alpine links it as /lib/libc.musl-<arch>.so.1).
  return ['libc.so.6', `libc.musl-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.so.1`]
}

function load(): LibcLib {
  if (instance !== null) return instance
  const tried: string[] = []
  for (const path of libcCandidates()) {
    try {
      const raw = dlopen(path, LIBC_SYMBOLS).symbols
      const lib: LibcLib = {
        getpwnam: (name) => raw.getpwnam(name) as Pointer | null,
        getgrnam: (name) => raw.getgrnam(name) as Pointer | null,
      }
      instance = withFfiTrace(lib, `libc from ${path}`)
      return instance
    } catch (err) {
      tried.push(`${path} (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`)
    }
  }
  throw new LibcLoadError(`Could not load the C library; tried: ${tried.join('; ')}.`)
}

/** `text` as a NUL-terminated C string, or null when it holds a NUL itself (no such name). */
function cString(text: string): Uint8Array | null {
  if (text.includes('\0')) return null
  return new TextEncoder().encode(`${text}\0`)
}

/** The uid of user `name` (getpwnam(3)), or -1 when there is no such user. */
export function userIdByName(name: string): number {
  const c = cString(name)
  if (c === null) return -1
  const pw = load().getpwnam(c)
  return pw === null || pw === 0 ? -1 : read.u32(pw, ID_OFFSET_BYTES)
}

/** The gid of group `name` (getgrnam(3)), or -1 when there is no such group. */
export function groupIdByName(name: string): number {
  const c = cString(name)
  if (c === null) return -1
  const gr = load().getgrnam(c)
  return gr === null || gr === 0 ? -1 : read.u32(gr, ID_OFFSET_BYTES)
}
