// TLS clients for the e2e tests: Node's `tls` module (test/helpers/tls-client.mjs, OpenSSL)
// and curl, each making one connection and reading until the server closes it. The test CA
// and identities live in test/fixtures/tls (make.sh regenerates them).

import { join } from 'node:path'
import { REPO_ROOT } from './harness-process.ts'
import { withTimeout } from './harness-wait.ts'

const CLIENT_SCRIPT = join(REPO_ROOT, 'test/helpers/tls-client.mjs')
export const TLS_FIXTURES = join(REPO_ROOT, 'test/fixtures/tls')
/** The CA that signed every fixture identity. */
export const TEST_CA = join(TLS_FIXTURES, 'ca.crt')
/** localhost, _.example.com and default (default.test, 127.0.0.1, ::1). */
export const TEST_IDENTITIES = join(TLS_FIXTURES, 'identities')
/** Another localhost identity (CN `localhost rotated`), for the reload test. */
export const ROTATED_IDENTITIES = join(TLS_FIXTURES, 'rotated')
const CLIENT_TIMEOUT_MS = 10_000
/** Bound on the client process beyond its own timeout. */
const PROCESS_SLACK_MS = 5_000

export interface TlsResult {
  ok: boolean
  /** The handshake completed (also on a failure afterwards). */
  secure?: boolean
  code?: string
  message?: string
  authorized?: boolean
  cn?: string
  altNames?: string
  protocol?: string
  bytes?: number
  sha1?: string
  /** The first 64 KiB received, latin1. */
  head?: string
}

export interface TlsRequest {
  host?: string
  port: number
  /** SNI name; undefined sends none. */
  servername?: string
  /** Verify against this CA (default TEST_CA); null accepts any certificate. */
  caFile?: string | null
  request?: string
  /** Reads nothing for this long after sending (so the server meets backpressure). */
  pauseMs?: number
  timeoutMs?: number
}

/** One connection with Node's tls client; resolves with what happened (never rejects on TLS errors). */
export async function nodeTls(r: TlsRequest): Promise<TlsResult> {
  const node = Bun.which('node')
  if (node === null) throw new Error('nodeTls: node is not installed')
  const timeoutMs = r.timeoutMs ?? CLIENT_TIMEOUT_MS
  const opts = {
    host: r.host ?? '127.0.0.1',
    port: r.port,
    servername: r.servername,
    caFile: r.caFile === null ? undefined : (r.caFile ?? TEST_CA),
    request: r.request ?? '',
    pauseMs: r.pauseMs ?? 0,
    timeoutMs,
  }
  const proc = Bun.spawn([node, CLIENT_SCRIPT, JSON.stringify(opts)], { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' })
  const out = await withTimeout(new Response(proc.stdout).text(), timeoutMs + PROCESS_SLACK_MS, () => `tls client ${JSON.stringify(opts).slice(0, 200)}`)
  await proc.exited
  const line = out.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as TlsResult
  } catch {
    throw new Error(`tls client printed no result: ${out} ${await new Response(proc.stderr).text()}`)
  }
}

export interface CurlResult {
  /** curl's exit status (0 success, 35 a TLS handshake failure). */
  code: number
  status: number
  body: string
  stderr: string
}

/** `curl https://NAME:PORT/path` with NAME resolved to host (SNI = NAME), verified by TEST_CA. */
export async function curlTls(name: string, port: number, path: string, host = '127.0.0.1', extra: string[] = []): Promise<CurlResult> {
  const curl = Bun.which('curl')
  if (curl === null) throw new Error('curlTls: curl is not installed')
  const url = `https://${name.includes(':') ? `[${name}]` : name}:${port}${path}`
  const resolve = /^[0-9.:]+$/.test(name) ? [] : ['--resolve', `${name}:${port}:${host}`]
  const proc = Bun.spawn(
    [curl, '-sS', '--max-time', '10', '--cacert', TEST_CA, ...resolve, '-w', '\n%{http_code}', ...extra, url],
    { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' },
  )
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  const code = await proc.exited
  const nl = out.lastIndexOf('\n')
  return { code, status: Number(out.slice(nl + 1)), body: out.slice(0, Math.max(nl, 0)), stderr: err }
}
