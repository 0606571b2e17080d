// Pushpin for the e2e harness: a private pushpin instance (its own config, rundir, logdir,
// routes and loopback ports) whose connection manager is Debian's condure or zgate, plus the
// publish call into its handler.
//
// Pushpin 1.36's runner starts the connection manager as
//   <condure_bin> --log-level=N --listen=HOST:PORT,stream --zclient-stream=ipc://RUNDIR/pushpin-condure
//                 --buffer-size=8192 --stream-maxconn=50000
// plus, for https_ports, --listen=HOST:PORT,stream,tls,default-cert=default_PORT and
// --tls-identities-dir=CONFDIR/runner/certs (observed), in the config file's directory, with pushpin's environment, a pid file RUNDIR/condure.pid
// and stdout+stderr merged into pushpin's output (-m) with a `[condure] ` prefix. On SIGTERM it
// sends SIGTERM to that PID alone, logs `condure taking too long, forcing quit` and kills it
// after about 4 s, and logs `condure: Unexpected return code: N` / `Exited uncleanly` for a
// non-zero exit or a death by signal.
//
// Outgoing requests to origins go through zurl (pushpin-proxy's zhttp client), so the
// services line adds zurl and the proxy's zurl specs are pointed into the private rundir.

import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Gateway, GatewayTarget } from './harness-gateway.ts'
import { startGateway } from './harness-gateway.ts'
import { freePort, onCleanup, REPO_ROOT, tmpDir } from './harness-process.ts'
import { rawHttp } from './raw-http.ts'
import type { RawConn } from './raw-http.ts'
import { sleep } from './harness-wait.ts'
import { TEST_IDENTITIES } from './tls-client.ts'

/** Bound on pushpin's start-up (four services, then one request through to the origin). */
const PUSHPIN_READY_TIMEOUT_MS = 15_000
const READY_PROBE_INTERVAL_MS = 50
/**
 * How long one readiness request may take before it is retried: a request that arrives
 * before pushpin-proxy has linked to the manager waits in the manager's queue, so a retry
 * soon is faster than waiting it out.
 */
const READY_PROBE_TIMEOUT_MS = 500
const PUBLISH_TIMEOUT_MS = 5_000
/** Pushpin itself waits about 4 s for its services, so 12 s covers a whole shutdown. */
const PUSHPIN_STOP_TIMEOUT_MS = 12_000

/** The zgate launcher Pushpin runs in place of condure. */
export const ZGATE_CONDURE_SHIM = join(REPO_ROOT, 'scripts/condure')

export interface PushpinOptions {
  /** Routes file lines; `{origin}` is replaced by `127.0.0.1:<originPort>`. */
  routes: string[]
  originPort: number
  /**
   * A GRIP hold-stream path on the origin, requested until the hold works end to end (see
   * probeOnce). Until pushpin's handler has connected to the proxy's accept service, a GRIP
   * hold fails with 500 `Accept service unavailable`, even after both logged `started`.
   */
  readyPath: string
  /** condure_bin (default); `path`: condure_bin=condure and a `condure` symlink first on PATH. */
  launch?: 'condure_bin' | 'path'
  env?: Record<string, string>
}

export interface Pushpin {
  /** The pushpin runner process (stop() sends SIGTERM). */
  gw: Gateway
  httpPort: number
  /** https_ports: served with default_<port> (the fixture `default`) and `localhost`. */
  httpsPort: number
  publishPort: number
  /** PID of the connection manager pushpin started (from RUNDIR/condure.pid). */
  managerPid: number
  /** PIDs of every service pushpin started, by service name. */
  servicePids: Map<string, number>
  /** POSTs `{items}` to the handler's /publish/ endpoint; resolves with `<status> <body>`. */
  publish(items: unknown[]): Promise<string>
}

/** Why pushpin cannot run here, or '' (tests must fail on a non-empty reason, not skip). */
export function pushpinMissing(): string {
  const missing = ['pushpin', 'pushpin-proxy', 'pushpin-handler', 'zurl'].filter((b) => Bun.which(b) === null)
  return missing.length === 0 ? '' : `not installed: ${missing.join(', ')} (apt-get install pushpin zurl)`
}

function configText(dir: string, httpPort: number, httpsPort: number, publishPort: number, condureBin: string): string {
  // Every socket is ipc under the private rundir except the client listener and the publish
  // endpoint, which are loopback TCP on ports that were free a moment ago.
  return `[global]
include={libdir}/internal.conf
rundir=${dir}/run
ipc_prefix=pushpin-
port_offset=0
stats_connection_ttl=120

[runner]
services=condure,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:${httpPort}
https_ports=127.0.0.1:${httpsPort}
logdir=${dir}/log
log_level=2
client_buffer_size=8192
client_maxconn=50000
condure_bin=${condureBin}
zurl_bin=zurl

[proxy]
routesfile=routes
zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in
zurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream
zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out
debug=true
sig_iss=pushpin
sig_key=changeme
updates_check=off

[handler]
push_in_spec=ipc://{rundir}/{ipc_prefix}push-in
push_in_sub_specs=ipc://{rundir}/{ipc_prefix}push-in-sub
push_in_sub_connect=false
push_in_http_addr=127.0.0.1
push_in_http_port=${publishPort}
stats_spec=ipc://{rundir}/{ipc_prefix}stats
command_spec=ipc://{rundir}/{ipc_prefix}command
message_rate=2500
message_hwm=25000
message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
stats_subscription_ttl=60
stats_report_interval=10
stats_format=tnetstring
`
}

/** The condure_bin and extra environment that make pushpin run `target`. */
function launcher(target: GatewayTarget, dir: string, launch: 'condure_bin' | 'path'): { bin: string; env: Record<string, string> } {
  const env: Record<string, string> = {}
  if (target.name === 'zgate') env.ZGATE_BUN = target.cmd[0]!
  if (launch === 'condure_bin') {
    return { bin: target.name === 'zgate' ? ZGATE_CONDURE_SHIM : target.cmd[0]!, env }
  }
  // PATH lookup: a directory holding only a `condure` that is the wanted program.
  const binDir = join(dir, 'bin')
  mkdirSync(binDir)
  const real = target.name === 'zgate' ? ZGATE_CONDURE_SHIM : Bun.which(target.cmd[0]!)
  if (real === null) throw new Error(`${target.cmd[0]} is not on PATH`)
  symlinkSync(real, join(binDir, 'condure'))
  env.PATH = `${binDir}:${process.env.PATH ?? ''}`
  return { bin: 'condure', env }
}

function readPidFiles(runDir: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const f of readdirSync(runDir)) {
    if (!f.endsWith('.pid')) continue
    const pid = Number(readFileSync(join(runDir, f), 'utf8').trim())
    if (pid > 0) out.set(f.slice(0, -'.pid'.length), pid)
  }
  return out
}

/** Whether `pid` is a live (not zombie) process. */
export function pidAlive(pid: number): boolean {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return false
  }
  // Field 3, after the parenthesised command name, is the state; Z is a zombie.
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
}

/** Command line of `pid`, '' if it is gone. */
function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

/**
 * One GRIP hold-stream request through pushpin: true once the held response has started and
 * pushpin-handler has logged a packet from the manager on that session (its credit for the
 * first body bytes). That packet travels on the manager's -out-stream ROUTER, whose link to
 * the handler's ROUTER is made by the handler's connect retries after the manager binds;
 * until the link is up a ROUTER drops what it sends to that identity, so the handler misses
 * a seq and cancels (zhttp.md 4.5). The probe connection is closed either way.
 */
async function probeOnce(gw: Gateway, port: number, path: string): Promise<boolean> {
  const mark = gw.mark()
  let conn: RawConn | undefined
  try {
    conn = await rawHttp(port, `GET ${path} HTTP/1.1\r\nHost: pushpin-ready\r\n\r\n`)
    const head = await conn.readResponse(READY_PROBE_TIMEOUT_MS, { head: true })
    if (head.status !== 200) return false
    const deadline = Date.now() + READY_PROBE_TIMEOUT_MS
    const credit = /\[handler\] zhttp\/zws server: IN stream .*"type": "credit"/
    while (Date.now() < deadline) {
      if (gw.lines().slice(mark).some((l) => credit.test(l))) return true
      await sleep(READY_PROBE_INTERVAL_MS)
    }
    return false
  } catch {
    return false
  } finally {
    conn?.close()
  }
}

export async function startPushpin(target: GatewayTarget, opts: PushpinOptions): Promise<Pushpin> {
  const missing = pushpinMissing()
  if (missing !== '') throw new Error(`pushpin e2e: ${missing}`)
  const dir = tmpDir('zgate-pp-')
  mkdirSync(join(dir, 'run'))
  mkdirSync(join(dir, 'log'))
  const httpPort = freePort()
  const httpsPort = freePort()
  const publishPort = freePort()
  // Pushpin names the identity of each https port default_<port>, in runner/certs.
  const certs = join(dir, 'runner/certs')
  mkdirSync(certs, { recursive: true })
  for (const [from, to] of [['default', `default_${httpsPort}`], ['localhost', 'localhost']]) {
    for (const ext of ['.crt', '.key']) copyFileSync(join(TEST_IDENTITIES, from + ext), join(certs, to + ext))
  }
  const { bin, env } = launcher(target, dir, opts.launch ?? 'condure_bin')
  const confPath = join(dir, 'pushpin.conf')
  writeFileSync(confPath, configText(dir, httpPort, httpsPort, publishPort, bin))
  const origin = `127.0.0.1:${opts.originPort}`
  writeFileSync(join(dir, 'routes'), `${opts.routes.map((r) => r.replaceAll('{origin}', origin)).join('\n')}\n`)

  const gw = await startGateway({
    // --verbose: pushpin logs every ZHTTP packet, so tests can see handoffs and keep-alives.
    cmd: ['pushpin', '--config', confPath, '--verbose', '--merge-output'],
    args: [],
    cwd: dir,
    env: { ...env, ...opts.env },
    waitReady: false,
  })
  let servicePids = new Map<string, number>()
  // Pushpin stops its services itself; this only reaps any it left behind. Every service's
  // command line names the private dir, so a reused PID is never signalled.
  onCleanup(async () => {
    await gw.stop('SIGTERM', PUSHPIN_STOP_TIMEOUT_MS)
    for (const pid of servicePids.values()) {
      if (pidAlive(pid) && cmdlineOf(pid).includes(dir)) process.kill(pid, 'SIGKILL')
    }
  })

  const deadline = Date.now() + PUSHPIN_READY_TIMEOUT_MS
  const left = () => Math.max(deadline - Date.now(), 1)
  for (const re of [/\[condure\] \[\w+\] started$/, /\[proxy\] started$/, /\[handler\] started$/, /\[zurl\] started$/]) {
    await gw.waitForLine(re, left())
  }
  while (!(await probeOnce(gw, httpPort, opts.readyPath))) {
    if (Date.now() > deadline) throw new Error(`pushpin never held ${opts.readyPath} with a linked handler:\n  ${gw.lines().join('\n  ')}`)
    await sleep(READY_PROBE_INTERVAL_MS)
  }
  servicePids = readPidFiles(join(dir, 'run'))
  const managerPid = servicePids.get('condure')
  if (managerPid === undefined || !existsSync(`/proc/${managerPid}`)) {
    throw new Error(`pushpin wrote no live condure.pid: ${JSON.stringify([...servicePids])}`)
  }
  return {
    gw,
    httpPort,
    httpsPort,
    publishPort,
    managerPid,
    servicePids,
    async publish(items) {
      const res = await fetch(`http://127.0.0.1:${publishPort}/publish/`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ items }),
        signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS),
      })
      return `${res.status} ${(await res.text()).trim()}`
    },
  }
}
