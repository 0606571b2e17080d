// Deterministic message bursts for echo tests (imported by ws-lib-client.mjs, which sends them,
// and by the tests, which check every echo against them). Three kinds in turn, so compression
// meets all its cases: compressible text (words from a small vocabulary), incompressible binary,
// and binary mixing runs of both. Sizes vary between min and max bytes, both ends included.
// The bytes are an AES-128-CTR key stream keyed by SHA-256 of (seed, message): reproducible
// anywhere, and fast enough for tens of megabytes.

import { createCipheriv, createHash } from 'node:crypto'

const WORDS = ['alpha ', 'beta ', 'gamma ', 'delta ', 'credit ', 'window ', 'zlib ', 'frame ', 'echo\n', 'gateway ']
/** Bytes per run in the mixed kind. */
const MIXED_RUN_BYTES = 1024
const KEY_BYTES = 16

/** `n` pseudo-random bytes for message i of burst `seed`. */
function randomBytes(seed, i, n) {
  const h = createHash('sha256').update(`${seed}/${i}`).digest()
  const cipher = createCipheriv('aes-128-ctr', h.subarray(0, KEY_BYTES), h.subarray(KEY_BYTES))
  return new Uint8Array(cipher.update(new Uint8Array(n)))
}

/** Message i of the burst `seed`: { bytes, binary }, min <= bytes.length <= max. */
export function burstMessage(seed, i, min, max) {
  const pick = randomBytes(seed, i, 4)
  const draw = ((pick[0] << 24) | (pick[1] << 16) | (pick[2] << 8) | pick[3]) >>> 0
  const size = i % 10 === 0 ? min : i % 10 === 1 ? max : min + (draw % (max - min + 1))
  const random = randomBytes(seed, i, size)
  const kind = i % 3
  if (kind === 0) {
    const bytes = new Uint8Array(size)
    for (let p = 0, k = 0; p < size; k++) {
      const w = WORDS[random[k % size] % WORDS.length]
      for (let c = 0; c < w.length && p < size; c++) bytes[p++] = w.charCodeAt(c)
    }
    return { bytes, binary: false }
  }
  if (kind === 2) {
    for (let p = 0; p < size; p++) if (Math.floor(p / MIXED_RUN_BYTES) % 2 === 1) random[p] = 0x41 + (p % 7)
  }
  return { bytes: random, binary: true }
}
