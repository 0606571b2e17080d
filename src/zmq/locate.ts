// Where libzmq may be found, in the order ffi.ts tries to dlopen it. Computes paths only:
// ffi.ts stays the one file that loads anything.
//
// Order: in a compiled zgate, the copies of those addons it carries (embedded.ts); from
// source, the prebuilt addons of the `zeromq` npm package (each exports every zmq_* symbol of
// libzmq 4.3.5; only some load on a given libc, so each is a candidate); then the system
// library (Debian libzmq5). An explicit path (setZmqLibraryPath, env ZGATE_LIBZMQ) replaces
// the search.
//
// Invariants
// - The package is resolved from this file, not the cwd, so zgate finds it when run from
//   anywhere (bun link, bunx).
// - The zeromq package's JavaScript is never imported: it crashes inside Bun.

import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { embeddedLibzmq } from './embedded.ts'

/** The libzmq candidates, in the order they are tried; only `override` when it is set. */
export function libzmqCandidates(override: string | null): string[] {
  if (override !== null) return [override]
  const out: string[] = embeddedLibzmq()
  // A compiled zgate never looks in node_modules: it brings its own.
  const base = Bun.isStandaloneExecutable ? null : zeromqAddonBase()
  if (base !== null) {
    let dirs: string[] = []
    try {
      dirs = readdirSync(base)
    } catch {
      // No prebuilt addons for this platform: only the system library remains.
    }
    for (const d of sortAddonDirs(dirs)) out.push(join(base, d, 'addon.node'))
  }
  if (process.platform === 'darwin') out.push('libzmq.5.dylib', 'libzmq.dylib')
  else out.push('libzmq.so.5', 'libzmq.so')
  return out
}

/** The zeromq package's folder of prebuilt addons for this platform, or null. */
export function zeromqAddonBase(): string | null {
  const pkgDir = zeromqPackageDir()
  return pkgDir === null ? null : join(pkgDir, 'build', process.platform, process.arch, 'node')
}

/** glibc/libc builds first, newest first, then musl, then the legacy numbered folders. */
export function sortAddonDirs(dirs: string[]): string[] {
  const rank = (d: string): number =>
    d.startsWith('glibc-') || d.startsWith('libc-') ? 0 : d.startsWith('musl-') ? 1 : 2
  const abi = (d: string): number => Number.parseInt(d.replace(/^\D+/, ''), 10) || 0
  return [...dirs].sort((a, b) => rank(a) - rank(b) || abi(b) - abi(a))
}

/** The installed `zeromq` package folder, resolved from this file (not the cwd), or null. */
function zeromqPackageDir(): string | null {
  try {
    return dirname(Bun.resolveSync('zeromq/package.json', import.meta.dir))
  } catch {
    return null
  }
}
