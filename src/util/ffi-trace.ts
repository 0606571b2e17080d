// ZGATE_TRACE_FFI: one log line per native call, for the FFI boundary files (src/zmq/ffi.ts,
// src/ws/zlib-ffi.ts). Set the variable (not "0") before the binding loads.
//
// Invariants
// - Zero cost when off: withFfiTrace() returns the binding object itself, so callers keep
//   calling the raw FFI functions; wrappers (and their closures) exist only when tracing.
// - Decided once, when a binding is built: setting the variable later changes nothing.
// - Writes to stderr synchronously, so a line is out before a call that crashes the process.

/** Per-binding hooks: how to print what the generic format cannot. */
export interface FfiTraceOptions {
  /** Text for an argument the default cannot show (a handle object), or null for the default. */
  readonly showArg?: (value: unknown) => string | null
  /** Called before each call; the returned function, called after it, adds state it changed. */
  readonly around?: (args: readonly unknown[]) => () => string
}

/** True when ZGATE_TRACE_FFI is set to anything but "0". */
export function ffiTraceEnabled(): boolean {
  const v = process.env.ZGATE_TRACE_FFI
  return v !== undefined && v !== '' && v !== '0'
}

/**
 * `lib` itself when tracing is off; else a copy whose every function logs
 *   [zgate ffi] name(args) -> result [extra] 1.2us
 * after a first line `[zgate ffi] <banner>`.
 */
export function withFfiTrace<T extends object>(lib: T, banner: string, options: FfiTraceOptions = {}): T {
  if (!ffiTraceEnabled()) return lib
  const showArg = options.showArg
  const around = options.around
  const show = (v: unknown): string => (showArg !== undefined ? showArg(v) : null) ?? showValue(v)
  const out = { ...lib } as Record<string, unknown>
  for (const [name, value] of Object.entries(lib)) {
    if (typeof value !== 'function') continue
    const fn = value as (...args: unknown[]) => unknown
    out[name] = (...args: unknown[]): unknown => {
      const after = around !== undefined ? around(args) : null
      const t0 = performance.now()
      const result = fn(...args)
      const us = ((performance.now() - t0) * 1000).toFixed(1)
      const extra = after !== null ? ` ${after()}` : ''
      process.stderr.write(`[zgate ffi] ${name}(${args.map(show).join(', ')}) -> ${show(result)}${extra} ${us}us\n`)
      return result
    }
  }
  process.stderr.write(`[zgate ffi] ${banner}\n`)
  return out as T
}

/** Typed arrays as their type and size (never their bytes), strings quoted. */
function showValue(v: unknown): string {
  if (ArrayBuffer.isView(v)) return `<${v.constructor.name} ${v.byteLength}B>`
  if (typeof v === 'string') return JSON.stringify(v)
  return String(v)
}
