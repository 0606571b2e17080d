#!/usr/bin/env bun
// `bun run build:native`: compiles the C shim (native/zgate-shim.c) into
// native/build/zgate-shim-<platform>-<arch>-<hash>.so with the system C compiler, so zgate
// dlopens it at start instead of compiling it with TinyCC (src/zmq/ffi.ts).
//
// `--if-possible` (how `bun install` runs it, as `prepare`): a missing compiler or a failed
// compile is one warning line and exit 0, since zgate still starts (it builds the shim into
// its per-user cache, or falls back to TinyCC) and an install must not fail for it.
// Prints the library's path on success; this platform's libraries of older sources are removed.

import { existsSync, readdirSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import {
  compileShim,
  findCompiler,
  PREBUILT_SHIM_DIR,
  shimLibraryName,
  shimSourceHash,
} from '../src/zmq/shim-build.ts'

const optional = process.argv.includes('--if-possible')

function fail(message: string): never {
  if (optional) {
    process.stderr.write(`zgate: native shim not built (${message}); zgate builds it when it starts, with a C compiler or TinyCC and the libc headers\n`)
    process.exit(0)
  }
  process.stderr.write(`build:native: ${message}\n`)
  process.exit(1)
}

try {
  const name = shimLibraryName(shimSourceHash())
  const out = join(PREBUILT_SHIM_DIR, name)
  if (!existsSync(out)) {
    const compiler = findCompiler()
    if (compiler === null) fail('no C compiler on PATH (cc, gcc, clang, tcc; or set CC)')
    compileShim(compiler, out)
  }
  const samePlatform = `zgate-shim-${process.platform}-${process.arch}-`
  for (const old of readdirSync(PREBUILT_SHIM_DIR)) {
    if (old.startsWith(samePlatform) && old !== name) rmSync(join(PREBUILT_SHIM_DIR, old), { force: true })
  }
  console.log(relative(process.cwd(), out) || out)
} catch (err) {
  fail(err instanceof Error ? err.message : String(err))
}
