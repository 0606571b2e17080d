// Integers as ASCII digits straight into byte buffers, without creating strings (status codes,
// lengths, chunk sizes, tnetstring length prefixes, session ids on the hot path), and how many
// digits they take, for sizing a reserve before the value is known exactly.

const CH_0 = 0x30
const HEX_DIGITS = '0123456789abcdef'

/**
 * Decimal digits of a non-negative integer up to 2^53 (powers of 10 up to 1e16 are exact).
 * The short cases first: lengths and seqs are almost always under 10^4.
 */
export function decimalDigits(v: number): number {
  if (v < 10) return 1
  if (v < 100) return 2
  if (v < 1000) return 3
  if (v < 10000) return 4
  let d = 5
  for (let p = 100000; v >= p; p *= 10) d++
  return d
}

/** Writes n (a non-negative integer up to 2^53) in decimal at pos; returns the end offset. */
export function writeDecimal(out: Uint8Array, pos: number, n: number): number {
  const d = decimalDigits(n)
  writeDecimalDigits(out, pos, d, n)
  return pos + d
}

/** Writes the `d` = decimalDigits(v) digits of non-negative integer `v` at pos. */
export function writeDecimalDigits(out: Uint8Array, pos: number, d: number, v: number): void {
  let i = pos + d - 1
  // Int32 arithmetic is several times faster in JSC than Math.floor on doubles, but wraps past
  // 2^31: peel digits in double arithmetic until what is left fits.
  while (v > 0x7fffffff) {
    const q = Math.floor(v / 10)
    out[i--] = CH_0 + (v - q * 10)
    v = q
  }
  let n = v | 0
  for (; i >= pos; i--) {
    const q = (n / 10) | 0
    out[i] = CH_0 + (n - q * 10)
    n = q
  }
}

/** Writes n (a non-negative integer) in lower-case hexadecimal at pos; returns the end offset. */
export function writeHex(out: Uint8Array, pos: number, n: number): number {
  let digits = 1
  for (let t = n; t >= 16; t = Math.floor(t / 16)) digits++
  let p = pos + digits
  do {
    out[--p] = HEX_DIGITS.charCodeAt(n % 16)
    n = Math.floor(n / 16)
  } while (n > 0)
  return pos + digits
}
