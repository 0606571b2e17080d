// Typed configuration for `zgate serve`, parsed from Condure 1.9.1's command-line flags
// (zhttp.md section 7). Both `--flag value` and `--flag=value` are accepted; repeatable
// options collect every value. Errors carry the exact sentence Condure logs and the exit code
// it uses: 1 for bad values, 2 for usage errors (unknown option, missing value).

import {
  DEFAULT_BODY_BUFFER_SIZE_BYTES,
  DEFAULT_BUFFER_SIZE_BYTES,
  DEFAULT_INSTANCE_ID,
  DEFAULT_LISTEN,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MESSAGES_MAX,
  DEFAULT_REQ_MAXCONN,
  DEFAULT_REQ_TIMEOUT_S,
  DEFAULT_SHUTDOWN_TIMEOUT_S,
  DEFAULT_STREAM_MAXCONN,
  DEFAULT_STREAM_TIMEOUT_S,
  DEFAULT_WORKERS,
  DEFAULT_WORKER_LOOPS,
  DEFAULT_ZCLIENT_SPEC,
  KEEP_ALIVE_INTERVAL_MS,
  SESSION_TIMEOUT_MS,
  STATS_SUMMARY_INTERVAL_MS,
  TOTAL_MAXCONN_MAX,
  WORKERS_MAX,
} from './limits.ts'
import { closestMatch } from './util/did-you-mean.ts'
import { LOG_LIMIT_INTERVAL_MS } from './log-limiter.ts'

/** `--tls-identities-dir` when not given: the working directory, as Condure. */
const DEFAULT_TLS_IDENTITIES_DIR = '.'
/** Smallest buffer that can hold a minimal request head and a packet's framing. */
const BUFFER_SIZE_MIN_BYTES = 256

export const MODE_STREAM = 0
export const MODE_REQ = 1

export interface ListenSpec {
  /** Text as given, for log lines. */
  spec: string
  /** TCP host (IPv4 or IPv6 without brackets); empty for unix sockets. */
  host: string
  port: number
  /** Unix socket path when `local` is given, else empty. */
  path: string
  mode: number
  tls: boolean
  defaultCert: string
  /** Unix socket permissions (octal text parsed), -1 when not given. */
  fileMode: number
  user: string
  group: string
}

/** `--stats ADDR:PORT` or `--stats PATH` (a unix socket when the value contains a '/'). */
export interface StatsEndpoint {
  host: string
  port: number
  /** Unix socket path, else empty. */
  path: string
}

export interface StreamEndpoints {
  out: string
  outStream: string
  in: string
}

export interface Config {
  logLevel: number
  id: string
  workers: number
  /**
   * Event loops zgate runs: --workers when given, else DEFAULT_WORKER_LOOPS (not Condure's 2:
   * on two cores one loop is faster, bench/README.md "Workers"). Limits are checked and
   * divided as Condure does for `workers`.
   */
  workerLoops: number
  reqMaxconn: number
  streamMaxconn: number
  bufferSize: number
  bodyBufferSize: number
  messagesMax: number
  reqTimeoutS: number
  streamTimeoutS: number
  listen: ListenSpec[]
  zclientReq: string[]
  zclientStream: StreamEndpoints[]
  zclientConnect: boolean
  ipcFileMode: number
  tlsIdentitiesDir: string
  compression: boolean
  sizes: boolean
  /** Grace for in-flight responses after a stop signal (zgate; 0 = Condure's immediate stop). */
  shutdownTimeoutS: number
  /** Prometheus endpoint (zgate), null when not asked for. */
  stats: StatsEndpoint | null
  /** Session timer (fixed at 60 s in Condure); ZGATE_SESSION_TIMEOUT_MS shortens it in tests. */
  sessionTimeoutMs: number
  /** Keep-alive period (45 s); ZGATE_KEEP_ALIVE_INTERVAL_MS shortens it in tests. */
  keepAliveIntervalMs: number
  /** Debug-level stats summary period (10 s); ZGATE_STATS_SUMMARY_MS shortens it in tests. */
  statsSummaryMs: number
  /** Interval of the handler-warning rate limit (10 s); ZGATE_LOG_LIMIT_MS shortens it in tests. */
  logLimitMs: number
}

/**
 * A configuration problem: `message` is the sentence to log, `exitCode` 1 (a bad value: one
 * `[ERR]` line) or 2 (a usage error, printed on stderr the way Condure's clap 3 parser does).
 */
export class ConfigError extends Error {
  readonly code = 'ZGATE_CONFIG'
  constructor(
    message: string,
    readonly exitCode: number,
    /** Usage errors: the known option a mistyped one most resembles (`--listen`), else ''. */
    readonly suggestion = '',
  ) {
    super(message)
  }
}

interface OptionDef {
  name: string
  flag: boolean
  repeat: boolean
}

const OPTIONS: OptionDef[] = [
  { name: 'log-level', flag: false, repeat: false },
  { name: 'id', flag: false, repeat: false },
  { name: 'workers', flag: false, repeat: false },
  { name: 'req-maxconn', flag: false, repeat: false },
  { name: 'stream-maxconn', flag: false, repeat: false },
  { name: 'buffer-size', flag: false, repeat: false },
  { name: 'body-buffer-size', flag: false, repeat: false },
  { name: 'messages-max', flag: false, repeat: false },
  { name: 'req-timeout', flag: false, repeat: false },
  { name: 'stream-timeout', flag: false, repeat: false },
  { name: 'listen', flag: false, repeat: true },
  { name: 'zclient-req', flag: false, repeat: true },
  { name: 'zclient-stream', flag: false, repeat: true },
  { name: 'zclient-connect', flag: true, repeat: false },
  { name: 'zserver-req', flag: false, repeat: true },
  { name: 'zserver-stream', flag: false, repeat: true },
  { name: 'zserver-connect', flag: true, repeat: false },
  { name: 'deny-out-internal', flag: true, repeat: false },
  { name: 'ipc-file-mode', flag: false, repeat: false },
  { name: 'tls-identities-dir', flag: false, repeat: false },
  { name: 'compression', flag: true, repeat: false },
  { name: 'sizes', flag: true, repeat: false },
  { name: 'shutdown-timeout', flag: false, repeat: false },
  { name: 'stats', flag: false, repeat: false },
]

/** `serve --help` lines: each default is the constant the parser uses (never restated). */
export const OPTION_HELP: Array<[string, string]> = [
  ['--log-level <N>', `Log level: 0 error, 1 warn, 2 info, 3 debug, 4 trace [default: ${DEFAULT_LOG_LEVEL}]`],
  ['--id <ID>', `Instance id, the ZHTTP \`from\` and SUB prefix [default: ${DEFAULT_INSTANCE_ID}]`],
  // Condure's default is 2; zgate runs one event loop unless told (Config.workerLoops).
  ['--workers <N>', `Number of workers (event loops) [default: ${DEFAULT_WORKER_LOOPS}]`],
  ['--req-maxconn <N>', `Maximum number of concurrent connections in req mode [default: ${DEFAULT_REQ_MAXCONN}]`],
  ['--stream-maxconn <N>', `Maximum concurrent connections in stream mode [default: ${DEFAULT_STREAM_MAXCONN}]`],
  ['--buffer-size <N>', `Connection buffer size (two per connection) [default: ${DEFAULT_BUFFER_SIZE_BYTES}]`],
  ['--body-buffer-size <N>', `Body buffer size for connections in req mode [default: ${DEFAULT_BODY_BUFFER_SIZE_BYTES}]`],
  ['--messages-max <N>', `Maximum number of queued WebSocket messages [default: ${DEFAULT_MESSAGES_MAX}]`],
  ['--req-timeout <N>', `Connection timeout in req mode (seconds) [default: ${DEFAULT_REQ_TIMEOUT_S}]`],
  ['--stream-timeout <N>', `Connection timeout in stream mode (seconds) [default: ${DEFAULT_STREAM_TIMEOUT_S}]`],
  ['--listen <[addr:]port[,params...]>', `Port to listen on, repeatable [default: ${DEFAULT_LISTEN}]`],
  ['--zclient-req <spec>', `ZeroMQ client REQ spec, repeatable [default: ${DEFAULT_ZCLIENT_SPEC}]`],
  ['--zclient-stream <spec-base>', `ZeroMQ client PUSH/ROUTER/SUB spec base [default: ${DEFAULT_ZCLIENT_SPEC}]`],
  ['--zclient-connect', 'ZeroMQ client sockets should connect instead of bind'],
  ['--ipc-file-mode <octal>', 'Permissions for ipc:// files zgate binds (octal, e.g. 660)'],
  ['--tls-identities-dir <dir>', `Directory containing certificates and private keys [default: ${DEFAULT_TLS_IDENTITIES_DIR}]`],
  ['--compression', 'Allow permessage-deflate compression on WebSocket connections'],
  ['--sizes', 'Print the sizes of internal structures and exit'],
  ['--shutdown-timeout <N>', `Seconds in-flight responses may finish after a stop signal (0: at once) [default: ${DEFAULT_SHUTDOWN_TIMEOUT_S}]`],
  ['--stats <addr:port|path>', 'Serve Prometheus metrics (GET /metrics) on a TCP address or unix socket path'],
]

/** Parses a u64-style decimal the way Rust's `str::parse` reports failures. */
function parseUnsigned(name: string, text: string, max: number): number {
  if (text.length === 0) {
    throw new ConfigError(`failed to parse ${name}: cannot parse integer from empty string`, 1)
  }
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    // '0'..'9'; a leading '+' is accepted by Rust's integer parser
    if (i === 0 && c === 0x2b && text.length > 1) continue
    if (c < 0x30 || c > 0x39) {
      throw new ConfigError(`failed to parse ${name}: invalid digit found in string`, 1)
    }
    n = n * 10 + (c - 0x30)
  }
  if (n > max) {
    const why = max === WORKERS_MAX ? 'value too large' : 'number too large to fit in target type'
    throw new ConfigError(`failed to parse ${name}: ${why}`, 1)
  }
  return n
}

const U32_MAX = 0xffffffff

/** `[addr:]port[,param...]` or `path,local[,param...]` (zhttp.md 7.2). */
export function parseListenSpec(spec: string): ListenSpec {
  const parts = spec.split(',')
  const first = parts[0]
  const out: ListenSpec = {
    spec,
    host: '0.0.0.0',
    port: 0,
    path: '',
    mode: MODE_STREAM,
    tls: false,
    defaultCert: '',
    fileMode: -1,
    user: '',
    group: '',
  }
  let local = false
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i]
    const eq = p.indexOf('=')
    const key = eq < 0 ? p : p.slice(0, eq)
    const value = eq < 0 ? '' : p.slice(eq + 1)
    if (key === 'stream' && eq < 0) out.mode = MODE_STREAM
    else if (key === 'req' && eq < 0) out.mode = MODE_REQ
    else if (key === 'tls' && eq < 0) out.tls = true
    else if (key === 'local' && eq < 0) local = true
    else if (key === 'default-cert' && eq >= 0) out.defaultCert = value
    else if (key === 'mode' && eq >= 0 && /^[0-7]{1,4}$/.test(value))
      out.fileMode = parseInt(value, 8)
    else if (key === 'user' && eq >= 0 && value.length > 0) out.user = value
    else if (key === 'group' && eq >= 0 && value.length > 0) out.group = value
    else throw new ConfigError(`failed to parse listen: invalid param: ${p}`, 1)
  }
  if (local) {
    if (first.length === 0) throw new ConfigError('failed to parse listen: empty path', 1)
    out.path = first
    out.host = ''
    return out
  }
  const colon = first.lastIndexOf(':')
  const portText = colon < 0 ? first : first.slice(colon + 1)
  let host = colon < 0 ? '0.0.0.0' : first.slice(0, colon)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  else if (colon >= 0 && host.includes(':')) {
    throw new ConfigError(`failed to parse listen: invalid address ${first}`, 1)
  }
  if (!/^[0-9]+$/.test(portText) || Number(portText) > 65535) {
    throw new ConfigError(`failed to parse listen: invalid port ${portText}`, 1)
  }
  if (host.length === 0) throw new ConfigError(`failed to parse listen: invalid address ${first}`, 1)
  out.host = host
  out.port = Number(portText)
  return out
}

/** `--stats` value: a path when it contains '/', else `[addr:]port` as for --listen. */
export function parseStatsEndpoint(text: string): StatsEndpoint {
  if (text.includes('/')) return { host: '', port: 0, path: text }
  if (text.includes(',')) throw new ConfigError(`failed to parse stats: invalid address ${text}`, 1)
  let l: ListenSpec
  try {
    l = parseListenSpec(text)
  } catch (err) {
    throw new ConfigError((err as Error).message.replace('parse listen', 'parse stats'), 1)
  }
  return { host: l.host, port: l.port, path: '' }
}

/** Expands a spec base into the three server-mode endpoints (zhttp.md 1.2). */
export function expandStreamBase(base: string): StreamEndpoints {
  if (base.startsWith('ipc:')) {
    return { out: `${base}-out`, outStream: `${base}-out-stream`, in: `${base}-in` }
  }
  if (base.startsWith('tcp:')) {
    const colon = base.lastIndexOf(':')
    const portText = base.slice(colon + 1)
    if (colon <= 'tcp:'.length || portText.length === 0 || base.slice(0, colon) === 'tcp:/') {
      throw new ConfigError('tcp base spec must specify port', 1)
    }
    if (!/^[0-9]+$/.test(portText) || Number(portText) > 65533) {
      throw new ConfigError(`error parsing tcp port in base spec: ${portText}`, 1)
    }
    const host = base.slice(0, colon)
    const port = Number(portText)
    return { out: `${host}:${port}`, outStream: `${host}:${port + 1}`, in: `${host}:${port + 2}` }
  }
  throw new ConfigError('base spec must be ipc or tcp', 1)
}

/** `--name <VALUE>` as help shows it (`--listen <[addr:]port[,params...]>`), for usage errors. */
function optionWithValue(name: string): string {
  const flag = `--${name}`
  const help = OPTION_HELP.find(([f]) => f === flag || f.startsWith(`${flag} `))
  return help !== undefined ? help[0] : `${flag} <${name.toUpperCase()}>`
}

/**
 * An unknown option, in Condure's (clap 3's) words, with the known option it most resembles
 * (`--listn` → `--listen`; `help` and `version` count as options here too).
 */
function unknownOption(arg: string): ConfigError {
  const message = `Found argument '${arg}' which wasn't expected, or isn't valid in this context`
  if (!arg.startsWith('--')) return new ConfigError(message, 2)
  const eq = arg.indexOf('=')
  const typed = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
  const names = [...OPTIONS.map((o) => o.name), 'help', 'version']
  const best = closestMatch(typed, names)
  return new ConfigError(message, 2, best === '' ? '' : `--${best}`)
}

/**
 * Splits argv into option values. Unknown options, missing or unexpected values and repeats
 * of a single-valued option are usage errors (exit 2), worded as Condure words them.
 */
function collect(argv: string[]): Map<string, string[]> {
  const values = new Map<string, string[]>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith('--')) throw unknownOption(arg)
    const eq = arg.indexOf('=')
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq)
    const def = OPTIONS.find((o) => o.name === name)
    if (def === undefined) throw unknownOption(arg)
    let value: string
    if (def.flag) {
      if (eq >= 0) {
        const given = arg.slice(eq + 1)
        throw new ConfigError(`The value '${given}' was provided to '--${name}' but it wasn't expecting any more values`, 2)
      }
      value = 'true'
    } else if (eq >= 0) {
      value = arg.slice(eq + 1)
    } else {
      // Like Condure's parser, a following token starting with '-' is not taken as a value.
      const next = argv[i + 1]
      if (next === undefined || (next.startsWith('-') && next.length > 1)) {
        throw new ConfigError(`The argument '${optionWithValue(name)}' requires a value but none was supplied`, 2)
      }
      value = next
      i++
    }
    const list = values.get(name)
    if (list === undefined) values.set(name, [value])
    else if (def.repeat) list.push(value)
    else {
      throw new ConfigError(`The argument '${optionWithValue(name)}' was provided more than once, but cannot be used multiple times`, 2)
    }
  }
  return values
}

/**
 * Condure's fixed timers, overridable through the environment so that end-to-end tests can
 * observe a 60 s timeout in a second. Not a documented flag: production uses the defaults.
 */
function envMs(name: string, dflt: number): number {
  const text = process.env[name]
  if (text === undefined || !/^[0-9]+$/.test(text) || Number(text) === 0) return dflt
  return Number(text)
}

export function parseServeArgs(argv: string[]): Config {
  const v = collect(argv)
  const one = (name: string): string | undefined => v.get(name)?.[0]
  const num = (name: string, dflt: number, max = U32_MAX): number => {
    const text = one(name)
    return text === undefined ? dflt : parseUnsigned(name.replaceAll('-', ' '), text, max)
  }
  if (v.has('zserver-req') || v.has('zserver-stream') || v.has('zserver-connect')) {
    throw new ConfigError('client mode (--zserver-req, --zserver-stream) is not supported', 1)
  }
  if (v.has('deny-out-internal')) {
    throw new ConfigError('--deny-out-internal applies to client mode, which is not supported', 1)
  }
  const id = one('id') ?? DEFAULT_INSTANCE_ID
  if (id.length === 0 || id.includes(' ')) {
    throw new ConfigError('failed to parse id: value cannot be empty or contain a space', 1)
  }
  const workers = num('workers', DEFAULT_WORKERS, WORKERS_MAX)
  if (workers === 0) throw new ConfigError('failed to parse workers: value must be at least 1', 1)
  const cfg: Config = {
    logLevel: num('log-level', DEFAULT_LOG_LEVEL),
    id,
    workers,
    workerLoops: v.has('workers') ? workers : DEFAULT_WORKER_LOOPS,
    reqMaxconn: num('req-maxconn', DEFAULT_REQ_MAXCONN),
    streamMaxconn: num('stream-maxconn', DEFAULT_STREAM_MAXCONN),
    bufferSize: num('buffer-size', DEFAULT_BUFFER_SIZE_BYTES),
    bodyBufferSize: num('body-buffer-size', DEFAULT_BODY_BUFFER_SIZE_BYTES),
    messagesMax: num('messages-max', DEFAULT_MESSAGES_MAX),
    reqTimeoutS: num('req-timeout', DEFAULT_REQ_TIMEOUT_S),
    streamTimeoutS: num('stream-timeout', DEFAULT_STREAM_TIMEOUT_S),
    listen: (v.get('listen') ?? [DEFAULT_LISTEN]).map(parseListenSpec),
    zclientReq: v.get('zclient-req') ?? [DEFAULT_ZCLIENT_SPEC],
    zclientStream: (v.get('zclient-stream') ?? [DEFAULT_ZCLIENT_SPEC]).map(expandStreamBase),
    zclientConnect: v.has('zclient-connect'),
    ipcFileMode: 0,
    tlsIdentitiesDir: one('tls-identities-dir') ?? DEFAULT_TLS_IDENTITIES_DIR,
    compression: v.has('compression'),
    sizes: v.has('sizes'),
    shutdownTimeoutS: num('shutdown-timeout', DEFAULT_SHUTDOWN_TIMEOUT_S),
    stats: null,
    sessionTimeoutMs: envMs('ZGATE_SESSION_TIMEOUT_MS', SESSION_TIMEOUT_MS),
    keepAliveIntervalMs: envMs('ZGATE_KEEP_ALIVE_INTERVAL_MS', KEEP_ALIVE_INTERVAL_MS),
    statsSummaryMs: envMs('ZGATE_STATS_SUMMARY_MS', STATS_SUMMARY_INTERVAL_MS),
    logLimitMs: envMs('ZGATE_LOG_LIMIT_MS', LOG_LIMIT_INTERVAL_MS),
  }
  const statsText = one('stats')
  if (statsText !== undefined) cfg.stats = parseStatsEndpoint(statsText)
  const modeText = one('ipc-file-mode')
  if (modeText !== undefined) {
    // Octal, as Condure 1.10.1 reads it (1.9.1 read decimal; zhttp.md 1.1).
    if (!/^[0-7]{1,4}$/.test(modeText)) {
      throw new ConfigError(`failed to parse ipc file mode: invalid octal value ${modeText}`, 1)
    }
    cfg.ipcFileMode = parseInt(modeText, 8)
  }
  if (cfg.reqMaxconn < workers) throw new ConfigError('req maxconn must be >= workers', 1)
  if (cfg.streamMaxconn < workers) throw new ConfigError('stream maxconn must be >= workers', 1)
  if (cfg.reqMaxconn + cfg.streamMaxconn > TOTAL_MAXCONN_MAX) {
    throw new ConfigError('total maxconn is too large', 1)
  }
  if (cfg.bufferSize < BUFFER_SIZE_MIN_BYTES) {
    throw new ConfigError(`buffer size must be at least ${BUFFER_SIZE_MIN_BYTES}`, 1)
  }
  return cfg
}
