// TLS identities of `tls` listeners (zhttp.md 7.3, checklist 138-140). For each handshake the
// certificate is chosen from the client's SNI name, in Condure's order:
//   1. `<name>.crt` + `<name>.key` in --tls-identities-dir, the name lower-cased;
//   2. the single-level wildcard: the first label replaced by `_` (`www.example.com` looks for
//      `_.example.com`; `a.b.example.com` does not match it);
//   3. the listener's `default-cert=NAME`;
//   4. none: the handshake fails with a fatal alert.
// A name over 253 bytes, or with a control character, `/` or a non-ASCII character (SNI
// carries A-labels, RFC 6066 3), skips to step 3. Files are loaded on first use and reloaded
// when their mtime changes (checked at most once a second per name), so certificates can be
// rotated without a restart; the exception is the default-cert served to clients without
// SNI, fixed when the listener starts (Bun gives no hook for those handshakes). A reload that fails keeps the identity loaded before it (a half-copied pair
// must not take a site down), is logged once, and is retried at each check.
//
// Start-up (`preload`) is stricter than Condure, which starts with anything: the directory
// must be readable, every default-cert must load, and every `.crt`/`.key` pair in the
// directory must load, or zgate exits 1 naming the file; a bad certificate is found before
// the first client, not by it.
//
// Bun boundary (the only file that touches it): a native context is node:tls's
// `createSecureContext(...).context`; a TCP listener takes one as `tls.secureContext` (its
// identity for clients without SNI) and asks the socket handler's `serverName(data, name)`
// for one per SNI handshake, as Bun's own node:tls server does (Bun 1.4). Returning undefined
// keeps the listener's context; one without a certificate fails the handshake with an
// `internal_error` alert (Condure sends `unrecognized_name`).

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { SecureContextOptions } from 'node:tls'
import type { TLSOptions } from 'bun'
import { log, logEnabled, DEBUG, INFO, WARN } from '../log.ts'

/**
 * node:tls's createSecureContext, loaded at the first context: importing node:tls costs ~25 ms
 * of CPU, which every start would pay, with TLS listeners or not.
 */
function createSecureContext(options: SecureContextOptions): { context: unknown } {
  return (require('node:tls') as typeof import('node:tls')).createSecureContext(options)
}

/** A cached identity's files are stat'ed again after this long (mtime reload, zhttp.md 7.3). */
const IDENTITY_RECHECK_MS = 1000
/** Longest SNI name looked up (a DNS name, RFC 1035 2.3.4); longer skips to the default. */
const SNI_NAME_MAX_BYTES = 253
/**
 * Names without files remembered beside the loaded ones: SNI names are chosen by clients, so
 * these are dropped whenever this many have gathered (the loaded ones are bounded by the files).
 */
const NAME_CACHE_MAX = 4096

const CRT_SUFFIX = '.crt'
const KEY_SUFFIX = '.key'
/** An mtime never looked at (mtimeOf gives -1 for a missing file). */
const MTIME_UNSEEN = -2

/** Bun's native SecureContext; opaque here. */
export type NativeContext = object

/** A TLS setting that stops start-up (exit 1), with the sentence to log. */
export class TlsSetupError extends Error {
  readonly code = 'ZGATE_TLS_SETUP'
}

/** One `<stem>.crt`/`<stem>.key` pair and what was last loaded from it. */
class Identity {
  ctx: NativeContext | null = null
  /** mtimes (ms) of the pair `ctx` came from, or of the missing state (-1 for a missing file). */
  crtMtime = MTIME_UNSEEN
  keyMtime = MTIME_UNSEEN
  /** mtimes of the pair that last failed to load, so that the failure is logged once. */
  failedCrtMtime = MTIME_UNSEEN
  failedKeyMtime = MTIME_UNSEEN
  checkedAt = -Infinity
}

/** mtime of a regular file in ms; -1 when there is none (a 253-byte name plus `.crt` is
 * longer than a file name may be: ENAMETOOLONG is "none" too). */
function mtimeOf(path: string): number {
  try {
    const st = statSync(path, { throwIfNoEntry: false })
    return st === undefined || !st.isFile() ? -1 : st.mtimeMs
  } catch {
    return -1
  }
}

/** `sni` lower-cased, or '' when Condure would not look it up (zhttp.md 7.3). */
export function normalizeSniName(sni: string): string {
  if (sni.length === 0 || sni.length > SNI_NAME_MAX_BYTES) return ''
  for (let i = 0; i < sni.length; i++) {
    const c = sni.charCodeAt(i)
    // C0 controls, DEL, '/', and anything beyond ASCII (SNI carries A-labels, RFC 6066 3)
    if (c < 0x20 || c === 0x7f || c === 0x2f || c > 0x7e) return ''
  }
  return sni.toLowerCase()
}

/** The wildcard stem for a normalized name: `_` + everything from the first dot, or ''. */
export function wildcardStem(name: string): string {
  const dot = name.indexOf('.')
  return dot > 0 ? `_${name.slice(dot)}` : ''
}

export class TlsIdentities {
  private readonly cache = new Map<string, Identity>()
  /** Cache size at which names without files are dropped (see NAME_CACHE_MAX). */
  private cacheLimit = NAME_CACHE_MAX
  /** A context with no certificate: handshakes it serves fail (no SNI match, no default). */
  private emptyContext: NativeContext | null = null

  constructor(
    readonly dir: string,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * Start-up checks and loading (see the header): returns how many identities loaded; throws
   * TlsSetupError for an unreadable directory, a default-cert that does not load, or a pair
   * that does not load. A `.crt` without its `.key` (a CA file, say) is only a warning.
   */
  preload(defaultCerts: readonly string[]): number {
    let names: string[]
    try {
      names = readdirSync(this.dir)
    } catch (err) {
      throw new TlsSetupError(`failed to read tls identities dir ${this.dir}: ${(err as Error).message}`)
    }
    const present = new Set(names)
    let loaded = 0
    for (const f of names.sort()) {
      if (!f.endsWith(CRT_SUFFIX)) continue
      const stem = f.slice(0, -CRT_SUFFIX.length)
      if (!present.has(stem + KEY_SUFFIX)) {
        log(WARN, 'zgate::tls', `${join(this.dir, f)} has no ${stem}${KEY_SUFFIX}: not served`)
        continue
      }
      this.loadStrict(stem)
      loaded++
    }
    for (const stem of defaultCerts) {
      if (!present.has(stem + CRT_SUFFIX) || !present.has(stem + KEY_SUFFIX)) {
        throw new TlsSetupError(
          `failed to load tls identity ${stem}: ${join(this.dir, stem + CRT_SUFFIX)} and ${stem}${KEY_SUFFIX} are needed (default-cert)`,
        )
      }
    }
    return loaded
  }

  /**
   * The listener context for a `default-cert` (its identity, served to clients without SNI),
   * or for none (a context without a certificate).
   */
  listenerContext(defaultCert: string): NativeContext {
    if (defaultCert !== '') {
      const ctx = this.lookup(defaultCert)
      if (ctx !== null) return ctx
      throw new TlsSetupError(`failed to load tls identity ${defaultCert} from ${this.dir}`)
    }
    if (this.emptyContext === null) this.emptyContext = createSecureContext({}).context as NativeContext
    return this.emptyContext
  }

  /** The identity for an SNI name, in Condure's order (header); null when there is none. */
  select(sni: string, defaultCert: string): NativeContext | null {
    const name = normalizeSniName(sni)
    if (name !== '') {
      const exact = this.lookup(name)
      if (exact !== null) return exact
      const wild = wildcardStem(name)
      if (wild !== '') {
        const w = this.lookup(wild)
        if (w !== null) return w
      }
    }
    return defaultCert === '' ? null : this.lookup(defaultCert)
  }

  /** The context of `<stem>.crt`/`<stem>.key`, (re)loaded when their mtimes change; null if none. */
  lookup(stem: string): NativeContext | null {
    let id = this.cache.get(stem)
    const now = this.clock()
    if (id !== undefined && now - id.checkedAt < IDENTITY_RECHECK_MS) return id.ctx
    if (id === undefined) {
      if (this.cache.size >= this.cacheLimit) {
        this.forgetMissing()
        // With thousands of loaded identities the next sweep still waits for as many misses.
        this.cacheLimit = this.cache.size + NAME_CACHE_MAX
      }
      id = new Identity()
      this.cache.set(stem, id)
    }
    id.checkedAt = now
    const failure = this.refresh(stem, id)
    if (failure !== '') {
      const keeping = id.ctx !== null ? '; still serving the one loaded before' : ''
      log(WARN, 'zgate::tls', `tls identity ${stem}: ${failure}${keeping}`)
    }
    return id.ctx
  }

  /** Loads at start-up: a failure is a TlsSetupError. */
  private loadStrict(stem: string): void {
    const id = new Identity()
    const failure = this.refresh(stem, id)
    if (id.ctx === null) throw new TlsSetupError(`failed to load tls identity ${stem}: ${failure || 'its files are gone'}`)
    id.checkedAt = this.clock()
    this.cache.set(stem, id)
  }

  /**
   * Loads the pair again if its mtimes differ from those `id.ctx` came from. Returns what to
   * warn about ('' for nothing new); `id.ctx` keeps the last good context either way.
   */
  private refresh(stem: string, id: Identity): string {
    const crtPath = join(this.dir, stem + CRT_SUFFIX)
    const keyPath = join(this.dir, stem + KEY_SUFFIX)
    const crtMtime = mtimeOf(crtPath)
    const keyMtime = mtimeOf(keyPath)
    if (crtMtime === id.crtMtime && keyMtime === id.keyMtime) return ''
    if (crtMtime < 0 || keyMtime < 0) {
      // A name without files is the common case (step 2 and 3 lookups); only a loss is news.
      const lost = id.ctx !== null && id.crtMtime >= 0 && id.keyMtime >= 0
      id.crtMtime = crtMtime
      id.keyMtime = keyMtime
      return lost ? `${crtPath} or ${keyPath} is gone` : ''
    }
    let ctx: NativeContext
    try {
      ctx = loadContext(crtPath, keyPath)
    } catch (err) {
      // The mtimes are not taken: a file rewritten within the same mtime tick as the broken
      // read (a copy in progress) is tried again at the next check. Warned once per pair.
      if (crtMtime === id.failedCrtMtime && keyMtime === id.failedKeyMtime) return ''
      id.failedCrtMtime = crtMtime
      id.failedKeyMtime = keyMtime
      return `${crtPath}: ${(err as Error).message}`
    }
    const reloaded = id.ctx !== null
    id.ctx = ctx
    id.crtMtime = crtMtime
    id.keyMtime = keyMtime
    id.failedCrtMtime = MTIME_UNSEEN
    id.failedKeyMtime = MTIME_UNSEEN
    if (reloaded) log(INFO, 'zgate::tls', `tls identity ${stem} reloaded from ${crtPath}`)
    else if (logEnabled(DEBUG)) log(DEBUG, 'zgate::tls', `tls identity ${stem} loaded from ${crtPath}`)
    return ''
  }

  /** Names cached, found or not (at most NAME_CACHE_MAX beyond the loaded ones). */
  get cachedNames(): number {
    return this.cache.size
  }

  private forgetMissing(): void {
    for (const [stem, id] of this.cache) if (id.ctx === null) this.cache.delete(stem)
  }
}

/** A native context from a PEM certificate (chain) and key; throws with OpenSSL's reason. */
function loadContext(crtPath: string, keyPath: string): NativeContext {
  const cert = readFileSync(crtPath)
  const key = readFileSync(keyPath)
  const ctx = createSecureContext({ cert, key }).context as NativeContext | undefined
  if (ctx === undefined || ctx === null) throw new Error('this Bun has no native secure contexts (Bun 1.4 or later is needed)')
  return ctx
}

/**
 * What a Bun.listen listener needs to serve TLS from `ids`: its `tls` option (the context for
 * clients without SNI) and the socket handler's `serverName` hook (one per SNI handshake).
 */
export function listenerTls(
  ids: TlsIdentities,
  defaultCert: string,
): { tls: TLSOptions; serverName: (data: unknown, name: string) => NativeContext | undefined } {
  // `secureContext` is how Bun's node:tls hands a listener a native context; bun-types omits it.
  const tls = { secureContext: ids.listenerContext(defaultCert) } as TLSOptions
  const serverName = (_data: unknown, name: string): NativeContext | undefined => {
    try {
      return ids.select(name, defaultCert) ?? undefined
    } catch (err) {
      // Never let a file-system surprise escape into Bun's handshake.
      log(WARN, 'zgate::tls', `tls identity lookup for ${JSON.stringify(name)} failed: ${(err as Error).message}`)
      return undefined
    }
  }
  return { tls, serverName }
}
