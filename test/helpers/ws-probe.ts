// Run-time probe for zgate's WebSocket support, for e2e files that must decide at load time
// whether their zgate WebSocket cases run or are listed as todo (features.ts holds the
// static flag; this asks the real binary, so a merged WebSocket implementation is picked up
// without editing the tests).

import { freePort, rawHttp, startGateway, tmpDir } from './harness.ts'

/** How long the upgrade probe waits for zgate's answer before calling it forwarded. */
const UPGRADE_PROBE_WAIT_MS = 1_500

/**
 * Asks a throwaway zgate (no handler linked) to upgrade a connection to WebSocket. Without
 * WebSocket support it answers `501` at once; with it the request waits for a handler, so no
 * answer within the wait also means "supported". Returns the status seen, 0 for none.
 */
export async function zgateUpgradeStatus(): Promise<number> {
  const port = freePort()
  const gw = await startGateway({
    args: ['--listen', `127.0.0.1:${port},stream`, '--zclient-stream', `ipc://${tmpDir()}/probe`],
  })
  try {
    const conn = await rawHttp(
      port,
      'GET /probe HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    )
    try {
      return (await conn.readResponse(UPGRADE_PROBE_WAIT_MS)).status
    } catch {
      return 0
    } finally {
      conn.close()
    }
  } finally {
    await gw.stop()
  }
}
