// The only file that dlopens libz (style rule 7). Used by src/ws/deflate.ts for
// permessage-deflate (RFC 7692); nothing else in zgate needs zlib.
//
// Why libz over bun:ffi rather than node:zlib (measured in bench/ws-deflate.bench.ts, see
// src/ws/deflate.ts): Bun 1.4's node:zlib streams are asynchronous; their synchronous path
// (`_processChunk`, or the native `_handle.writeSync`) is an undocumented internal, and the
// public one-shot `deflateRawSync` cannot keep the LZ77 window between messages (context
// takeover, RFC 7692 7.2.1). libz's own API is synchronous, stateful, writes into the
// caller's memory with an exact output bound (`avail_out`) and has been ABI-stable since 1.2.
//
// Invariants:
// - A z_stream lives in its own ArrayBuffer (never a small Uint8Array, whose storage JSC may
//   move when `.buffer` is first read): zlib keeps a pointer back to it and checks it on every
//   call (deflateStateCheck), so it must not move while the stream is open.
// - The layout is the LP64 one (Linux, macOS on 64-bit): pointers and `uLong` are 8 bytes. A
//   library reporting another `sizeof(z_stream)` is refused at init (Z_VERSION_ERROR).
// - zalloc/zfree/opaque stay 0, so zlib allocates its state with malloc, outside the JS heap;
//   every init must be paired with an end (deflate.ts does it in close()).
// - Every int argument is coerced with `| 0` (see src/zmq/ffi.ts: Bun passes 0 for an i32
//   held as a double).
// - ZGATE_TRACE_FFI (not "0") at load time wraps each call with a log line that also shows
//   avail_in/avail_out before and after (src/util/ffi-trace.ts); off costs nothing.

import { CString, dlopen, FFIType, ptr, type Library, type Pointer } from 'bun:ffi'
import { withFfiTrace } from '../util/ffi-trace.ts'

/** sizeof(z_stream) on LP64 (zlib.h): 14 fields, 112 bytes. */
export const Z_STREAM_SIZE_BYTES = 112
// Field offsets in bytes (LP64): next_in 0, avail_in 8, total_in 16, next_out 24,
// avail_out 32, total_out 40, msg 48, state 56, zalloc 64, zfree 72, opaque 80, data_type 88,
// adler 96, reserved 104. As Uint32Array indexes:
const NEXT_IN_U32 = 0
const AVAIL_IN_U32 = 2
const NEXT_OUT_U32 = 6
const AVAIL_OUT_U32 = 8

// zlib.h constants used by deflate.ts.
export const Z_NO_FLUSH = 0
export const Z_SYNC_FLUSH = 2
export const Z_OK = 0
export const Z_STREAM_END = 1
export const Z_NEED_DICT = 2
export const Z_STREAM_ERROR = -2
export const Z_DATA_ERROR = -3
export const Z_MEM_ERROR = -4
export const Z_BUF_ERROR = -5
export const Z_VERSION_ERROR = -6
export const Z_DEFLATED = 8
export const Z_DEFAULT_STRATEGY = 0

/** 2^32, to split a pointer (a JS number below 2^53) into two u32 halves. */
const U32_RANGE = 0x1_0000_0000

/** Raised when compression is requested and no libz can be loaded or initialised. */
export class ZlibLoadError extends Error {
  readonly code = 'ZLIB_LOAD'
  override readonly name = 'ZlibLoadError'
}

// libz symbols, each with its C prototype (zlib.h 1.2).
const ZLIB_SYMBOLS = {
  // const char *zlibVersion(void)
  zlibVersion: { args: [], returns: FFIType.ptr },
  // int deflateInit2_(z_streamp strm, int level, int method, int windowBits, int memLevel,
  //                   int strategy, const char *version, int stream_size)
  deflateInit2_: {
    args: [
      FFIType.ptr,
      FFIType.i32,
      FFIType.i32,
      FFIType.i32,
      FFIType.i32,
      FFIType.i32,
      FFIType.ptr,
      FFIType.i32,
    ],
    returns: FFIType.i32,
  },
  // int deflate(z_streamp strm, int flush)
  deflate: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // int deflateReset(z_streamp strm)
  deflateReset: { args: [FFIType.ptr], returns: FFIType.i32 },
  // int deflateEnd(z_streamp strm)
  deflateEnd: { args: [FFIType.ptr], returns: FFIType.i32 },
  // int inflateInit2_(z_streamp strm, int windowBits, const char *version, int stream_size)
  inflateInit2_: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // int inflate(z_streamp strm, int flush)
  inflate: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // int inflateReset(z_streamp strm)
  inflateReset: { args: [FFIType.ptr], returns: FFIType.i32 },
  // int inflateEnd(z_streamp strm)
  inflateEnd: { args: [FFIType.ptr], returns: FFIType.i32 },
  // int inflateGetDictionary(z_streamp strm, Bytef *dictionary, uInt *dictLength)
  inflateGetDictionary: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  // int inflateSetDictionary(z_streamp strm, const Bytef *dictionary, uInt dictLength)
  inflateSetDictionary: { args: [FFIType.ptr, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
} as const

type ZlibRaw = Library<typeof ZLIB_SYMBOLS>

/**
 * One z_stream: its memory, a u32 view for the fields deflate.ts touches, and its address.
 * `kind` says which init it went through (0 = none / ended).
 */
export class ZStream {
  readonly memory = new ArrayBuffer(Z_STREAM_SIZE_BYTES)
  readonly u32 = new Uint32Array(this.memory)
  readonly address: Pointer = ptr(this.memory)
  kind = 0
}
export const ZSTREAM_NONE = 0
export const ZSTREAM_DEFLATE = 1
export const ZSTREAM_INFLATE = 2

/** What deflate.ts needs from libz. Results are zlib return codes. */
export interface ZlibLib {
  /** The file libz was loaded from, and zlibVersion(). */
  readonly path: string
  readonly version: string
  /** Raw DEFLATE (negative windowBits: no zlib header or checksum, RFC 7692 7.1). */
  deflateInitRaw(z: ZStream, level: number, windowBits: number, memLevel: number): number
  deflate(z: ZStream, flush: number): number
  deflateReset(z: ZStream): number
  deflateEnd(z: ZStream): number
  inflateInitRaw(z: ZStream, windowBits: number): number
  inflate(z: ZStream, flush: number): number
  inflateReset(z: ZStream): number
  inflateEnd(z: ZStream): number
  /** Copies the inflater's window (up to 2^windowBits bytes) into dict; length in length[0]. */
  inflateGetDictionary(z: ZStream, dict: Uint8Array, length: Uint32Array): number
  /** Preloads a raw inflater's window (right after init or reset). */
  inflateSetDictionary(z: ZStream, dict: Uint8Array, length: number): number
}

/** Points next_in at buf[start, end). */
export function setInput(z: ZStream, buf: Uint8Array, start: number, end: number): void {
  setRange(z.u32, NEXT_IN_U32, AVAIL_IN_U32, buf, start, end)
}

/** Points next_out at buf[start, end). */
export function setOutput(z: ZStream, buf: Uint8Array, start: number, end: number): void {
  setRange(z.u32, NEXT_OUT_U32, AVAIL_OUT_U32, buf, start, end)
}

/** Writes a pointer + length pair; an empty range points at EMPTY (zlib never reads it). */
function setRange(u: Uint32Array, at: number, availAt: number, buf: Uint8Array, start: number, end: number): void {
  const address = start < end ? ptr(buf, start) : EMPTY_ADDRESS
  u[at] = address % U32_RANGE
  u[at + 1] = Math.floor(address / U32_RANGE)
  u[availAt] = end - start
}

/** Input bytes zlib has not consumed yet. */
export function availIn(z: ZStream): number {
  return z.u32[AVAIL_IN_U32]
}

/** Output room zlib has not filled yet. */
export function availOut(z: ZStream): number {
  return z.u32[AVAIL_OUT_U32]
}

/** Stand-in target for empty ranges (ptr() refuses an offset at the end of a view). */
const EMPTY = new Uint8Array(new ArrayBuffer(8))
const EMPTY_ADDRESS: number = ptr(EMPTY)

let libraryPathOverride: string | null = process.env.ZGATE_LIBZ || null
let instance: ZlibLib | null = null

/**
 * Load libz from `path` instead of the default names (tests, packaging). Must be called
 * before the first loadZlib(); `null` restores the default. Also settable with env ZGATE_LIBZ.
 */
export function setZlibLibraryPath(path: string | null): void {
  if (instance !== null) throw new Error('setZlibLibraryPath() after libz was already loaded')
  libraryPathOverride = path
}

/** The libz candidates, in the order they are tried. */
export function libzCandidates(): string[] {
  if (libraryPathOverride !== null) return [libraryPathOverride]
  if (process.platform === 'darwin') return ['libz.1.dylib', 'libz.dylib']
  return ['libz.so.1', 'libz.so']
}

function openLibz(): { raw: ZlibRaw; path: string } {
  const tried: string[] = []
  for (const path of libzCandidates()) {
    try {
      return { raw: dlopen(path, ZLIB_SYMBOLS), path }
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err)
      tried.push(`${path} (${text.split('\n', 1)[0]})`)
    }
  }
  throw new ZlibLoadError(
    `WebSocket compression needs zlib, and no libz could be loaded; tried: ${tried.join('; ')}. ` +
      'Install it (Debian: apt-get install zlib1g) or set ZGATE_LIBZ to its path.',
  )
}

function build(): ZlibLib {
  if (process.arch !== 'x64' && process.arch !== 'arm64') {
    throw new ZlibLoadError(`zgate's z_stream layout is LP64 only; this is ${process.arch}.`)
  }
  const { raw, path } = openLibz()
  const z = raw.symbols
  const versionPtr = z.zlibVersion() as Pointer
  // A short static string such as "1.2.13".
  const version = new CString(versionPtr).toString()
  if (!version.startsWith('1.')) {
    throw new ZlibLoadError(`libz at ${path} reports version ${version}; zgate needs zlib 1.x.`)
  }
  const lib: ZlibLib = {
    path,
    version,
    deflateInitRaw: (s, level, windowBits, memLevel) =>
      z.deflateInit2_(
        s.address,
        level | 0,
        Z_DEFLATED,
        -(windowBits | 0),
        memLevel | 0,
        Z_DEFAULT_STRATEGY,
        versionPtr,
        Z_STREAM_SIZE_BYTES,
      ),
    deflate: (s, flush) => z.deflate(s.address, flush | 0),
    deflateReset: (s) => z.deflateReset(s.address),
    deflateEnd: (s) => z.deflateEnd(s.address),
    inflateInitRaw: (s, windowBits) =>
      z.inflateInit2_(s.address, -(windowBits | 0), versionPtr, Z_STREAM_SIZE_BYTES),
    inflate: (s, flush) => z.inflate(s.address, flush | 0),
    inflateReset: (s) => z.inflateReset(s.address),
    inflateEnd: (s) => z.inflateEnd(s.address),
    inflateGetDictionary: (s, dict, length) => z.inflateGetDictionary(s.address, dict, length),
    inflateSetDictionary: (s, dict, length) => z.inflateSetDictionary(s.address, dict, length >>> 0),
  }
  return withFfiTrace(lib, `libz ${lib.version} from ${lib.path}`, {
    showArg: (v) => (v instanceof ZStream ? String(v.address) : null),
    around: (args) => {
      const s = args[0] as ZStream
      const inBefore = availIn(s)
      const outBefore = availOut(s)
      return () => `in ${inBefore}->${availIn(s)} out ${outBefore}->${availOut(s)}`
    },
  })
}

/** The process-wide libz binding, loaded on first use. Throws ZlibLoadError. */
export function loadZlib(): ZlibLib {
  if (instance === null) instance = build()
  return instance
}

