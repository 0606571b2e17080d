// permessage-deflate message compression and decompression for one WebSocket connection
// (RFC 7692 sections 7 and 8, zhttp.md 5.7).
//
// Mechanism: libz through bun:ffi (src/ws/zlib-ffi.ts, the only file touching libz). Why:
// - The connection state machine is synchronous, and so must this be. Bun 1.4's public
//   node:zlib API is either asynchronous streams or one-shot `*Sync` calls; a one-shot call
//   starts a fresh LZ77 window each time (a preset dictionary is not context takeover: it
//   changes the bit stream and costs a dictionary copy per message). A synchronous stateful
//   path exists only through undocumented internals (`_processChunk`, `_handle.writeSync`).
// - libz writes into the caller's memory and stops exactly at `avail_out`, which gives the
//   zero-copy output and the decompression-bomb bound below for free.
// - Measured (bench/ws-deflate.bench.ts, figures in bench/README.md): a 64 B message
//   compressed + decompressed in 2.4-3.6 us, 16 KiB in ~0.5-0.8 ms, nothing allocated. Bun's
//   internal handle is ~1.5-3x faster because Bun bundles a faster zlib than Debian's 1.2.13
//   (a bun:ffi call itself costs ~60 ns); it was not chosen because it is undocumented, has
//   no inflateGetDictionary for the BFINAL case below, and reports errors through a callback.
//   ZGATE_LIBZ can load any library with zlib's ABI (e.g. zlib-ng built in compat mode).
//
// Invariants:
// - Costs nothing until used: a WsDeflate is a small JS object; each direction's z_stream
//   (deflate ~260 KiB, inflate ~40 KiB of malloc'd zlib state at window 15) is created by the
//   first compress() / decompress() call and freed by close(). A connection that never
//   negotiated the extension holds no WsDeflate at all.
// - No allocation per call: input and output are (buf, start, end) ranges owned by the
//   caller; results are a returned status code plus the `inputUsed` / `outputWritten` fields.
// - Raw DEFLATE, window 15 in both directions (zhttp.md 5.7: condure offers no smaller
//   window, and a 15-bit inflater reads any smaller window the client used).
// - Output of compress() for a message never includes the final `00 00 ff ff` of the sync
//   flush (RFC 7692 7.2.1): the last four bytes of a finishing call are held back inside the
//   object while the caller's output is full, so they never reach a frame.
// - decompress() appends `00 00 ff ff` after the last piece of a message (RFC 7692 7.2.2)
//   and never writes more than `inflatedMessageSizeMax + 1` bytes for one message, nor past
//   the caller's output range.
// - After DEFLATE_TOO_LARGE or DEFLATE_DATA_ERROR the inflater is unusable (its LZ77 window
//   no longer matches the client's): the caller fails the connection (RFC 7692 8, RFC 6455
//   7.1.7) and every later decompress() returns the same code.
//
// Caller loops. Compress one handler packet (`more` = the message continues):
//   let s = DEFLATE_OUTPUT_FULL, at = start
//   while (s === DEFLATE_OUTPUT_FULL) {
//     s = d.compress(body, at, end, more ? DEFLATE_FLUSH_SYNC : DEFLATE_FLUSH_END, out, o, oEnd)
//     at += d.inputUsed  // frame out[o, o + d.outputWritten) (RSV1 on the first frame only)
//   }
// Decompress one frame payload piece (`last` = FIN frame and its last byte):
//   s = d.decompress(payload, at, end, last, out, o, oEnd); at += d.inputUsed
//   DEFLATE_OUTPUT_FULL: forward out[o, o + d.outputWritten), call again with the rest (which
//   may be empty) once there is room; DEFLATE_DONE: all input taken (and, if `last`, the
//   message is complete); an error: close the connection.

import { EXT_CLIENT_NO_CONTEXT_TAKEOVER, EXT_SERVER_NO_CONTEXT_TAKEOVER } from './extensions.ts'
import {
  availIn,
  availOut,
  loadZlib,
  setInput,
  setOutput,
  Z_BUF_ERROR,
  Z_NO_FLUSH,
  Z_OK,
  Z_STREAM_END,
  Z_SYNC_FLUSH,
  ZStream,
  ZSTREAM_DEFLATE,
  ZSTREAM_INFLATE,
  ZSTREAM_NONE,
  type ZlibLib,
} from './zlib-ffi.ts'

/** LZ77 window, log2 bytes, both directions (RFC 7692 7.1.2; zhttp.md 5.7). */
export const DEFLATE_WINDOW_BITS = 15
/** zlib memLevel for the compressor: 8 is zlib's default (hash table 2^(8+7) entries). */
export const DEFLATE_MEM_LEVEL = 8
/** zlib level -1 = its default (6), the usual speed/size trade-off for WebSocket servers. */
export const DEFLATE_LEVEL = -1
/**
 * Smallest output range compress() accepts: a held-back trailer (4 bytes) plus more than the
 * 6 bytes zlib asks for to finish a sync flush without repeating the marker (zlib.h, deflate).
 */
export const DEFLATE_OUTPUT_MIN_BYTES = 16

// --- flush modes of compress() ---
/** More of the message follows; zlib may keep some output back for better compression. */
export const DEFLATE_FLUSH_NONE = 0
/** More of the message follows, but everything fed so far is emitted (a streamed piece). */
export const DEFLATE_FLUSH_SYNC = 1
/** This is the message's last piece: flush, drop the `00 00 ff ff` trailer (RFC 7692 7.2.1). */
export const DEFLATE_FLUSH_END = 2

// --- status codes of compress() / decompress() ---
/** All input was taken and everything it produced was written (for an end: message done). */
export const DEFLATE_DONE = 0
/** The output range is full: drain it, then call again with the rest of the input. */
export const DEFLATE_OUTPUT_FULL = 1
/** decompress(): the message inflates beyond inflatedMessageSizeMax (a bomb). Fatal. */
export const DEFLATE_TOO_LARGE = 2
/** decompress(): the client sent invalid DEFLATE data. Fatal. */
export const DEFLATE_DATA_ERROR = 3

/** The tail that RFC 7692 7.2.2 tells the receiver to append to every message. */
const TRAILER = new Uint8Array(new ArrayBuffer(4))
TRAILER.set([0x00, 0x00, 0xff, 0xff])
const TRAILER_BYTES = 4

/** zlib failed in a way that means a bug or exhausted memory, not bad client input. */
export class DeflateError extends Error {
  readonly code = 'WS_DEFLATE'
  override readonly name = 'DeflateError'
}

let zlib: ZlibLib | null = null
/**
 * Scratch for restartKeepingWindow(), shared by every connection (the worker is one thread and
 * the copy is used within the call); allocated on first need.
 */
let windowScratch: Uint8Array | null = null
const windowLength = new Uint32Array(1)

/**
 * Safety net for a WsDeflate dropped without close(): its zlib state is malloc'd and would
 * leak. close() unregisters, so the normal path never runs this.
 */
const leakGuard = new FinalizationRegistry<ZStream>((z) => endStream(z))

function endStream(z: ZStream): void {
  if (zlib === null) return
  if (z.kind === ZSTREAM_DEFLATE) zlib.deflateEnd(z)
  else if (z.kind === ZSTREAM_INFLATE) zlib.inflateEnd(z)
  z.kind = ZSTREAM_NONE
}

/** Per-connection permessage-deflate state. All fields are set in the constructor. */
export class WsDeflate {
  /** Agreed server_no_context_takeover: our compressor restarts with every message. */
  readonly serverNoContextTakeover: boolean
  /** Agreed client_no_context_takeover: the client restarts; so do we (RFC 7692 7.1.1.2). */
  readonly clientNoContextTakeover: boolean
  /** Largest decompressed message, in bytes; beyond it decompress() fails. */
  inflatedMessageSizeMax: number
  /** Input bytes the last call consumed. */
  inputUsed = 0
  /** Output bytes the last call wrote at the start of the output range. */
  outputWritten = 0

  private deflater: ZStream | null = null
  private inflater: ZStream | null = null
  /** Up to 4 bytes of compressed output held back while the caller's output was full. */
  private carry = 0
  private carryLength = 0
  /** Bytes inflated so far for the current incoming message. */
  private inflatedBytes = 0
  /** How much of TRAILER the inflater has consumed for the current message. */
  private trailerUsed = 0
  /** The current incoming message has had at least one compressed byte. */
  private messageHasInput = false
  /** The client ended its DEFLATE stream (a BFINAL block) inside the current message. */
  private streamEnded = false
  /** DEFLATE_TOO_LARGE / DEFLATE_DATA_ERROR once the inflater failed, else 0. */
  private inflateFailure = 0

  /**
   * @param flags EXT_* flags from negotiateExtensions() (src/ws/extensions.ts).
   * @param inflatedMessageSizeMax the decompression bound per incoming message, in bytes.
   */
  constructor(flags: number, inflatedMessageSizeMax: number) {
    this.serverNoContextTakeover = (flags & EXT_SERVER_NO_CONTEXT_TAKEOVER) !== 0
    this.clientNoContextTakeover = (flags & EXT_CLIENT_NO_CONTEXT_TAKEOVER) !== 0
    this.inflatedMessageSizeMax = inflatedMessageSizeMax
  }

  /** zlib streams currently allocated (0, 1 or 2): memory accounting and tests. */
  get streamsOpen(): number {
    return (this.deflater === null ? 0 : 1) + (this.inflater === null ? 0 : 1)
  }

  /**
   * Compresses input[start, end) as (part of) one message into out[outStart, outEnd).
   * Returns DEFLATE_DONE or DEFLATE_OUTPUT_FULL; sets inputUsed and outputWritten. After
   * DEFLATE_OUTPUT_FULL call again with the same flush and input[start + inputUsed, end).
   * Throws ZlibLoadError if libz is missing, RangeError if the output range is below
   * DEFLATE_OUTPUT_MIN_BYTES.
   */
  compress(
    input: Uint8Array,
    start: number,
    end: number,
    flush: number,
    out: Uint8Array,
    outStart: number,
    outEnd: number,
  ): number {
    if (outEnd - outStart < DEFLATE_OUTPUT_MIN_BYTES) {
      throw new RangeError(`compress() needs at least ${DEFLATE_OUTPUT_MIN_BYTES} output bytes`)
    }
    const z = this.deflater ?? this.openDeflater()
    const lib = zlib as ZlibLib
    let o = outStart
    if (this.carryLength !== 0) {
      const c = this.carry
      out[o] = c >>> 24
      out[o + 1] = (c >>> 16) & 0xff
      out[o + 2] = (c >>> 8) & 0xff
      out[o + 3] = c & 0xff
      o += TRAILER_BYTES
      this.carryLength = 0
    }
    setInput(z, input, start, end)
    setOutput(z, out, o, outEnd)
    const rc = lib.deflate(z, flush === DEFLATE_FLUSH_NONE ? Z_NO_FLUSH : Z_SYNC_FLUSH)
    // Z_BUF_ERROR only says no progress was possible (nothing to do): not a failure.
    if (rc !== Z_OK && rc !== Z_BUF_ERROR) throw new DeflateError(`zlib deflate() failed: ${rc}`)
    const room = availOut(z)
    let written = outEnd - outStart - room
    this.inputUsed = end - start - availIn(z)
    if (room === 0) {
      // zlib may have more to write. If this ends the message, the bytes just written could be
      // the trailer's start, so the last four wait for the next call.
      if (flush === DEFLATE_FLUSH_END) {
        const e = outStart + written
        this.carry = ((out[e - 4] << 24) | (out[e - 3] << 16) | (out[e - 2] << 8) | out[e - 1]) >>> 0
        this.carryLength = TRAILER_BYTES
        written -= TRAILER_BYTES
      }
      this.outputWritten = written
      return DEFLATE_OUTPUT_FULL
    }
    if (flush === DEFLATE_FLUSH_END) {
      written = this.finishMessage(out, outStart, written)
      if (this.serverNoContextTakeover) lib.deflateReset(z)
    }
    this.outputWritten = written
    return DEFLATE_DONE
  }

  /**
   * The sync flush of a message's end is complete: drops its trailer, or, when zlib had
   * nothing to flush (no input since the last completed flush: an empty message, or an empty
   * last piece after a DEFLATE_FLUSH_SYNC one), writes the lone `00` of RFC 7692 7.2.3.6,
   * which the receiver's appended `00 00 ff ff` completes into an empty stored block. The
   * stream is byte-aligned after every sync flush, so that block starts on a byte.
   */
  private finishMessage(out: Uint8Array, outStart: number, written: number): number {
    const e = outStart + written
    if (
      written >= TRAILER_BYTES &&
      out[e - 4] === 0x00 &&
      out[e - 3] === 0x00 &&
      out[e - 2] === 0xff &&
      out[e - 1] === 0xff
    ) {
      return written - TRAILER_BYTES
    }
    if (written !== 0) throw new DeflateError('zlib sync flush did not end with 00 00 ff ff')
    out[outStart] = 0x00
    return 1
  }

  /**
   * Decompresses input[start, end), the next bytes of one incoming message, into
   * out[outStart, outEnd). `fin`: these are the message's last bytes. Returns DEFLATE_DONE,
   * DEFLATE_OUTPUT_FULL (call again with input[start + inputUsed, end), possibly empty, and the
   * same `fin`), DEFLATE_TOO_LARGE or DEFLATE_DATA_ERROR. Sets inputUsed and outputWritten.
   * Throws ZlibLoadError if libz is missing.
   */
  decompress(
    input: Uint8Array,
    start: number,
    end: number,
    fin: boolean,
    out: Uint8Array,
    outStart: number,
    outEnd: number,
  ): number {
    if (this.inflateFailure !== 0) {
      this.inputUsed = 0
      this.outputWritten = 0
      return this.inflateFailure
    }
    const z = this.inflater ?? this.openInflater()
    // One byte beyond the bound is allowed into the output, so that crossing it is seen.
    const allowed = this.inflatedMessageSizeMax - this.inflatedBytes + 1
    const outLimit = outEnd - outStart < allowed ? outEnd : outStart + allowed
    let o = outStart
    const given = end - start
    let used = given
    if (!this.streamEnded) {
      const rc = this.inflateRange(z, input, start, end, out, o, outLimit)
      used = this.streamEnded ? given : given - availIn(z)
      o = outLimit - availOut(z)
      if (rc !== Z_OK) return this.failInflate(rc, used, o - outStart)
      if (given > 0) this.messageHasInput = true
      // A message without a single byte (RSV1 on an empty payload) is taken as empty: the
      // trailer alone would open a stored block that the next message's bytes would corrupt.
      if (fin && used === given && o < outLimit && !this.streamEnded && this.messageHasInput) {
        const trc = this.inflateRange(z, TRAILER, this.trailerUsed, TRAILER_BYTES, out, o, outLimit)
        this.trailerUsed = this.streamEnded ? TRAILER_BYTES : TRAILER_BYTES - availIn(z)
        o = outLimit - availOut(z)
        if (trc !== Z_OK) return this.failInflate(trc, used, o - outStart)
      }
    }
    const produced = o - outStart
    this.inputUsed = used
    this.outputWritten = produced
    this.inflatedBytes += produced
    if (this.inflatedBytes > this.inflatedMessageSizeMax) return this.failInflate(DEFLATE_TOO_LARGE, used, produced)
    // A full output may hide pending output; the caller calls again to find out.
    if (used < given || o === outLimit) return DEFLATE_OUTPUT_FULL
    if (!fin) return DEFLATE_DONE
    if (!this.streamEnded && this.messageHasInput && this.trailerUsed < TRAILER_BYTES) return DEFLATE_OUTPUT_FULL
    // Message complete.
    this.inflatedBytes = 0
    this.trailerUsed = 0
    this.messageHasInput = false
    if (this.clientNoContextTakeover) {
      // The client starts every message with an empty window (RFC 7692 7.2.2); resetting
      // keeps no stale history.
      ;(zlib as ZlibLib).inflateReset(z)
      this.streamEnded = false
    } else if (this.streamEnded) {
      this.restartKeepingWindow(z)
    }
    return DEFLATE_DONE
  }

  /**
   * Frees both zlib streams. The object stays usable: a later call reallocates (which loses
   * context, so the session calls this only when the connection ends).
   */
  close(): void {
    if (this.deflater !== null) {
      leakGuard.unregister(this.deflater)
      endStream(this.deflater)
      this.deflater = null
    }
    if (this.inflater !== null) {
      leakGuard.unregister(this.inflater)
      endStream(this.inflater)
      this.inflater = null
    }
    this.carryLength = 0
    this.inflatedBytes = 0
    this.trailerUsed = 0
    this.messageHasInput = false
    this.streamEnded = false
    this.inflateFailure = 0
  }

  /**
   * The client ended its DEFLATE stream with a BFINAL block (RFC 7692 7.2.3.4) but keeps
   * context takeover: its next message may still refer to this one. zlib cannot continue an
   * ended stream, so the window is carried into a fresh one as a preset dictionary.
   */
  private restartKeepingWindow(z: ZStream): void {
    const lib = zlib as ZlibLib
    const dict = windowScratch ?? (windowScratch = new Uint8Array(new ArrayBuffer(1 << DEFLATE_WINDOW_BITS)))
    if (lib.inflateGetDictionary(z, dict, windowLength) !== Z_OK) throw new DeflateError('zlib inflateGetDictionary() failed')
    lib.inflateReset(z)
    const length = windowLength[0]
    if (length > 0 && lib.inflateSetDictionary(z, dict, length) !== Z_OK) {
      throw new DeflateError('zlib inflateSetDictionary() failed')
    }
    this.streamEnded = false
  }

  /** Runs inflate over one input range; Z_OK for progress or none, else the zlib code. */
  private inflateRange(
    z: ZStream,
    input: Uint8Array,
    start: number,
    end: number,
    out: Uint8Array,
    outStart: number,
    outEnd: number,
  ): number {
    setInput(z, input, start, end)
    setOutput(z, out, outStart, outEnd)
    const rc = (zlib as ZlibLib).inflate(z, Z_SYNC_FLUSH)
    if (rc === Z_STREAM_END) {
      this.streamEnded = true
      return Z_OK
    }
    return rc === Z_BUF_ERROR ? Z_OK : rc
  }

  /** Records a fatal inflate failure (a zlib code or DEFLATE_TOO_LARGE). */
  private failInflate(rc: number, used: number, produced: number): number {
    this.inflateFailure = rc === DEFLATE_TOO_LARGE ? DEFLATE_TOO_LARGE : DEFLATE_DATA_ERROR
    this.inputUsed = used
    this.outputWritten = produced
    return this.inflateFailure
  }

  private openDeflater(): ZStream {
    const lib = zlib ?? (zlib = loadZlib())
    const z = new ZStream()
    const rc = lib.deflateInitRaw(z, DEFLATE_LEVEL, DEFLATE_WINDOW_BITS, DEFLATE_MEM_LEVEL)
    if (rc !== Z_OK) throw new DeflateError(`zlib deflateInit2() failed: ${rc}`)
    z.kind = ZSTREAM_DEFLATE
    leakGuard.register(this, z, z)
    this.deflater = z
    return z
  }

  private openInflater(): ZStream {
    const lib = zlib ?? (zlib = loadZlib())
    const z = new ZStream()
    const rc = lib.inflateInitRaw(z, DEFLATE_WINDOW_BITS)
    if (rc !== Z_OK) throw new DeflateError(`zlib inflateInit2() failed: ${rc}`)
    z.kind = ZSTREAM_INFLATE
    leakGuard.register(this, z, z)
    this.inflater = z
    return z
  }
}
