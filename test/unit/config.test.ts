import { describe, expect, test } from 'bun:test'
import { parseServeArgs, parseListenSpec, expandStreamBase, ConfigError, MODE_REQ, MODE_STREAM, OPTION_HELP } from '../../src/config.ts'
import type { Config } from '../../src/config.ts'
import { closestMatch, jaroSimilarity } from '../../src/util/did-you-mean.ts'

function err(argv: string[]): ConfigError {
  try {
    parseServeArgs(argv)
  } catch (e) {
    if (e instanceof ConfigError) return e
    throw e
  }
  throw new Error(`no error for ${argv.join(' ')}`)
}

describe('serve flags (zhttp.md 7.1)', () => {
  test("defaults are Condure 1.9.1's", () => {
    const c = parseServeArgs([])
    expect(c.id).toBe('condure')
    expect(c.bufferSize).toBe(8192)
    expect(c.streamMaxconn).toBe(10000)
    expect(c.streamTimeoutS).toBe(1800)
    expect(c.listen.map((l) => [l.host, l.port])).toEqual([['0.0.0.0', 8000]])
    expect(c.zclientStream).toEqual([{ out: 'ipc://client-out', outStream: 'ipc://client-out-stream', in: 'ipc://client-in' }])
  })

  test('--flag value and --flag=value are the same; repeatable options collect', () => {
    const a = parseServeArgs(['--buffer-size', '4096', '--listen', '1:1', '--listen=2:2'])
    const b = parseServeArgs(['--buffer-size=4096', '--listen=1:1', '--listen', '2:2'])
    expect(a.bufferSize).toBe(4096)
    expect(a.listen.map((l) => l.spec)).toEqual(['1:1', '2:2'])
    expect(b).toEqual(a)
  })

  test('value errors carry Condure sentences and exit 1 (checklist 126-131)', () => {
    expect(err(['--workers', 'abc']).message).toBe('failed to parse workers: invalid digit found in string')
    expect(err(['--workers', '2000']).message).toBe('failed to parse workers: value too large')
    expect(err(['--id', 'a b']).message).toBe('failed to parse id: value cannot be empty or contain a space')
    expect(err(['--id=']).message).toBe('failed to parse id: value cannot be empty or contain a space')
    expect(err(['--listen', '70000']).message).toBe('failed to parse listen: invalid port 70000')
    expect(err(['--listen', '9000,bogus']).message).toBe('failed to parse listen: invalid param: bogus')
    expect(err(['--req-maxconn', '1', '--workers', '2']).message).toBe('req maxconn must be >= workers')
    expect(err(['--zclient-stream', 'foo://x']).message).toBe('base spec must be ipc or tcp')
    for (const a of [['--workers', 'abc'], ['--listen', '70000'], ['--zclient-stream', 'foo://x']]) {
      expect(err(a).exitCode).toBe(1)
    }
  })

  test('usage errors exit 2 (checklist 132)', () => {
    expect(err(['--bogus']).exitCode).toBe(2)
    expect(err(['--workers']).exitCode).toBe(2)
    expect(err(['--workers', '-1']).exitCode).toBe(2)
    expect(err(['--id', 'a', '--id', 'b']).exitCode).toBe(2)
    expect(err(['stray']).exitCode).toBe(2)
  })

  test('listen specs (zhttp.md 7.2)', () => {
    expect(parseListenSpec('8000')).toMatchObject({ host: '0.0.0.0', port: 8000, path: '' })
    expect(parseListenSpec('[::1]:9000')).toMatchObject({ host: '::1', port: 9000 })
    expect(parseListenSpec('127.0.0.1:1,req').mode).toBe(MODE_REQ)
    expect(parseListenSpec('/tmp/s,local,mode=660')).toMatchObject({ path: '/tmp/s', fileMode: 0o660 })
    expect(parseListenSpec('1,tls,default-cert=x')).toMatchObject({ tls: true, defaultCert: 'x' })
  })

  test('spec bases expand to three endpoints (zhttp.md 1.2)', () => {
    expect(expandStreamBase('tcp://127.0.0.1:5000')).toEqual({
      out: 'tcp://127.0.0.1:5000',
      outStream: 'tcp://127.0.0.1:5001',
      in: 'tcp://127.0.0.1:5002',
    })
    expect(() => expandStreamBase('tcp://127.0.0.1')).toThrow('tcp base spec must specify port')
  })
})

describe("pushpin 1.36's runner argv (observed with a logging condure_bin)", () => {
  const base = [
    '--log-level=2',
    '--listen=127.0.0.1:7999,stream',
    '--listen=/run/pushpin/pushpin-server,local,stream',
    '--zclient-stream=ipc:///run/pushpin/pushpin-condure',
    '--buffer-size=8192',
    '--stream-maxconn=50000',
  ]

  test('http_port, local_ports, the ipc base and both sizes parse', () => {
    const c = parseServeArgs(base)
    expect(c.logLevel).toBe(2)
    expect(c.listen.map((l) => [l.host, l.port, l.path])).toEqual([
      ['127.0.0.1', 7999, ''],
      ['', 0, '/run/pushpin/pushpin-server'],
    ])
    expect(c.zclientStream).toEqual([
      {
        out: 'ipc:///run/pushpin/pushpin-condure-out',
        outStream: 'ipc:///run/pushpin/pushpin-condure-out-stream',
        in: 'ipc:///run/pushpin/pushpin-condure-in',
      },
    ])
    expect(c.bufferSize).toBe(8192)
    expect(c.streamMaxconn).toBe(50000)
  })

  test("pushpin's https_ports flags parse into a TLS listener and the identities dir", () => {
    const tls = ['--listen=127.0.0.1:443,stream,tls,default-cert=default_443', '--tls-identities-dir=/etc/pushpin/runner/certs']
    const c = parseServeArgs([...base, ...tls])
    expect(c.listen[2]).toMatchObject({ tls: true, defaultCert: 'default_443', host: '127.0.0.1', port: 443, mode: MODE_STREAM })
    expect(c.tlsIdentitiesDir).toBe('/etc/pushpin/runner/certs')
    expect(parseServeArgs([]).tlsIdentitiesDir).toBe('.')
  })
})

describe('zgate-only operations flags (--shutdown-timeout, --stats, unix listener params)', () => {
  test('--shutdown-timeout defaults to 5 s, takes 0, and refuses non-numbers with exit 1', () => {
    expect(parseServeArgs([]).shutdownTimeoutS).toBe(5)
    expect(parseServeArgs(['--shutdown-timeout', '0']).shutdownTimeoutS).toBe(0)
    expect(parseServeArgs(['--shutdown-timeout=12']).shutdownTimeoutS).toBe(12)
    const e = err(['--shutdown-timeout', 'soon'])
    expect([e.message, e.exitCode]).toEqual(['failed to parse shutdown timeout: invalid digit found in string', 1])
  })

  test('--stats takes [addr:]port, [IPv6]:port or a path', () => {
    expect(parseServeArgs([]).stats).toBeNull()
    expect(parseServeArgs(['--stats', '127.0.0.1:9100']).stats).toEqual({ host: '127.0.0.1', port: 9100, path: '' })
    expect(parseServeArgs(['--stats', '9100']).stats).toEqual({ host: '0.0.0.0', port: 9100, path: '' })
    expect(parseServeArgs(['--stats', '[::1]:9100']).stats).toEqual({ host: '::1', port: 9100, path: '' })
    expect(parseServeArgs(['--stats', '/run/z/stats.sock']).stats).toEqual({ host: '', port: 0, path: '/run/z/stats.sock' })
    expect(err(['--stats', '1.2.3.4:70000']).message).toBe('failed to parse stats: invalid port 70000')
    expect(err(['--stats', '9100,req']).exitCode).toBe(1)
  })

  test('mode=, user=, group= of a local listener', () => {
    const l = parseListenSpec('/tmp/x.sock,local,mode=660,user=nobody,group=nogroup')
    expect([l.path, l.fileMode, l.user, l.group]).toEqual(['/tmp/x.sock', 0o660, 'nobody', 'nogroup'])
    expect(parseListenSpec('/tmp/x.sock,local').fileMode).toBe(-1)
    for (const bad of ['mode=8', 'mode=', 'mode=12345', 'user=', 'group=']) {
      expect(() => parseListenSpec(`/tmp/x.sock,local,${bad}`)).toThrow(`failed to parse listen: invalid param: ${bad}`)
    }
  })
})

describe('usage errors in Condure 1.9.1 (clap 3) words, with "Did you mean" (checklist 132)', () => {
  const FOUND = "which wasn't expected, or isn't valid in this context"

  test('a mistyped option names the closest known one; one too far from all names none', () => {
    const cases: Array<[string[], string]> = [
      [['--listn', '8000'], '--listen'],
      [['--listn=8000'], '--listen'],
      [['--Listen', '8000'], '--listen'],
      [['--workrs', '2'], '--workers'],
      [['--zclient-strem', 'ipc://x'], '--zclient-stream'],
      [['--shutdown-timout', '1'], '--shutdown-timeout'],
      [['--bogus'], ''],
      [['--x'], ''],
    ]
    for (const [argv, suggestion] of cases) {
      const e = err(argv)
      const typed = argv[0]!
      expect([e.message, e.suggestion, e.exitCode]).toEqual([`Found argument '${typed}' ${FOUND}`, suggestion, 2])
    }
  })

  test('a stray word, a missing value, a value for a flag and a repeat', () => {
    expect(err(['stray']).message).toBe(`Found argument 'stray' ${FOUND}`)
    expect(err(['--listen']).message).toBe("The argument '--listen <[addr:]port[,params...]>' requires a value but none was supplied")
    expect(err(['--workers', '-1']).message).toBe("The argument '--workers <N>' requires a value but none was supplied")
    expect(err(['--compression=yes']).message).toBe("The value 'yes' was provided to '--compression' but it wasn't expecting any more values")
    expect(err(['--id', 'a', '--id', 'b']).message).toBe(
      "The argument '--id <ID>' was provided more than once, but cannot be used multiple times",
    )
  })

  test('Jaro similarity: textbook values, and the 0.8 threshold', () => {
    expect(jaroSimilarity('MARTHA', 'MARHTA')).toBeCloseTo(0.944, 3)
    expect(jaroSimilarity('DIXON', 'DICKSONX')).toBeCloseTo(0.767, 3)
    expect(jaroSimilarity('JELLYFISH', 'SMELLYFISH')).toBeCloseTo(0.896, 3)
    expect(jaroSimilarity('abc', 'abc')).toBe(1)
    expect(jaroSimilarity('abc', 'xyz')).toBe(0)
    expect(jaroSimilarity('', '')).toBe(1)
    expect(jaroSimilarity('a', '')).toBe(0)
    expect(closestMatch('DIXON', ['DICKSONX'])).toBe('')
    expect(closestMatch('MARTHA', ['DICKSONX', 'MARHTA', 'MARTHAS'])).toBe('MARTHAS')
  })
})

describe('serve --help states the defaults the parser uses', () => {
  test('every "[default: X]" equals the parsed value of no arguments', () => {
    const c = parseServeArgs([])
    const parsed: Record<string, (cfg: Config) => unknown> = {
      '--log-level': (x) => x.logLevel,
      '--id': (x) => x.id,
      '--workers': (x) => x.workerLoops,
      '--req-maxconn': (x) => x.reqMaxconn,
      '--stream-maxconn': (x) => x.streamMaxconn,
      '--buffer-size': (x) => x.bufferSize,
      '--body-buffer-size': (x) => x.bodyBufferSize,
      '--messages-max': (x) => x.messagesMax,
      '--req-timeout': (x) => x.reqTimeoutS,
      '--stream-timeout': (x) => x.streamTimeoutS,
      '--listen': (x) => x.listen[0]!.spec,
      '--zclient-req': (x) => x.zclientReq[0],
      '--zclient-stream': (x) => x.zclientStream[0]!.out.replace(/-out$/, ''),
      '--tls-identities-dir': (x) => x.tlsIdentitiesDir,
      '--shutdown-timeout': (x) => x.shutdownTimeoutS,
    }
    let checked = 0
    for (const [flag, text] of OPTION_HELP) {
      const m = /\[default: ([^\]]+)\]$/.exec(text)
      if (m === null) continue
      const name = flag.split(' ')[0]!
      expect(parsed[name]).toBeDefined()
      expect([name, String(parsed[name]!(c))]).toEqual([name, m[1]])
      checked++
    }
    expect(checked).toBe(Object.keys(parsed).length)
    // One event loop, not Condure's 2 (Config.workerLoops).
    expect(c.workerLoops).toBe(1)
  })
})
