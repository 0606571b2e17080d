// Which endpoints a handler joins for a gateway (zhttp.md 1.2-1.4): a stream spec base expands
// to PULL `-out`, ROUTER `-out-stream` and PUB `-in` (tcp: ports P, P+1, P+2); a req spec is one
// ROUTER endpoint on the gateway's DEALER, used verbatim.

import { SOCK_PUB, SOCK_PULL, SOCK_REQ, SOCK_ROUTER, type SocketKind } from './transport.ts'

/**
 * A gateway to join. A string is a stream-mode spec base (`ipc:///run/zgate/client` or
 * `tcp://127.0.0.1:5560`), as given to the gateway's `--zclient-stream`.
 */
export type GatewaySpec =
  | string
  | {
      /** Stream-mode spec base(s), as the gateway's `--zclient-stream`. */
      stream?: string | string[]
      /** Req-mode endpoint(s), as the gateway's `--zclient-req`. */
      req?: string | string[]
      /** Bind instead of connect (the gateway then runs with `--zclient-connect`). */
      bind?: boolean
      /**
       * false: do not take new requests from this gateway (no PULL on `-out`), only continue
       * sessions resumed from a handoff. Default true.
       */
      newRequests?: boolean
    }

export interface Endpoint {
  kind: SocketKind
  endpoint: string
  bind: boolean
}

export class SpecError extends Error {
  readonly code = 'ZGH_SPEC'
}

function list(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

/** The endpoints of `spec`. Throws SpecError for a base that is neither ipc:// nor tcp://. */
export function expandSpec(spec: GatewaySpec): Endpoint[] {
  const s: Exclude<GatewaySpec, string> = typeof spec === 'string' ? { stream: spec } : spec
  const bind = s.bind === true
  const pull = s.newRequests !== false
  const out: Endpoint[] = []
  for (const base of list(s.stream)) {
    if (base.startsWith('ipc://')) {
      if (pull) out.push({ kind: SOCK_PULL, endpoint: `${base}-out`, bind })
      out.push({ kind: SOCK_ROUTER, endpoint: `${base}-out-stream`, bind })
      out.push({ kind: SOCK_PUB, endpoint: `${base}-in`, bind })
    } else if (base.startsWith('tcp://')) {
      const i = base.lastIndexOf(':')
      const port = Number(base.slice(i + 1))
      if (!Number.isInteger(port) || port <= 0 || port + 2 > 65535) throw new SpecError(`bad tcp port in spec base ${base}`)
      const host = base.slice(0, i)
      if (pull) out.push({ kind: SOCK_PULL, endpoint: `${host}:${port}`, bind })
      out.push({ kind: SOCK_ROUTER, endpoint: `${host}:${port + 1}`, bind })
      out.push({ kind: SOCK_PUB, endpoint: `${host}:${port + 2}`, bind })
    } else {
      throw new SpecError(`spec base must be ipc:// or tcp://, got ${base}`)
    }
  }
  for (const ep of list(s.req)) {
    if (!ep.startsWith('ipc://') && !ep.startsWith('tcp://') && !ep.startsWith('inproc://')) {
      throw new SpecError(`req endpoint must be ipc://, tcp:// or inproc://, got ${ep}`)
    }
    out.push({ kind: SOCK_REQ, endpoint: ep, bind })
  }
  return out
}

/** A stable text key for a spec (to match disconnect() with connect()). */
export function specKey(e: Endpoint): string {
  return `${e.kind} ${e.bind ? 'bind' : 'connect'} ${e.endpoint}`
}
