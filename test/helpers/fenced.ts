// Fenced input for parser tests: prove that a parser given [start, end) reads only those
// bytes. Two forms, for the two ways a parser can be caught reading out of range:
// - fenced(): a view whose indexed reads outside [lo, hi) throw (the read is named);
// - padded(): the bytes inside a larger buffer, between runs of a sentinel byte chosen to
//   look like input the parser would act on (e.g. a terminator), so a read past either end
//   changes the result.

/** A view of `b` that throws on any index read outside [lo, hi). */
export function fenced(b: Uint8Array, lo: number, hi: number): Uint8Array {
  return new Proxy(b, {
    get(target, prop) {
      if (typeof prop === 'string' && /^-?\d+$/.test(prop)) {
        const i = Number(prop)
        if (i < lo || i >= hi) throw new Error(`read out of range: ${i} not in [${lo}, ${hi})`)
        return target[i]
      }
      const v = Reflect.get(target, prop, target) as unknown
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  })
}

/** `bytes` at [start, end) of a new buffer with `pad` bytes of `sentinel` on each side. */
export function padded(bytes: Uint8Array, sentinel: number, pad: number): { buf: Uint8Array; start: number; end: number } {
  const buf = new Uint8Array(pad + bytes.length + pad).fill(sentinel)
  buf.set(bytes, pad)
  return { buf, start: pad, end: pad + bytes.length }
}
