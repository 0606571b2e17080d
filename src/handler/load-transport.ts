// Picks the transport for the running engine and imports it on first use (transport.ts says
// why both exist and why the import is dynamic).

import type { TransportFactory } from './transport.ts'

/** The transport for the running engine, imported on first use. */
export async function loadTransport(): Promise<TransportFactory> {
  if (typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined') {
    const m = await import('./transport-bun.ts')
    return m.createBunTransport
  }
  const m = await import('./transport-node.ts')
  return m.createNodeTransport
}
