// startStack(): a gateway with loopback TCP listeners and ipc handler endpoints under a fresh
// temp dir, plus linked handler peers, for the e2e files' usual set-up. The waits are the
// harness's own: startGateway() until the gateway is ready (listening, started, signal
// handlers, accepting), then each peer in turn until it is linked (all three sockets
// handshaken and the gateway subscribed), and, when asked, a probe request served.

import { startGateway } from './harness-gateway.ts'
import type { Gateway, GatewayTarget } from './harness-gateway.ts'
import { startPeer, waitUntilServing } from './harness-peer.ts'
import type { Peer, PeerOptions } from './harness-peer.ts'
import { freePort, tmpDir } from './harness-process.ts'

export interface StackOptions {
  /**
   * One `--listen 127.0.0.1:PORT,<spec>` each, on a fresh port, in order (default
   * ['stream']); a spec is a mode and its params, e.g. 'stream,tls' or 'req'.
   */
  listen?: string[]
  /** Gateway flags after the listeners and the zclient endpoints. */
  args?: string[]
  env?: Record<string, string>
  cwd?: string
  /** Stream handler peers on the stream base, started and linked in order (default one). */
  peers?: Omit<PeerOptions, 'base' | 'req'>[]
  /** A req handler peer of this type on the req endpoint, started after the stream peers. */
  reqPeer?: 'router' | 'rep'
  /** Also wait until a probe request is served (the first peer must answer `auto: 'hello'`). */
  serving?: boolean
}

export interface Stack {
  gw: Gateway
  /** The first handler started: the first stream peer, else the req peer. */
  peer: Peer
  /** The stream handler peers, in the order of `peers`. */
  peers: Peer[]
  reqPeer: Peer | undefined
  /** The first listener's port, and every listener's in the order of `listen`. */
  port: number
  ports: number[]
  dir: string
  /** `--zclient-stream`: ipc://DIR/zs. */
  base: string
  /** `--zclient-req`: ipc://DIR/req (passed only when a listener is in req mode). */
  reqEndpoint: string
  /** Stops the peers, then the gateway; resolves to the gateway's exit code. */
  stop(): Promise<number | null>
}

export async function startStack(target: GatewayTarget, o: StackOptions = {}): Promise<Stack> {
  const dir = tmpDir()
  const base = `ipc://${dir}/zs`
  const reqEndpoint = `ipc://${dir}/req`
  const listen = o.listen ?? ['stream']
  const ports = listen.map(() => freePort())
  const args = listen.flatMap((spec, i) => ['--listen', `127.0.0.1:${ports[i]},${spec}`])
  args.push('--zclient-stream', base)
  if (listen.some((spec) => spec.split(',')[0] === 'req')) args.push('--zclient-req', reqEndpoint)
  args.push(...(o.args ?? []))
  const gw = await startGateway({ cmd: target.cmd, args, env: o.env, cwd: o.cwd })

  const started: Peer[] = []
  const stop = async (): Promise<number | null> => {
    for (const p of started) await p.stop()
    return gw.stop()
  }
  const peers: Peer[] = []
  for (const opts of o.peers ?? [{}]) {
    const p = await startPeer({ ...opts, base })
    started.push(p)
    await p.waitLinked()
    peers.push(p)
  }
  let reqPeer: Peer | undefined
  if (o.reqPeer !== undefined) {
    reqPeer = await startPeer({ base: '', req: { type: o.reqPeer, endpoints: [reqEndpoint] } })
    started.push(reqPeer)
    await reqPeer.waitLinked()
  }
  const peer = started[0]
  if (peer === undefined) throw new Error('startStack: no handler peer asked for')
  if (o.serving) await waitUntilServing(gw, peer)
  return { gw, peer, peers, reqPeer, port: ports[0] ?? 0, ports, dir, base, reqEndpoint, stop }
}
