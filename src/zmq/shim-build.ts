// Turning native/zgate-shim.c into a shared library with the system C compiler, so that no
// compiler runs when zgate starts. scripts/build-native.ts does it ahead of time (`bun run
// build:native`, run by `bun install` as `prepare`) into native/build/; ffi.ts does it once into
// the per-user cache when no prebuilt library matches the sources.
//
// Invariants
// - The library's file name carries a hash of the shim's sources and of the build recipe, so a
//   library built from other sources (an edit without a rebuild) is never loaded: it is simply
//   not found, and the next fallback runs.
// - Never loads anything: ffi.ts stays the only file that dlopens. This file reads sources and
//   runs a compiler.
// - Writes are atomic: the compiler writes a temporary name in the target folder, which is
//   then renamed, so another process or a worker thread never dlopens a half-written file.

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/** The repository's (or installed package's) native/ folder, found from this file. */
export const NATIVE_DIR = join(import.meta.dir, '..', '..', 'native')
/** The unity file that includes native/shim/*. */
export const SHIM_SOURCE_PATH = join(NATIVE_DIR, 'zgate-shim.c')
/** Where `bun run build:native` puts the library. */
export const PREBUILT_SHIM_DIR = join(NATIVE_DIR, 'build')

/** Hex digits of the sha256 kept in file names (64 bits: enough to tell builds apart). */
export const HASH_HEX_CHARS = 16
/** A compile slower than this counts as failed (gcc takes ~3 s on a loaded 2-core machine). */
const COMPILE_TIMEOUT_MS = 120_000
/** Compilers tried in this order after $CC. tcc takes no -fPIC (its output is always PIC). */
const COMPILERS = ['cc', 'gcc', 'clang', 'tcc']
/** gcc/clang flags. Part of the hash, so changing them gives a new file name. */
const CFLAGS = ['-std=c11', '-O2', '-fPIC', '-shared']
const TCC_FLAGS = ['-std=c11', '-O2', '-shared']
const LIBS = ['-lpthread']

/** Raised when the shim cannot be built; the message is one line naming what is missing. */
export class ShimBuildError extends Error {
  readonly code = 'SHIM_BUILD'
  override readonly name = 'ShimBuildError'
}

/** The first `HASH_HEX_CHARS` hex digits of a sha256 of `data`. */
export function contentHash(data: Uint8Array | string): string {
  return new Bun.CryptoHasher('sha256').update(data).digest('hex').slice(0, HASH_HEX_CHARS)
}

/**
 * Hash of every shim source (the unity file and native/shim/*, by name) and the recipe.
 * Throws ShimBuildError when the sources are not there (a compiled zgate has none).
 */
export function shimSourceHash(): string {
  // Bun's hasher, not node:crypto: loading that module would add ~30 ms to every start.
  const h = new Bun.CryptoHasher('sha256')
  h.update(`${CFLAGS.join(' ')}|${TCC_FLAGS.join(' ')}|${LIBS.join(' ')}\0`)
  try {
    h.update(readFileSync(SHIM_SOURCE_PATH))
    const parts = readdirSync(join(NATIVE_DIR, 'shim')).sort()
    for (const name of parts) h.update(`\0${name}\0`).update(readFileSync(join(NATIVE_DIR, 'shim', name)))
  } catch (err) {
    throw new ShimBuildError(`the shim's sources are missing (${(err as Error).message})`)
  }
  return h.digest('hex').slice(0, HASH_HEX_CHARS)
}

/** The library's file name for this platform and these sources. */
export function shimLibraryName(hash: string): string {
  const ext = process.platform === 'darwin' ? 'dylib' : 'so'
  return `zgate-shim-${process.platform}-${process.arch}-${hash}.${ext}`
}

/**
 * The per-user cache folder of zgate: $XDG_CACHE_HOME/zgate, else ~/.cache/zgate, else (no
 * home at all) a folder of this user in the temporary directory.
 */
export function userCacheDir(): string {
  const xdg = process.env.XDG_CACHE_HOME
  if (xdg) return join(xdg, 'zgate')
  const home = process.env.HOME || safeHomedir()
  if (home) return join(home, '.cache', 'zgate')
  return join(tmpdir(), `zgate-${process.getuid?.() ?? 'user'}`)
}

function safeHomedir(): string {
  try {
    return homedir()
  } catch {
    return ''
  }
}

/** $CC, then the usual compiler names, as found on PATH; null when there is none. */
export function findCompiler(): string | null {
  const fromEnv = process.env.CC
  if (fromEnv) {
    const found = Bun.which(fromEnv)
    if (found) return found
  }
  for (const name of COMPILERS) {
    const found = Bun.which(name)
    if (found) return found
  }
  return null
}

/**
 * Compiles the shim into `outPath` with `compiler`, creating its folder with `dirMode` (0700
 * in the per-user cache). Throws ShimBuildError with the compiler's first error line.
 */
export function compileShim(compiler: string, outPath: string, dirMode = 0o755): void {
  mkdirSync(dirname(outPath), { recursive: true, mode: dirMode })
  const tmp = `${outPath}.${process.pid}.tmp`
  const isTcc = /(^|\/)tcc$/.test(compiler)
  const args = [compiler, ...(isTcc ? TCC_FLAGS : CFLAGS), '-o', tmp, SHIM_SOURCE_PATH, ...LIBS]
  let result
  try {
    result = Bun.spawnSync(args, { stdout: 'pipe', stderr: 'pipe', timeout: COMPILE_TIMEOUT_MS })
  } catch (err) {
    throw new ShimBuildError(`${compiler} did not run: ${(err as Error).message}`)
  }
  if (result.exitCode !== 0) {
    rmSync(tmp, { force: true })
    const text = `${result.stderr.toString()}\n${result.stdout.toString()}`
    const why = result.exitCode === null ? `timed out after ${COMPILE_TIMEOUT_MS} ms` : compilerError(text)
    throw new ShimBuildError(`${compiler} failed on ${SHIM_SOURCE_PATH}: ${why}`)
  }
  renameSync(tmp, outPath)
}

/**
 * The line that says what went wrong in a compiler's output, for a one-line error: the first
 * line with `error` in it that is not a count ("1 errors while compiling", TinyCC's first line),
 * else the first non-empty line.
 */
export function compilerError(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '')
  const real = lines.find((l) => /error/i.test(l) && !/^\d+ errors? /.test(l))
  return real ?? lines[0] ?? 'no output'
}
