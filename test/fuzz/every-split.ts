// Feeding one input to zgate at every split point: whole, in two reads cut at each offset, and
// one byte per read. Whatever view of the input the caller builds must come out the same every
// time (the fast paths keep state across reads; a split must never change what they decide).

/**
 * Runs `view` over `input` delivered whole, in two pieces at every cut k (variant k, so a
 * caller can vary other inputs such as credits with it) and one byte at a time (variant -1).
 * Views are compared through `key` (JSON by default). Returns the whole-input view; throws
 * with the first split whose view differs.
 */
export function viewAtEverySplit<V>(
  input: Uint8Array,
  view: (cuts: number[], variant: number) => V,
  key: (v: V) => string = (v) => JSON.stringify(v),
): V {
  const whole = view([], 0)
  const want = key(whole)
  for (let k = 0; k <= input.length; k++) {
    const got = key(view([k], k))
    if (got !== want) throw new Error(`a split at ${k} changes zgate's view: ${got} vs ${want}`)
  }
  const cuts: number[] = []
  for (let k = 1; k < input.length; k++) cuts.push(k)
  const bytewise = key(view(cuts, -1))
  if (bytewise !== want) throw new Error(`one byte per read changes zgate's view: ${bytewise} vs ${want}`)
  return whole
}
