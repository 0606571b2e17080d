// Request headers as the gateway forwarded them (zhttp.md 4.3: original case, order and
// repeats): case-insensitive lookup, every repeat kept in order.

/** Read-only request headers. Names compare case-insensitively (RFC 9110 5.1). */
export class RequestHeaders implements Iterable<[string, string]> {
  /** Name, value, name, value, ... in arrival order. */
  private readonly flat: string[]
  private lower: string[] | null = null

  constructor(flat: string[]) {
    this.flat = flat
  }

  /** Number of header lines. */
  get size(): number {
    return this.flat.length >> 1
  }

  private lowerNames(): string[] {
    if (this.lower === null) {
      const l: string[] = new Array(this.flat.length >> 1)
      for (let i = 0; i < l.length; i++) l[i] = this.flat[2 * i].toLowerCase()
      this.lower = l
    }
    return this.lower
  }

  /** The first value of `name`, or null. */
  get(name: string): string | null {
    const n = name.toLowerCase()
    const l = this.lowerNames()
    for (let i = 0; i < l.length; i++) if (l[i] === n) return this.flat[2 * i + 1]
    return null
  }

  /** Every value of `name`, in order (repeated headers such as Cookie or X-Forwarded-For). */
  getAll(name: string): string[] {
    const n = name.toLowerCase()
    const l = this.lowerNames()
    const out: string[] = []
    for (let i = 0; i < l.length; i++) if (l[i] === n) out.push(this.flat[2 * i + 1])
    return out
  }

  has(name: string): boolean {
    return this.get(name) !== null
  }

  /** [name, value] pairs with the names as the client sent them. */
  *[Symbol.iterator](): Iterator<[string, string]> {
    for (let i = 0; i < this.flat.length; i += 2) yield [this.flat[i], this.flat[i + 1]]
  }

  /** The pairs as an array (for logging or for passing on). */
  toArray(): [string, string][] {
    return [...this]
  }
}
