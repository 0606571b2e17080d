// Fixed-size chunk pool for connection read/write buffers (chunk size = --buffer-size).
//
// A connection holds a chunk only while it has bytes in flight, so an idle keep-alive
// connection holds none, and memory follows the active set rather than maxconn.
//
// Invariants:
// - Memory comes in slabs: one ArrayBuffer of chunkSize * chunksPerSlab bytes each. Every chunk
//   view (a Uint8Array over its slice of the slab) is created once, when its slab is, and the
//   same object is handed out every time that chunk is acquired. So acquire() and release()
//   allocate nothing; only adding a slab does (rare, amortised over chunksPerSlab acquires).
// - Chunk id = slab * chunksPerSlab + byteOffset / chunkSize. A chunk is either on the free
//   stack or lent out, as `lent[id]` says; release() checks it, so a double release, or
//   releasing a view the pool did not hand out, throws instead of corrupting the free stack.
// - The free stack is LIFO: the chunk released last is acquired next, while still in cache.
// - Contents are not cleared on release or acquire: callers track their own lengths.
// - trim() frees wholly unused slabs other than slab 0; their ids are reused by later growth.

/** A release() of a chunk that is not lent out: a second release of the same chunk. */
export class DoubleReleaseError extends Error {
  readonly code = 'ZGATE_ERR_DOUBLE_RELEASE'
  override readonly name = 'DoubleReleaseError'
}

/** A release() of a Uint8Array this pool never handed out (or a subarray of one). */
export class ForeignBufferError extends Error {
  readonly code = 'ZGATE_ERR_FOREIGN_BUFFER'
  override readonly name = 'ForeignBufferError'
}

export class BufferPool {
  readonly chunkSize: number
  readonly chunksPerSlab: number
  /** Slab ArrayBuffers by slab index; null once trimmed (the index is then reused first). */
  private readonly slabs: (ArrayBuffer | null)[] = []
  /** Slab index of each live slab's ArrayBuffer, to map a released view back to its id. */
  private readonly slabOf = new Map<ArrayBufferLike, number>()
  /** Chunk views by chunk id; null for chunks of trimmed slabs. */
  private readonly views: (Uint8Array | null)[] = []
  /** 1 while the chunk is lent out, by chunk id. */
  private lent: Uint8Array
  /** Chunks lent out per slab, so that trim() can find wholly free slabs. */
  private lentPerSlab: Int32Array
  /** Free chunk ids; the top is at freeCount - 1. */
  private free: Int32Array
  private freeCount = 0
  private lentCount = 0
  private liveSlabs = 0

  /**
   * @param chunkSize bytes per chunk (e.g. --buffer-size)
   * @param chunksPerSlab chunks cut from each slab ArrayBuffer; the pool grows a slab at a time
   *   and starts with one slab
   */
  constructor(chunkSize: number, chunksPerSlab: number) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) {
      throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`)
    }
    if (!Number.isInteger(chunksPerSlab) || chunksPerSlab < 1) {
      throw new RangeError(`chunksPerSlab must be a positive integer, got ${chunksPerSlab}`)
    }
    this.chunkSize = chunkSize
    this.chunksPerSlab = chunksPerSlab
    this.lent = new Uint8Array(chunksPerSlab)
    this.lentPerSlab = new Int32Array(1)
    this.free = new Int32Array(chunksPerSlab)
    this.addSlab()
  }

  /** Chunks lent out now. */
  get inUse(): number {
    return this.lentCount
  }

  /** Chunks the live slabs hold, lent out or free. */
  get capacity(): number {
    return this.liveSlabs * this.chunksPerSlab
  }

  /** A chunk of exactly chunkSize bytes, with stale contents. Adds a slab when all are lent. */
  acquire(): Uint8Array {
    if (this.freeCount === 0) this.addSlab()
    const id = this.free[--this.freeCount]
    this.lent[id] = 1
    this.lentPerSlab[(id / this.chunksPerSlab) | 0]++
    this.lentCount++
    return this.views[id] as Uint8Array
  }

  /**
   * Gives a chunk back. Throws DoubleReleaseError if it is not lent out, ForeignBufferError if
   * it is not one of this pool's chunk views; the pool is unchanged in both cases.
   */
  release(buf: Uint8Array): void {
    const slab = this.slabOf.get(buf.buffer)
    const id =
      slab === undefined ? -1 : slab * this.chunksPerSlab + ((buf.byteOffset / this.chunkSize) | 0)
    if (id < 0 || this.views[id] !== buf) {
      throw new ForeignBufferError('release() of a buffer this pool did not hand out')
    }
    if (this.lent[id] === 0) throw new DoubleReleaseError('release() of a chunk already free')
    this.lent[id] = 0
    this.lentPerSlab[slab as number]--
    this.lentCount--
    this.free[this.freeCount++] = id
  }

  /**
   * Frees wholly unused slabs (never slab 0) while at least `spareChunks` free chunks remain,
   * so that a burst's memory goes back once traffic calms down. Call it from housekeeping,
   * not per request: it walks the free stack. Returns the number of slabs freed.
   */
  trim(spareChunks = 0): number {
    let dropped = 0
    for (let slab = this.slabs.length - 1; slab >= 1; slab--) {
      const buffer = this.slabs[slab]
      if (buffer === null || this.lentPerSlab[slab] !== 0) continue
      if (this.capacity - this.lentCount - this.chunksPerSlab < spareChunks) break
      this.slabs[slab] = null
      this.slabOf.delete(buffer)
      const first = slab * this.chunksPerSlab
      for (let id = first; id < first + this.chunksPerSlab; id++) this.views[id] = null
      this.liveSlabs--
      dropped++
    }
    if (dropped > 0) {
      // Keep only ids whose slab still exists, in their stack order.
      let kept = 0
      for (let i = 0; i < this.freeCount; i++) {
        const id = this.free[i]
        if (this.views[id] !== null) this.free[kept++] = id
      }
      this.freeCount = kept
    }
    return dropped
  }

  /** Cuts a new slab into chunk views and stacks their ids, lowest id on top. */
  private addSlab(): void {
    let slab = this.slabs.indexOf(null)
    if (slab < 0) {
      slab = this.slabs.length
      this.slabs.push(null)
      this.ensureIds((slab + 1) * this.chunksPerSlab, slab + 1)
    }
    const buffer = new ArrayBuffer(this.chunkSize * this.chunksPerSlab)
    this.slabs[slab] = buffer
    this.slabOf.set(buffer, slab)
    const first = slab * this.chunksPerSlab
    for (let k = 0; k < this.chunksPerSlab; k++) {
      this.views[first + k] = new Uint8Array(buffer, k * this.chunkSize, this.chunkSize)
    }
    for (let k = this.chunksPerSlab - 1; k >= 0; k--) this.free[this.freeCount++] = first + k
    this.lentPerSlab[slab] = 0
    this.liveSlabs++
  }

  /** Grows the per-id and per-slab arrays (doubling) to hold `ids` ids and `slabs` slabs. */
  private ensureIds(ids: number, slabs: number): void {
    while (this.views.length < ids) this.views.push(null)
    if (this.lent.length < ids) {
      const length = Math.max(ids, this.lent.length * 2)
      const lent = new Uint8Array(length)
      lent.set(this.lent)
      this.lent = lent
      const free = new Int32Array(length)
      free.set(this.free)
      this.free = free
    }
    if (this.lentPerSlab.length < slabs) {
      const perSlab = new Int32Array(Math.max(slabs, this.lentPerSlab.length * 2))
      perSlab.set(this.lentPerSlab)
      this.lentPerSlab = perSlab
    }
  }
}
