// src/util/ffi-trace.ts through both FFI boundary files it serves (src/zmq/ffi.ts,
// src/ws/zlib-ffi.ts): with ZGATE_TRACE_FFI set, real libzmq and libz calls are logged with
// their arguments, result and (for libz) the stream state they changed; unset or "0", the
// binding is returned as is and nothing is written.

import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { ffiTraceEnabled, withFfiTrace } from '../../src/util/ffi-trace.ts'

const SRC = join(import.meta.dir, '..', '..', 'src')

/** Runs `script` in a fresh Bun with ZGATE_TRACE_FFI = trace; returns its stdout and stderr. */
async function run(script: string, trace: string | undefined): Promise<{ out: string; err: string }> {
  const env: Record<string, string | undefined> = { ...process.env, ZGATE_TRACE_FFI: trace }
  if (trace === undefined) delete env.ZGATE_TRACE_FFI
  const p = Bun.spawn([process.execPath, '-e', script], { stdout: 'pipe', stderr: 'pipe', env })
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()])
  expect(await p.exited).toBe(0)
  return { out, err }
}

const zmqScript = `const { ZmqContext, ZMQ_PUSH, ZMQ_LINGER } = await import(${JSON.stringify(join(SRC, 'zmq', 'socket.ts'))})
const ctx = new ZmqContext()
const s = ctx.socket(ZMQ_PUSH)
s.setInt(ZMQ_LINGER, 7)
console.log('linger ' + s.getInt(ZMQ_LINGER))
ctx.close()`

const zlibScript = `const z = await import(${JSON.stringify(join(SRC, 'ws', 'zlib-ffi.ts'))})
const lib = z.loadZlib()
const s = new z.ZStream()
console.log('init ' + lib.deflateInitRaw(s, 6, 15, 8))
const input = new TextEncoder().encode('hello hello hello')
const output = new Uint8Array(64)
z.setInput(s, input, 0, input.length)
z.setOutput(s, output, 0, output.length)
console.log('deflate ' + lib.deflate(s, z.Z_SYNC_FLUSH))
console.log('end ' + lib.deflateEnd(s))
console.log('address ' + s.address)`

describe('ZGATE_TRACE_FFI', () => {
  test('libzmq: a banner, then one line per call with arguments and result', async () => {
    const { out, err } = await run(zmqScript, '1')
    expect(out).toBe('linger 7\n')
    const lines = err.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^\[zgate ffi\] libzmq 4\.\d+\.\d+ from \S+$/)
    // Typed arrays show as type and size; the int option value and its result are plain.
    expect(lines).toContainEqual(expect.stringMatching(/^\[zgate ffi\] setsockoptInt\(\d+, 17, 7\) -> 0 \d+\.\dus$/))
    expect(lines).toContainEqual(
      expect.stringMatching(/^\[zgate ffi\] getsockoptInt\(\d+, 17, <Int32Array 4B>\) -> 0 \d+\.\dus$/),
    )
    expect(lines).toContainEqual(expect.stringMatching(/^\[zgate ffi\] ctxTerm\(\d+\) -> 0 /))
    for (const l of lines) expect(l).toStartWith('[zgate ffi] ')
  })

  test('libz: the stream shows as its address, with avail_in/avail_out before and after', async () => {
    const { out, err } = await run(zlibScript, '1')
    // deflateEnd on a stream never finished with Z_FINISH is Z_DATA_ERROR (-3, zlib.h).
    expect(out).toStartWith('init 0\ndeflate 0\nend -3\naddress ')
    const address = out.trimEnd().split('address ')[1]!
    const lines = err.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^\[zgate ffi\] libz 1\.\S+ from \S+$/)
    // 17 input bytes all consumed; 64 output bytes, some used by the compressed block.
    const deflate = lines.find((l) => l.startsWith('[zgate ffi] deflate('))
    expect(deflate).toMatch(new RegExp(`^\\[zgate ffi\\] deflate\\(${address}, 2\\) -> 0 in 17->0 out 64->\\d+ \\d+\\.\\dus$`))
    const outAfter = Number(/out 64->(\d+)/.exec(deflate!)![1])
    expect(outAfter).toBeLessThan(64)
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\[zgate ffi\\] deflateEnd\\(${address}\\) -> -3 `)))
  })

  for (const value of [undefined, '0', '']) {
    test(`off (${JSON.stringify(value)}): nothing is logged`, async () => {
      const zmq = await run(zmqScript, value)
      expect(zmq.out).toBe('linger 7\n')
      expect(zmq.err).toBe('')
      const zlib = await run(zlibScript, value)
      expect(zlib.out).toStartWith('init 0\ndeflate 0\nend -3\n')
      expect(zlib.err).toBe('')
    })
  }

  test('off, withFfiTrace returns the binding itself (the raw functions, no wrapper)', () => {
    const saved = process.env.ZGATE_TRACE_FFI
    try {
      delete process.env.ZGATE_TRACE_FFI
      const lib = { version: '1', add: (a: number, b: number) => a + b }
      expect(ffiTraceEnabled()).toBe(false)
      expect(withFfiTrace(lib, 'x')).toBe(lib)
      process.env.ZGATE_TRACE_FFI = '1'
      expect(ffiTraceEnabled()).toBe(true)
      const wrapped = withFfiTrace(lib, 'x', {})
      expect(wrapped).not.toBe(lib)
      expect(wrapped.version).toBe('1')
      expect(wrapped.add).not.toBe(lib.add)
    } finally {
      if (saved === undefined) delete process.env.ZGATE_TRACE_FFI
      else process.env.ZGATE_TRACE_FFI = saved
    }
  })
})
