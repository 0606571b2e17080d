// Incremental UTF-8 validation for text messages that arrive in pieces (RFC 6455 8.1: a text
// message whose payload is not valid UTF-8 fails the connection with 1007). A code point may be
// split across frames or reads, so the validator carries what the next bytes must be.
//
// The rules are those of RFC 3629 section 4: no overlong forms, no surrogates, nothing above
// U+10FFFF. State lives in one small object per session; validating allocates nothing.

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
