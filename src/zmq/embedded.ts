// The native libraries that a compiled zgate (`bun run build` → dist/zgate, scripts/build.ts)
// carries inside itself: the shim and the libzmq builds of the `zeromq` package. They are
// embedded as assets named `<stem>-<hash>.so`, the hash being of their content; dlopen needs
// real files, so each is copied to `<cache>/<hash>/<stem>.so` in the per-user cache
// (shim-build.ts userCacheDir) the first time it is tried, and found there by later starts
// and by worker threads. libzmq builds that are never tried (an earlier one loaded) are never
// copied.
//
// Invariants
// - Only a standalone executable has embedded files: elsewhere this finds none.
// - A copy is written to a temporary name and renamed, so a concurrent start never dlopens a
//   half-written file; an existing copy of the right size is reused (its folder's name is the
//   hash of the content it must have).
// - Never loads anything (ffi.ts does).

import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { userCacheDir } from './shim-build.ts'

/** Bun's virtual root for embedded files on Linux and macOS (assets sit under it by name). */
const STANDALONE_ROOT = '/$bunfs/root'
/** `zgate-shim-<hash>.so` or `libzmq-<order>-<build>-<hash>.so` (scripts/build.ts names them). */
const EMBEDDED_NAME = /^(zgate-shim|libzmq-\d+-[A-Za-z0-9._-]+?)-([0-9a-f]{16})\.so$/

/** An embedded library: where it is inside the binary, and its copy in the cache. */
interface Embedded {
  from: string
  to: string
}

let shim: Embedded | null = null
/** libzmq builds in the order to try them (their names sort that way). */
let libzmq: Embedded[] | null = null

function scan(): Embedded[] {
  if (libzmq !== null) return libzmq
  libzmq = []
  if (!Bun.isStandaloneExecutable) return libzmq
  const names = Bun.embeddedFiles.map((b) => (b as Blob & { name: string }).name).sort()
  for (const name of names) {
    const m = EMBEDDED_NAME.exec(basename(name))
    if (m === null) continue
    const e = { from: join(STANDALONE_ROOT, name), to: join(userCacheDir(), m[2]!, `${m[1]}.so`) }
    if (m[1] === 'zgate-shim') shim = e
    else libzmq.push(e)
  }
  return libzmq
}

/** Cache paths of the embedded libzmq builds, in order; none outside a binary. Copies nothing. */
export function embeddedLibzmq(): string[] {
  return scan().map((e) => e.to)
}

/** The embedded shim, copied to the cache on first use; null outside a binary. */
export function embeddedShim(): string | null {
  scan()
  return shim === null ? null : materialize(shim.to)
}

/**
 * `path` itself, after copying the embedded library it names to the cache when it is one
 * (once per build: later starts find the copy). Other paths are returned as they are.
 */
export function materialize(path: string): string {
  const e = path === shim?.to ? shim : scan().find((x) => x.to === path)
  if (e !== undefined) extract(e.from, e.to)
  return path
}

function extract(from: string, to: string): void {
  const size = statSync(from).size
  try {
    if (statSync(to).size === size) return
  } catch {
    // Not there yet: first run of this build.
  }
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 })
  const tmp = `${to}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`
  writeFileSync(tmp, readFileSync(from), { mode: 0o500 })
  renameSync(tmp, to)
}
