// src/zmq/shim-build.ts: the shim built with the system C compiler (what `bun run
// build:native` and ffi.ts's cache fallback run), its source hash, and the one-line compiler
// error that replaces TinyCC's "1 errors while compiling" header.

import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  compileShim,
  compilerError,
  findCompiler,
  ShimBuildError,
  shimLibraryName,
  shimSourceHash,
} from '../../src/zmq/shim-build.ts'

const dir = mkdtempSync(join(tmpdir(), 'zgate-shim-build-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Every function ffi.ts binds from the shim (SHIM_SYMBOLS). */
const EXPORTS = ['zg_init', 'zg_socket', 'zg_send_batch', 'zg_recv_batch', 'zg_poller_new', 'zg_poller_stop']

describe('compilerError', () => {
  test("TinyCC: the line after its error count, not the count", () => {
    const text = "1 errors while compiling /x/zgate-shim.c\n/x/shim/abi.h:18: error: include file 'stdint.h' not found\n"
    expect(compilerError(text)).toBe("/x/shim/abi.h:18: error: include file 'stdint.h' not found")
  })

  test('gcc: the fatal error line, not the "In file included from" context', () => {
    const text = [
      'In file included from /x/zgate-shim.c:24:',
      '/x/shim/abi.h:15:10: fatal error: stddef.h: No such file or directory',
      '   15 | #include <stddef.h>',
      'compilation terminated.',
    ].join('\n')
    expect(compilerError(text)).toBe('/x/shim/abi.h:15:10: fatal error: stddef.h: No such file or directory')
  })

  test('no error line: the first line; no output at all: says so', () => {
    expect(compilerError('\n  ld: cannot find -lpthread\nmore')).toBe('ld: cannot find -lpthread')
    expect(compilerError('')).toBe('no output')
  })
})

describe('shim build', () => {
  test('the hash is stable for the same sources and names the platform in the file name', () => {
    const hash = shimSourceHash()
    expect(hash).toMatch(/^[0-9a-f]{16}$/)
    expect(shimSourceHash()).toBe(hash)
    expect(shimLibraryName(hash)).toBe(`zgate-shim-${process.platform}-${process.arch}-${hash}.so`)
  })

  const compiler = findCompiler()
  test.skipIf(compiler === null)('the system compiler builds a shared library exporting the shim', () => {
    const out = join(dir, 'built', shimLibraryName(shimSourceHash()))
    compileShim(compiler!, out, 0o700)
    const bytes = readFileSync(out)
    expect([...bytes.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]) // ELF
    const text = bytes.toString('latin1')
    for (const name of EXPORTS) expect(text).toContain(`${name}\0`)
  }, 120_000)

  test('a compiler that fails gives one ShimBuildError line and leaves no file', () => {
    const out = join(dir, 'failed', 'shim.so')
    let err: unknown
    try {
      compileShim('/bin/false', out)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ShimBuildError)
    expect((err as Error).message).toStartWith('/bin/false failed on ')
    expect((err as Error).message).not.toContain('\n')
    expect(Bun.file(out).size).toBe(0)
  })
})
