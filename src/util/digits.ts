// Writing non-negative integers as ASCII digits straight into byte buffers, without creating
// strings (status codes, lengths, chunk sizes, session ids on the hot path).

const HEX_DIGITS = '0123456789abcdef'

/** Writes n (a non-negative integer) in decimal at pos; returns the end offset. */
export function writeDecimal(out: Uint8Array, pos: number, n: number): number {
  return writeDigits(out, pos, n, 10)
}

/** Writes n in lower-case hexadecimal at pos; returns the end offset. */
export function writeHex(out: Uint8Array, pos: number, n: number): number {
  return writeDigits(out, pos, n, 16)
}

function writeDigits(out: Uint8Array, pos: number, n: number, base: number): number {
  let digits = 1
  for (let t = n; t >= base; t = Math.floor(t / base)) digits++
  let p = pos + digits
  do {
    out[--p] = HEX_DIGITS.charCodeAt(n % base)
    n = Math.floor(n / base)
  } while (n > 0)
  return pos + digits
}
