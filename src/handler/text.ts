// Byte → string helpers for packet fields: ids and header names are short ASCII almost always,
// so a char-code loop beats a TextDecoder call there; anything else is decoded as UTF-8.

/** Longest span decoded with the char-code loop. */
const SHORT_TEXT_MAX_BYTES = 64
const utf8Decoder = new TextDecoder()

/** buf[s, e) as text: ASCII fast path, UTF-8 (replacement chars for bad bytes) otherwise. */
export function spanText(buf: Uint8Array, s: number, e: number): string {
  if (e - s <= SHORT_TEXT_MAX_BYTES) {
    let out = ''
    for (let i = s; i < e; i++) {
      const c = buf[i]
      if (c >= 0x80) return utf8Decoder.decode(buf.subarray(s, e))
      out += String.fromCharCode(c)
    }
    return out
  }
  return utf8Decoder.decode(buf.subarray(s, e))
}

/** buf[s, e) one char per byte: an injective key for routing tables, whatever the bytes. */
export function spanKey(buf: Uint8Array, s: number, e: number): string {
  let out = ''
  for (let i = s; i < e; i++) out += String.fromCharCode(buf[i])
  return out
}
