// Incremental UTF-8 validation for text messages that arrive in pieces (RFC 6455 8.1: a text
// message whose payload is not valid UTF-8 fails the connection with 1007). A code point may be
// split across frames or reads, so the validator carries what the next bytes must be.
//
// The rules are those of RFC 3629 section 4: no overlong forms, no surrogates, nothing above
// U+10FFFF. State lives in one small object per session; validating allocates nothing, except
// one view per long piece handed to the native validator (validText, via util/utf8.ts).

import { UTF8_NATIVE_MIN_BYTES, isUtf8 } from '../util/utf8.ts'

export class Utf8Validator {
  /** Continuation bytes still expected for the current code point. */
  private need = 0
  /** Bounds for the next continuation byte (narrower right after E0, ED, F0, F4). */
  private lo = 0x80
  private hi = 0xbf

  reset(): void {
    this.need = 0
    this.lo = 0x80
    this.hi = 0xbf
  }

  /** Feeds buf[s, e); false as soon as the bytes cannot be UTF-8. */
  update(buf: Uint8Array, s: number, e: number): boolean {
    let need = this.need
    let lo = this.lo
    let hi = this.hi
    for (let i = s; i < e; i++) {
      const c = buf[i]
      if (need > 0) {
        if (c < lo || c > hi) return false
        need--
        lo = 0x80
        hi = 0xbf
        continue
      }
      if (c < 0x80) continue
      if (c < 0xc2 || c > 0xf4) return false
      if (c < 0xe0) {
        need = 1
      } else if (c < 0xf0) {
        need = 2
        if (c === 0xe0) lo = 0xa0 // no overlong 3-byte forms
        else if (c === 0xed) hi = 0x9f // no surrogates
      } else {
        need = 3
        if (c === 0xf0) lo = 0x90 // no overlong 4-byte forms
        else if (c === 0xf4) hi = 0x8f // nothing above U+10FFFF
      }
    }
    this.need = need
    this.lo = lo
    this.hi = hi
    return true
  }

  /** The message ended: valid only if no code point is cut off. */
  complete(): boolean {
    return this.need === 0
  }
}

/**
 * Feeds buf[s, e) of a text message to the session's validator (RFC 6455 8.1). Long pieces
 * (UTF8_NATIVE_MIN_BYTES and up) go to the whole-span isUtf8, and so to the runtime's native
 * validator, up to the last complete code point; the incremental validator only sees a code
 * point left open by the previous piece and one cut off at the end (≤ 3 bytes each).
 */
export function validText(v: Utf8Validator, buf: Uint8Array, s: number, e: number): boolean {
  if (e - s < UTF8_NATIVE_MIN_BYTES) return v.update(buf, s, e)
  let i = s
  for (; i < e && !v.complete(); i++) if (!v.update(buf, i, i + 1)) return false
  const cut = codePointEnd(buf, i, e)
  return isUtf8(buf, i, cut) && v.update(buf, cut, e)
}

/**
 * The end of the last whole code point in buf[s, e): e, or the position of a lead byte among the
 * last three that announces more bytes than follow it (invalid bytes are left to the validators).
 */
function codePointEnd(buf: Uint8Array, s: number, e: number): number {
  for (let j = e - 1; j >= s && j >= e - 3; j--) {
    const c = buf[j]
    if (c < 0x80) return e
    if (c >= 0xc0) return j + (c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2) > e ? j : e
  }
  return e
}
