// `--sizes`: what a connection costs, for capacity planning (Condure prints its struct sizes).

import type { Config } from './config.ts'

export function printSizes(cfg: Config): void {
  const lines = [
    `buffer size per connection buffer: ${cfg.bufferSize} bytes (held only while data is in flight)`,
    `connection buffers at most: 2 per connection`,
    `stream connection slots: ${cfg.streamMaxconn}`,
    `req connection slots: ${cfg.reqMaxconn} (a request body buffered up to ${cfg.bodyBufferSize} bytes each)`,
  ]
  for (const l of lines) console.log(l)
}
