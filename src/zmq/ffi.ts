// The only file that dlopens libzmq and the only caller of bun:ffi `cc`: the FFI boundary
// of the ZeroMQ layer. Where libzmq is looked for is locate.ts; the values shared with the
// shim are shim-abi.ts.
//
// Loading: the first candidate of locate.ts that dlopens wins. The shim (native/zgate-shim.c,
// a unity file including native/shim/*) receives libzmq's function pointers, so it never
// links libzmq itself. It is a shared library built ahead of time, found in this order:
//   1. a compiled zgate (dist/zgate): the copy it carries (embedded.ts), and nothing else;
//   2. native/build/, built by `bun run build:native` (run by `bun install`);
//   3. the per-user cache, where 4. left it on an earlier start;
//   4. built once into that cache with the system C compiler (shim-build.ts);
//   5. bun:ffi `cc` (TinyCC) in memory, on every start: Bun 1.4's cc() cannot write a file.
// File names carry a hash of the shim's sources, so a stale build is never picked up.
//
// Other code sees only `interface ZmqLib`. Its methods ARE the raw FFI functions (no
// wrapper; only the control-path calls that return a pointer or a string convert it).
// ZGATE_TRACE_FFI wraps them with a log line (src/util/ffi-trace.ts); off, it costs nothing.

import { cc, dlopen, FFIType, JSCallback, type Library, type Pointer } from 'bun:ffi'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { withFfiTrace } from '../util/ffi-trace.ts'
import { embeddedShim, materialize } from './embedded.ts'
import { ZmqLoadError } from './errors.ts'
import { libzmqCandidates } from './locate.ts'
import {
  compileShim,
  compilerError,
  findCompiler,
  PREBUILT_SHIM_DIR,
  SHIM_SOURCE_PATH,
  shimLibraryName,
  shimSourceHash,
  userCacheDir,
} from './shim-build.ts'
import { ZMQ_MSG_T_SIZE_BYTES } from './shim-abi.ts'

/**
 * Everything zgate needs from libzmq and the shim. Negative results are -errno.
 * Buffers are passed as typed arrays (Bun passes their data pointer).
 */
export interface ZmqLib {
  /** The file libzmq was loaded from. */
  readonly path: string
  /** libzmq version, e.g. "4.3.5". */
  readonly version: string

  ctxNew(): Pointer | null
  ctxSet(ctx: Pointer, opt: number, value: number): number
  /** 0 or -errno; retried on EINTR. All sockets must be closed first. */
  ctxTerm(ctx: Pointer): number
  strerror(errnum: number): string

  /** A new socket, or null with err[0] = errno. */
  socket(ctx: Pointer, type: number, err: Int32Array): Pointer | null
  /** Sets ZMQ_LINGER then closes. */
  close(sock: Pointer, lingerMs: number): number
  setsockopt(sock: Pointer, opt: number, value: Uint8Array, len: number): number
  setsockoptInt(sock: Pointer, opt: number, value: number): number
  getsockoptInt(sock: Pointer, opt: number, out: Int32Array): number
  /** Returns the option's length (may exceed cap, then the value was truncated). */
  getsockoptBytes(sock: Pointer, opt: number, out: Uint8Array, cap: number): number
  /** op = ENDPOINT_* (shim-abi.ts); addr is NUL-terminated UTF-8. */
  endpoint(sock: Pointer, op: number, addr: Uint8Array): number

  /** Unbatched zmq_send, for benchmarks only: errno is not captured. */
  sendRaw(sock: Pointer, buf: Uint8Array, len: number, flags: number): number
  /** Unbatched zmq_recv, for benchmarks only: errno is not captured. */
  recvRaw(sock: Pointer, buf: Uint8Array, len: number, flags: number): number

  /**
   * Send framed messages from buf[0, len); returns bytes consumed (a message boundary).
   * wantEvents = 1 also reads ZMQ_EVENTS into stats[STAT_EVENTS] (one more syscall).
   */
  sendBatch(sock: Pointer, buf: Uint8Array, len: number, wantEvents: number, stats: Int32Array): number
  /** Per-socket receive state holding a message that did not fit yet. */
  rxNew(): Pointer | null
  rxFree(rx: Pointer): void
  rxPending(rx: Pointer): number
  /** Receive whole messages into buf + index; returns the message count. */
  recvBatch(
    sock: Pointer,
    rx: Pointer,
    buf: Uint8Array,
    cap: number,
    index: Int32Array,
    maxMessages: number,
    maxFrames: number,
    stats: Int32Array,
  ): number

  /** A poller calling cb (a thread-safe JSCallback pointer), or null with err[0] = errno. */
  pollerNew(cb: Pointer, err: Int32Array): Pointer | null
  pollerAdd(p: Pointer, fd: number): number
  pollerRemove(p: Pointer, fd: number): number
  pollerStart(p: Pointer): number
  pollerRearm(p: Pointer): void
  pollerWakeups(p: Pointer): number
  /** Joins the thread and frees the poller; returns the thread's poll errno or 0. */
  pollerStop(p: Pointer): number
}

// libzmq symbols, each with its C prototype (zmq.h 4.3). The shim gets the pointers of
// those listed in SHIM_IMPORTS; the rest are called directly.
const ZMQ_SYMBOLS = {
  // void zmq_version(int *major, int *minor, int *patch)
  zmq_version: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.void },
  // int zmq_errno(void)
  zmq_errno: { args: [], returns: FFIType.i32 },
  // const char *zmq_strerror(int errnum)
  zmq_strerror: { args: [FFIType.i32], returns: FFIType.cstring },
  // void *zmq_ctx_new(void)
  zmq_ctx_new: { args: [], returns: FFIType.ptr },
  // int zmq_ctx_set(void *context, int option_name, int option_value)
  zmq_ctx_set: { args: [FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  // int zmq_ctx_term(void *context)
  zmq_ctx_term: { args: [FFIType.ptr], returns: FFIType.i32 },
  // void *zmq_socket(void *context, int type)
  zmq_socket: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.ptr },
  // int zmq_close(void *socket)
  zmq_close: { args: [FFIType.ptr], returns: FFIType.i32 },
  // int zmq_setsockopt(void *socket, int option_name, const void *option_value, size_t option_len)
  zmq_setsockopt: {
    args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u64],
    returns: FFIType.i32,
  },
  // int zmq_getsockopt(void *socket, int option_name, void *option_value, size_t *option_len)
  zmq_getsockopt: {
    args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.ptr],
    returns: FFIType.i32,
  },
  // int zmq_bind(void *socket, const char *endpoint)
  zmq_bind: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  // int zmq_connect(void *socket, const char *endpoint)
  zmq_connect: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  // int zmq_unbind(void *socket, const char *endpoint)
  zmq_unbind: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  // int zmq_disconnect(void *socket, const char *endpoint)
  zmq_disconnect: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  // int zmq_send(void *socket, const void *buf, size_t len, int flags)
  zmq_send: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  // int zmq_recv(void *socket, void *buf, size_t len, int flags)
  zmq_recv: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
  // int zmq_msg_init(zmq_msg_t *msg)
  zmq_msg_init: { args: [FFIType.ptr], returns: FFIType.i32 },
  // int zmq_msg_recv(zmq_msg_t *msg, void *socket, int flags)
  zmq_msg_recv: { args: [FFIType.ptr, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // void *zmq_msg_data(zmq_msg_t *msg)
  zmq_msg_data: { args: [FFIType.ptr], returns: FFIType.ptr },
  // size_t zmq_msg_size(const zmq_msg_t *msg)
  zmq_msg_size: { args: [FFIType.ptr], returns: FFIType.u64 },
  // int zmq_msg_more(const zmq_msg_t *msg)
  zmq_msg_more: { args: [FFIType.ptr], returns: FFIType.i32 },
  // int zmq_msg_close(zmq_msg_t *msg)
  zmq_msg_close: { args: [FFIType.ptr], returns: FFIType.i32 },
} as const

/** Function pointers handed to zg_init, in the order of `enum zg_fn` (native/shim/abi.h). */
const SHIM_IMPORTS = [
  'zmq_errno',
  'zmq_socket',
  'zmq_close',
  'zmq_ctx_term',
  'zmq_setsockopt',
  'zmq_getsockopt',
  'zmq_bind',
  'zmq_connect',
  'zmq_unbind',
  'zmq_disconnect',
  'zmq_send',
  'zmq_msg_init',
  'zmq_msg_recv',
  'zmq_msg_data',
  'zmq_msg_size',
  'zmq_msg_more',
  'zmq_msg_close',
] as const satisfies readonly (keyof typeof ZMQ_SYMBOLS)[]

// Shim symbols, each with its C prototype (native/shim/*.c, compiled as native/zgate-shim.c).
const SHIM_SYMBOLS = {
  // int zg_init(const uint64_t *fns, int count)
  zg_init: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // int zg_msg_size_bytes(void)
  zg_msg_size_bytes: { args: [], returns: FFIType.i32 },
  // void *zg_socket(void *ctx, int type, int32_t *err)
  zg_socket: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr], returns: FFIType.ptr },
  // int zg_close(void *sock, int linger_ms)
  zg_close: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // int zg_ctx_term(void *ctx)
  zg_ctx_term: { args: [FFIType.ptr], returns: FFIType.i32 },
  // int zg_setsockopt(void *sock, int opt, const void *val, int len)
  zg_setsockopt: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // int zg_setsockopt_int(void *sock, int opt, int value)
  zg_setsockopt_int: { args: [FFIType.ptr, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  // int zg_getsockopt_int(void *sock, int opt, int32_t *out)
  zg_getsockopt_int: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  // int zg_getsockopt_bytes(void *sock, int opt, uint8_t *out, int cap)
  zg_getsockopt_bytes: {
    args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.i32],
    returns: FFIType.i32,
  },
  // int zg_endpoint(void *sock, int op, const char *addr)
  zg_endpoint: { args: [FFIType.ptr, FFIType.i32, FFIType.ptr], returns: FFIType.i32 },
  // int zg_send_batch(void *sock, const uint8_t *buf, int len, int want_events, int32_t *stats)
  zg_send_batch: {
    args: [FFIType.ptr, FFIType.ptr, FFIType.i32, FFIType.i32, FFIType.ptr],
    returns: FFIType.i32,
  },
  // zg_rx_t *zg_rx_new(void)
  zg_rx_new: { args: [], returns: FFIType.ptr },
  // void zg_rx_free(zg_rx_t *rx)
  zg_rx_free: { args: [FFIType.ptr], returns: FFIType.void },
  // int zg_rx_pending(zg_rx_t *rx)
  zg_rx_pending: { args: [FFIType.ptr], returns: FFIType.i32 },
  // int zg_recv_batch(void *sock, zg_rx_t *rx, uint8_t *buf, int cap, int32_t *index,
  //                   int maxMessages, int maxFrames, int32_t *stats)
  zg_recv_batch: {
    args: [
      FFIType.ptr,
      FFIType.ptr,
      FFIType.ptr,
      FFIType.i32,
      FFIType.ptr,
      FFIType.i32,
      FFIType.i32,
      FFIType.ptr,
    ],
    returns: FFIType.i32,
  },
  // zg_poller_t *zg_poller_new(void *cb, int32_t *err)
  zg_poller_new: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.ptr },
  // int zg_poller_add(zg_poller_t *p, int fd)
  zg_poller_add: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // int zg_poller_remove(zg_poller_t *p, int fd)
  zg_poller_remove: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  // int zg_poller_start(zg_poller_t *p)
  zg_poller_start: { args: [FFIType.ptr], returns: FFIType.i32 },
  // void zg_poller_rearm(zg_poller_t *p)
  zg_poller_rearm: { args: [FFIType.ptr], returns: FFIType.void },
  // double zg_poller_wakeups(zg_poller_t *p)
  zg_poller_wakeups: { args: [FFIType.ptr], returns: FFIType.f64 },
  // int zg_poller_stop(zg_poller_t *p)
  zg_poller_stop: { args: [FFIType.ptr], returns: FFIType.i32 },
} as const

type ZmqRaw = Library<typeof ZMQ_SYMBOLS>
type ShimRaw = Library<typeof SHIM_SYMBOLS>

let libraryPathOverride: string | null = process.env.ZGATE_LIBZMQ || null
let instance: ZmqLib | null = null

/**
 * Load libzmq from `path` instead of searching (tests, packaging). Must be called before
 * the first loadZmq(); `null` restores the search. Also settable with env ZGATE_LIBZMQ.
 */
export function setZmqLibraryPath(path: string | null): void {
  if (instance !== null) throw new Error('setZmqLibraryPath() after libzmq was already loaded')
  libraryPathOverride = path
}

function openLibzmq(): { raw: ZmqRaw; path: string } {
  const tried: string[] = []
  for (const path of libzmqCandidates(libraryPathOverride)) {
    try {
      return { raw: dlopen(materialize(path), ZMQ_SYMBOLS), path }
    } catch (err) {
      tried.push(`${path} (${firstLine(err)})`)
    }
  }
  throw new ZmqLoadError(`Could not load libzmq; tried: ${tried.join('; ')}.`)
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  const nl = text.indexOf('\n')
  return nl < 0 ? text : text.slice(0, nl)
}

/** The per-user cache holds code zgate loads: only its owner may write there. */
const CACHE_DIR_MODE = 0o700

/** How to install what the shim build needs, for the one-line error. */
const SHIM_BUILD_HINT =
  'install a C compiler and the libc headers (Debian: apt-get install gcc libc6-dev), ' +
  'or run `bun run build:native` where they are'

function openShim(): ShimRaw {
  if (Bun.isStandaloneExecutable) {
    // A compiled zgate must never need a compiler: cc() cannot even read embedded files.
    let path: string | null = null
    try {
      path = embeddedShim()
      if (path !== null) return dlopen(path, SHIM_SYMBOLS)
    } catch (err) {
      const what = path === null ? `copy the zgate shim to ${userCacheDir()}` : `load the zgate shim ${path}`
      throw new ZmqLoadError(`Could not ${what}: ${firstLine(err)}.`)
    }
    throw new ZmqLoadError('This zgate binary carries no shim library; rebuild it with `bun run build`.')
  }
  let hash: string
  try {
    hash = shimSourceHash()
  } catch (err) {
    throw new ZmqLoadError(`Could not build the zgate shim: ${firstLine(err)}.`)
  }
  const name = shimLibraryName(hash)
  const cachePath = join(userCacheDir(), hash, name)
  const prebuilt = join(PREBUILT_SHIM_DIR, name)
  const failed: string[] = existsSync(prebuilt) ? [] : [`no ${prebuilt}`]
  for (const path of [prebuilt, cachePath]) {
    if (!existsSync(path)) continue
    try {
      return dlopen(path, SHIM_SYMBOLS)
    } catch (err) {
      failed.push(`${path} did not load (${firstLine(err)})`)
    }
  }
  const compiler = findCompiler()
  if (compiler === null) failed.push('no C compiler on PATH (cc, gcc, clang, tcc)')
  else {
    try {
      compileShim(compiler, cachePath, CACHE_DIR_MODE)
      return dlopen(cachePath, SHIM_SYMBOLS)
    } catch (err) {
      failed.push(firstLine(err))
    }
  }
  try {
    return cc({ source: SHIM_SOURCE_PATH, library: ['pthread'], symbols: SHIM_SYMBOLS })
  } catch (err) {
    failed.push(`bun:ffi cc: ${compilerError(err instanceof Error ? err.message : String(err))}`)
  }
  throw new ZmqLoadError(`Could not build the zgate shim: ${failed.join('; ')}; ${SHIM_BUILD_HINT}.`)
}

function initShim(raw: ZmqRaw, libPath: string): ShimRaw {
  const shim = openShim()
  const table = new BigUint64Array(SHIM_IMPORTS.length)
  const symbols: Record<string, unknown> = raw.symbols
  for (let i = 0; i < SHIM_IMPORTS.length; i++) {
    const fn = nativeAddress(symbols[SHIM_IMPORTS[i]!])
    if (fn === 0) throw new ZmqLoadError(`libzmq at ${libPath} has no symbol ${SHIM_IMPORTS[i]}.`)
    table[i] = BigInt(fn)
  }
  if (shim.symbols.zg_init(table, table.length) !== 0) {
    throw new ZmqLoadError('zgate-shim.c and ffi.ts disagree on the libzmq function table.')
  }
  if (shim.symbols.zg_msg_size_bytes() !== ZMQ_MSG_T_SIZE_BYTES) {
    throw new ZmqLoadError('zgate-shim.c does not see zmq_msg_t as 64 bytes.')
  }
  return shim
}

/** Bun attaches the native address as `.ptr` to every dlopen'd symbol (not in bun-types). */
function nativeAddress(fn: unknown): number {
  const addr = (fn as { ptr?: number | bigint | null } | undefined)?.ptr
  return addr == null ? 0 : Number(addr)
}

/** bun-types allows a `ptr` result to be a bigint; Bun returns numbers (52-bit addresses). */
function asPointer(p: Pointer | bigint | null): Pointer | null {
  return typeof p === 'bigint' ? (Number(p) as Pointer) : p
}

function build(): ZmqLib {
  const { raw, path } = openLibzmq()
  const z = raw.symbols
  const s = initShim(raw, path).symbols
  const major = new Int32Array(1)
  const minor = new Int32Array(1)
  const patch = new Int32Array(1)
  z.zmq_version(major, minor, patch)
  // Every int argument is coerced with `| 0`: Bun's FFI passes 0 for an i32 argument whose JS
  // number is held as a double (a Math.floor result, a Float64Array read, after JIT warm-up),
  // which once made zg_send_batch see a length of 0 and stall every send for good.
  const lib: ZmqLib = {
    path,
    version: `${major[0]}.${minor[0]}.${patch[0]}`,
    ctxNew: () => asPointer(z.zmq_ctx_new()),
    ctxSet: (ctx, opt, value) => z.zmq_ctx_set(ctx, opt | 0, value | 0),
    ctxTerm: s.zg_ctx_term,
    strerror: (errnum) => String(z.zmq_strerror(errnum | 0)),
    socket: (ctx, type, err) => asPointer(s.zg_socket(ctx, type | 0, err)),
    close: (sock, linger) => s.zg_close(sock, linger | 0),
    setsockopt: (sock, opt, val, len) => s.zg_setsockopt(sock, opt | 0, val, len | 0),
    setsockoptInt: (sock, opt, value) => s.zg_setsockopt_int(sock, opt | 0, value | 0),
    getsockoptInt: (sock, opt, out) => s.zg_getsockopt_int(sock, opt | 0, out),
    getsockoptBytes: (sock, opt, out, cap) => s.zg_getsockopt_bytes(sock, opt | 0, out, cap | 0),
    endpoint: (sock, op, addr) => s.zg_endpoint(sock, op | 0, addr),
    sendRaw: (sock, buf, len, flags) => z.zmq_send(sock, buf, len, flags | 0),
    recvRaw: (sock, buf, len, flags) => z.zmq_recv(sock, buf, len, flags | 0),
    sendBatch: (sock, buf, len, wantEvents, stats) =>
      s.zg_send_batch(sock, buf, len | 0, wantEvents | 0, stats),
    rxNew: () => asPointer(s.zg_rx_new()),
    rxFree: s.zg_rx_free,
    rxPending: s.zg_rx_pending,
    recvBatch: (sock, rx, buf, cap, index, maxMessages, maxFrames, stats) =>
      s.zg_recv_batch(sock, rx, buf, cap | 0, index, maxMessages | 0, maxFrames | 0, stats),
    pollerNew: (cb, err) => asPointer(s.zg_poller_new(cb, err)),
    pollerAdd: (p, fd) => s.zg_poller_add(p, fd | 0),
    pollerRemove: (p, fd) => s.zg_poller_remove(p, fd | 0),
    pollerStart: s.zg_poller_start,
    pollerRearm: s.zg_poller_rearm,
    pollerWakeups: s.zg_poller_wakeups,
    pollerStop: s.zg_poller_stop,
  }
  return withFfiTrace(lib, `libzmq ${lib.version} from ${lib.path}`)
}

/** The process-wide libzmq binding, loaded on first use. Throws ZmqLoadError. */
export function loadZmq(): ZmqLib {
  if (instance === null) instance = build()
  return instance
}

/**
 * A thread-safe JSCallback taking no arguments, for the poller thread. Lives here so this
 * file stays the only one touching bun:ffi; the caller must keep it and close() it.
 */
export function threadsafeCallback(fn: () => void): JSCallback {
  return new JSCallback(fn, { args: [], returns: FFIType.void, threadsafe: true })
}
