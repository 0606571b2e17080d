// Micro-benchmarks behind the size thresholds of the shared byte primitives (src/util/):
// - COPY_LOOP_MAX_BYTES: the unrolled copy loop against set(subarray) (native memcpy plus a
//   view allocation) at sizes around it;
// - UTF8_NATIVE_MIN_BYTES: the JS UTF-8 loop against node:buffer's isUtf8 on a view.
// Run: bun bench/bytes.bench.ts

import { bench, do_not_optimize, group, run, summary } from 'mitata'
import { isUtf8 as isUtf8Native } from 'node:buffer'
import { COPY_LOOP_MAX_BYTES, copyByLoop, copyBytes } from '../src/util/bytes.ts'
import { UTF8_NATIVE_MIN_BYTES, isUtf8 } from '../src/util/utf8.ts'

const src = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff)
const dst = new Uint8Array(8192)

for (const n of [32, 64, 128, COPY_LOOP_MAX_BYTES, COPY_LOOP_MAX_BYTES * 2, 4000]) {
  summary(() => {
    group(`copy ${n} bytes`, () => {
      // copyBytes picks the loop up to the threshold; force each strategy on its own.
      bench('unrolled loop', () => do_not_optimize(copyByLoop(dst, 3, src, 1, 1 + n)))
      bench('set(subarray)', () => {
        dst.set(src.subarray(1, 1 + n), 3)
        do_not_optimize(dst)
      })
      bench('copyBytes', () => do_not_optimize(copyBytes(dst, 3, src, 1, 1 + n)))
    })
  })
}

// Mostly ASCII text with a few 2- and 3-byte code points, as close reasons and header values.
const text = new TextEncoder().encode('a'.repeat(8192) + 'héllo wörld € ok')
for (const n of [64, 256, UTF8_NATIVE_MIN_BYTES, 4096]) {
  const s = text.length - n
  const e = text.length
  summary(() => {
    group(`utf-8 ${n} bytes`, () => {
      bench('isUtf8 (JS loop below the threshold)', () => do_not_optimize(isUtf8(text, s, e)))
      bench('native on a view', () => do_not_optimize(isUtf8Native(text.subarray(s, e))))
    })
  })
}

await run()
