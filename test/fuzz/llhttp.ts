// An independent HTTP/1 request parser for differential fuzzing: llhttp (Node's own parser),
// as the wasm build that the `undici` package ships, driven here through its exported C API
// (llhttp_alloc / llhttp_execute and the eight wasm_on_* callbacks it imports).
//
// One wasm instance serves every parse; the callbacks find the running parse through
// `current`, which is set only inside execute() (as undici's client does). No lenient flag is
// ever set: llhttp runs in its strict mode.

import { createRequire } from 'node:module'
import type { Framing, Message } from './framing.ts'

const require = createRequire(import.meta.url)
const WASM: Uint8Array = require('undici/lib/llhttp/llhttp-wasm.js')
const LL: { ERROR: Record<string, number>; TYPE: Record<string, number> } = require('undici/lib/llhttp/constants.js')

/** The largest input one execute() copies into wasm memory. */
const INPUT_SIZE_MAX_BYTES = 1 << 16
/** on_headers_complete return value telling llhttp the body is skipped (unused) or an upgrade. */
const HEADERS_COMPLETE_UPGRADE = 2

type Fn = (...args: number[]) => number
interface Exports {
  memory: WebAssembly.Memory
  malloc: Fn
  free: Fn
  llhttp_alloc: Fn
  llhttp_free: Fn
  llhttp_execute: Fn
  llhttp_get_method: Fn
  llhttp_method_name: Fn
  llhttp_get_http_major: Fn
  llhttp_get_http_minor: Fn
  llhttp_should_keep_alive: Fn
  llhttp_get_error_reason: Fn
  llhttp_get_error_pos: Fn
}

interface Parse {
  messages: Message[]
  msg: Message | null
  url: number[]
  body: number[]
  /** Between on_message_begin and on_message_complete. */
  begun: boolean
}

let current: Parse | null = null
let exports: Exports | null = null
let inputPtr = 0

function bytesAt(at: number, len: number): Uint8Array {
  return new Uint8Array((exports as Exports).memory.buffer, at, len)
}

function pushBytes(into: number[], at: number, len: number): void {
  const b = bytesAt(at, len)
  for (let i = 0; i < b.length; i++) into.push(b[i])
}

function cString(ptr: number): string {
  if (ptr === 0) return ''
  const mem = new Uint8Array((exports as Exports).memory.buffer)
  let s = ''
  for (let i = ptr; mem[i] !== 0; i++) s += String.fromCharCode(mem[i])
  return s
}

function instance(): Exports {
  if (exports !== null) return exports
  const mod = new WebAssembly.Module(WASM)
  const p = (): Parse => current as Parse
  const inst = new WebAssembly.Instance(mod, {
    env: {
      wasm_on_message_begin: () => {
        p().begun = true
        p().url = []
        p().body = []
        return 0
      },
      wasm_on_url: (_ptr: number, at: number, len: number) => {
        pushBytes(p().url, at, len)
        return 0
      },
      wasm_on_status: () => 0,
      wasm_on_header_field: () => 0,
      wasm_on_header_value: () => 0,
      wasm_on_headers_complete: (ptr: number, _status: number, upgrade: number, keepAlive: number) => {
        const e = exports as Exports
        const name = cString(e.llhttp_method_name(e.llhttp_get_method(ptr)))
        p().msg = {
          method: name,
          target: String.fromCharCode(...p().url),
          versionMinor: e.llhttp_get_http_major(ptr) === 1 ? e.llhttp_get_http_minor(ptr) : -1,
          body: '',
          keepAlive: keepAlive === 1,
          upgrade: upgrade === 1,
        }
        return upgrade === 1 ? HEADERS_COMPLETE_UPGRADE : 0
      },
      wasm_on_body: (_ptr: number, at: number, len: number) => {
        pushBytes(p().body, at, len)
        return 0
      },
      wasm_on_message_complete: (ptr: number) => {
        const m = p().msg as Message
        m.body = String.fromCharCode(...p().body)
        // keep-alive is final only once the message is complete (llhttp_should_keep_alive)
        m.keepAlive = (exports as Exports).llhttp_should_keep_alive(ptr) === 1
        p().messages.push(m)
        p().msg = null
        p().begun = false
        return 0
      },
    },
  })
  exports = inst.exports as unknown as Exports
  if (typeof (exports as { _initialize?: () => void })._initialize === 'function') {
    ;(exports as unknown as { _initialize: () => void })._initialize()
  }
  inputPtr = exports.malloc(INPUT_SIZE_MAX_BYTES)
  return exports
}

/**
 * Parses `input` as a stream of requests fed in the given pieces (cut offsets). Returns the
 * complete messages in order and how the stream ended: `error` (with llhttp's reason),
 * `upgrade` (llhttp handed the connection over after the last message), `partial` (the input
 * ended inside a message) or `clean` (at a message boundary).
 */
export function llhttpParse(input: Uint8Array, cuts: number[] = []): Framing {
  if (input.length > INPUT_SIZE_MAX_BYTES) throw new Error('input too large for the llhttp driver')
  const e = instance()
  const ptr = e.llhttp_alloc(LL.TYPE.REQUEST)
  const parse: Parse = { messages: [], msg: null, url: [], body: [], begun: false }
  let end: Framing['end'] = 'clean'
  let reason = ''
  try {
    const bounds = [...cuts, input.length]
    let from = 0
    for (const to of bounds) {
      if (to <= from) continue
      new Uint8Array(e.memory.buffer, inputPtr, to - from).set(input.subarray(from, to))
      current = parse
      let ret: number
      try {
        ret = e.llhttp_execute(ptr, inputPtr, to - from)
      } finally {
        current = null
      }
      if (ret === LL.ERROR.PAUSED_UPGRADE) {
        end = 'upgrade'
        break
      }
      if (ret !== LL.ERROR.OK) {
        end = 'error'
        reason = cString(e.llhttp_get_error_reason(ptr))
        break
      }
      from = to
    }
  } finally {
    e.llhttp_free(ptr)
  }
  if (end === 'clean' && parse.begun) end = 'partial'
  return { messages: parse.messages, end, reason }
}
