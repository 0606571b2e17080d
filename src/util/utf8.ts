// UTF-8 over byte spans: whole-span validation (tnetstring map keys, handler header names,
// Sec-WebSocket-Extensions values, WebSocket close reasons) and encoding JS strings straight
// into an output buffer. The rules are those of RFC 3629 section 4: no overlong forms, no
// surrogates, nothing above U+10FFFF. A text message that arrives in pieces is validated
// incrementally by ws/utf8.ts, which hands its long middle parts to isUtf8 here.

import { isUtf8 as isUtf8Native } from 'node:buffer'

/**
 * Spans at least this long are checked by the runtime's native UTF-8 validator: ~7x faster
 * than the byte loop on 4 KiB (bench/bytes.bench.ts), and below this size the view it needs
 * would be the only allocation on the path.
 */
export const UTF8_NATIVE_MIN_BYTES = 512

/** True when buf[s, e) is valid UTF-8 (RFC 3629 section 4). */
export function isUtf8(buf: Uint8Array, s: number, e: number): boolean {
  if (e - s >= UTF8_NATIVE_MIN_BYTES) return isUtf8Native(buf.subarray(s, e))
  let i = s
  while (i < e) {
    const c = buf[i]
    if (c < 0x80) {
      i++
      continue
    }
    if (c < 0xc2 || c > 0xf4) return false
    if (c < 0xe0) {
      if (i + 1 >= e || (buf[i + 1] & 0xc0) !== 0x80) return false
      i += 2
      continue
    }
    const c1 = i + 1 < e ? buf[i + 1] : 0
    if ((c1 & 0xc0) !== 0x80) return false
    if (c < 0xf0) {
      // E0 needs A0.. (no overlong); ED needs ..9F (no surrogates).
      if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return false
      if (i + 2 >= e || (buf[i + 2] & 0xc0) !== 0x80) return false
      i += 3
      continue
    }
    // F0 needs 90.. (no overlong); F4 needs ..8F (nothing past U+10FFFF).
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return false
    if (i + 3 >= e || (buf[i + 2] & 0xc0) !== 0x80 || (buf[i + 3] & 0xc0) !== 0x80) return false
    i += 4
  }
  return true
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff
}

/** Bytes of the UTF-8 encoding of `str` as writeUtf8 writes it (a lone surrogate is 3 bytes). */
export function utf8Length(str: string): number {
  const n = str.length
  let size = 0
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i)
    if (c < 0x80) size += 1
    else if (c < 0x800) size += 2
    else if (isHighSurrogate(c) && i + 1 < n && isLowSurrogate(str.charCodeAt(i + 1))) {
      size += 4
      i++
    } else size += 3
  }
  return size
}

/**
 * Writes the UTF-8 encoding of `str` at pos and returns the end; a lone surrogate becomes
 * U+FFFD, as TextEncoder does. No allocation; the caller sized the room with utf8Length.
 */
export function writeUtf8(buf: Uint8Array, pos: number, str: string): number {
  const n = str.length
  let p = pos
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i)
    if (c < 0x80) {
      buf[p++] = c
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6)
      buf[p++] = 0x80 | (c & 0x3f)
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const c2 = i + 1 < n ? str.charCodeAt(i + 1) : 0
      if (isHighSurrogate(c) && isLowSurrogate(c2)) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00)
        buf[p++] = 0xf0 | (cp >> 18)
        buf[p++] = 0x80 | ((cp >> 12) & 0x3f)
        buf[p++] = 0x80 | ((cp >> 6) & 0x3f)
        buf[p++] = 0x80 | (cp & 0x3f)
        i++
      } else {
        // Lone surrogate → U+FFFD (EF BF BD).
        buf[p++] = 0xef
        buf[p++] = 0xbf
        buf[p++] = 0xbd
      }
    } else {
      buf[p++] = 0xe0 | (c >> 12)
      buf[p++] = 0x80 | ((c >> 6) & 0x3f)
      buf[p++] = 0x80 | (c & 0x3f)
    }
  }
  return p
}
