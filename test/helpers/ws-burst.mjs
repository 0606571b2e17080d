// Deterministic message bursts for echo tests (imported by ws-lib-client.mjs, which sends them,
// and by the tests, which check every echo against them). Three kinds in turn, so compression
// meets all its cases: compressible text (words from a small vocabulary), incompressible binary
// (xorshift bytes), and binary mixing runs of both. Sizes vary between min and max bytes,
// both ends included.

const WORDS = ['alpha ', 'beta ', 'gamma ', 'delta ', 'credit ', 'window ', 'zlib ', 'frame ', 'echo\n', 'gateway ']
/** Bytes per run in the mixed kind. */
const MIXED_RUN_BYTES = 1024

/** xorshift32 from a mixed (seed, i), so that neighbouring messages do not look alike. */
function rng(seed, i) {
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 1, 0xc2b2ae35)) >>> 0 || 1
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

/** Message i of the burst `seed`: { bytes, binary }, min <= bytes.length <= max. */
export function burstMessage(seed, i, min, max) {
  const r = rng(seed, i)
  const size = i % 10 === 0 ? min : i % 10 === 1 ? max : min + (r() % (max - min + 1))
  const bytes = new Uint8Array(size)
  const kind = i % 3
  if (kind === 0) {
    let p = 0
    while (p < size) {
      const w = WORDS[r() % WORDS.length]
      for (let k = 0; k < w.length && p < size; k++) bytes[p++] = w.charCodeAt(k)
    }
    return { bytes, binary: false }
  }
  for (let p = 0; p < size; p++) {
    const random = kind === 1 || Math.floor(p / MIXED_RUN_BYTES) % 2 === 0
    bytes[p] = random ? r() & 0xff : 0x41 + (p % 7)
  }
  return { bytes, binary: true }
}
