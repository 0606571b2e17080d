// Sec-WebSocket-Extensions offers and what Debian condure 1.9.1 does with each, run with
// --compression (zhttp.md 5.1, 5.7; checklist 118-122). Each case is the header's values in
// request order (one header line per value) and the observed outcome:
// - 'closed': the connection is closed without a request packet (a malformed header);
// - 'none': the session is forwarded and the 101 has no Sec-WebSocket-Extensions;
// - any other string: the 101's Sec-WebSocket-Extensions value.
// A third element, where present, is zgate's outcome where it deliberately differs: zgate
// reads extension names and parameter keys ignoring ASCII case (src/ws/extensions.ts).
// test/e2e/ws-extensions.test.ts replays them against the gateways; the unit test
// test/unit/ws-extensions.test.ts checks src/ws/extensions.ts and a slow reference on them.

export type ExtensionOutcome = 'closed' | 'none' | string

/** `s` as UTF-8, one char per byte (the harness writes strings as latin1). */
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1')

const D = 'permessage-deflate'
const C = `${D}; client_no_context_takeover`
const S = `${D}; server_no_context_takeover`
const CS = `${D}; client_no_context_takeover; server_no_context_takeover`

export const EXTENSION_CASES: readonly [values: string[], outcome: ExtensionOutcome, zgate?: ExtensionOutcome][] = [
  // zhttp.md checklist 119-122
  [[D], D],
  [[`${D}; server_max_window_bits=10`], 'none'],
  [[`${D}; server_max_window_bits=10, ${D}; client_no_context_takeover; server_no_context_takeover`], CS],
  [[`${D}; foo`], 'none'],
  [[`${D}; foo, ${D}; server_no_context_takeover`], S],
  // empty elements are malformed
  [[''], 'closed'],
  [[' '], 'closed'],
  [[','], 'closed'],
  [[`${D},`], 'closed'],
  [[`, ${D}`], 'closed'],
  [[`${D}, , foo`], 'closed'],
  [[`${D} ,${D}; client_no_context_takeover`], D],
  // names and keys are case-sensitive for condure, not for zgate
  [['Permessage-Deflate'], 'none', D],
  [[`${D}; Client_No_Context_Takeover`], 'none', C],
  [['PERMESSAGE-DEFLATE; SERVER_NO_CONTEXT_TAKEOVER; Client_Max_Window_Bits=10'], 'none', S],
  [[`Permessage-Deflate; client_no_context_takeover, ${D}`], D, C],
  [[`${D}; Server_Max_Window_Bits=10`], 'none'],
  [[`${D}; client_no_context_takeover; CLIENT_NO_CONTEXT_TAKEOVER`], 'none'],
  // whitespace
  [[`${D};client_no_context_takeover;server_no_context_takeover`], CS],
  [[`${D} ; client_no_context_takeover ; server_no_context_takeover`], CS],
  [[`\t${D}\t; client_no_context_takeover\t`], C],
  [[` ${D} `], D],
  [[`${D};\tclient_no_context_takeover`], C],
  [[`${D};\tserver_max_window_bits=\t15`], D],
  [[`${D}; server_max_window_bits = 15`], D],
  [[`${D}; server_max_window_bits=15 ; client_no_context_takeover`], C],
  // window bits values: an unsigned 8-bit parse
  [[`${D}; server_max_window_bits=15`], D],
  [[`${D}; server_max_window_bits="15"`], D],
  [[`${D}; server_max_window_bits=\t"15"`], D],
  [[`${D}; server_max_window_bits=015`], D],
  [[`${D}; server_max_window_bits=0015`], D],
  [[`${D};server_max_window_bits=000000000000000000015`], D],
  [[`${D}; server_max_window_bits=+15`], D],
  [[`${D}; server_max_window_bits="+15"`], D],
  [[`${D}; server_max_window_bits=++15`], 'none'],
  [[`${D}; server_max_window_bits=+`], 'none'],
  [[`${D}; server_max_window_bits=-15`], 'none'],
  [[`${D}; server_max_window_bits=255`], 'none'],
  [[`${D}; server_max_window_bits=256`], 'none'],
  [[`${D}; server_max_window_bits=1a`], 'none'],
  [[`${D}; server_max_window_bits=1 5`], 'none'],
  [[`${D}; server_max_window_bits=1"5"`], 'none'],
  [[`${D}; server_max_window_bits=" 15 "`], 'none'],
  [[`${D}; server_max_window_bits="1,5"`], 'none'],
  [[`${D}; server_max_window_bits`], 'none'],
  [[`${D}; server_max_window_bits=`], 'none'],
  [[`${D}; server_max_window_bits=""`], 'none'],
  [[`${D}; server_max_window_bits="15`], 'closed'],
  [[`${D}; server_max_window_bits="1"5`], 'closed'],
  [[`${D}; client_max_window_bits`], D],
  [[`${D}; client_max_window_bits=8`], D],
  [[`${D}; client_max_window_bits=08`], D],
  [[`${D}; client_max_window_bits=+8`], D],
  [[`${D}; client_max_window_bits=+08`], D],
  [[`${D}; client_max_window_bits="9"`], D],
  [[`${D}; client_max_window_bits=""`], D],
  [[`${D}; client_max_window_bits=""\t`], D],
  [[`${D}; client_max_window_bits="15"\t, foo`], D],
  [[`${D}; client_max_window_bits=7`], 'none'],
  [[`${D}; client_max_window_bits=0`], 'none'],
  [[`${D}; client_max_window_bits=16`], 'none'],
  [[`${D}; client_max_window_bits=" "`], 'none'],
  [[`${D}; client_max_window_bits=15; server_max_window_bits=15`], D],
  [[`${D}; client_max_window_bits=""; server_no_context_takeover`], S],
  // no-value params: an empty value counts as none
  [[`${D}; client_no_context_takeover=""`], C],
  [[`${D}; client_no_context_takeover = `], C],
  [[`${D}; server_no_context_takeover=`], S],
  [[`${D}; server_no_context_takeover=;client_no_context_takeover`], CS],
  [[`${D}; client_no_context_takeover=x`], 'none'],
  [[`${D}; client_no_context_takeover=" "`], 'none'],
  [[`${D}; client_no_context_takeover=""""`], 'closed'],
  // duplicates and unknown keys make an offer unusable
  [[`${D}; client_no_context_takeover; client_no_context_takeover`], 'none'],
  [[`${D}; server_max_window_bits=15; server_max_window_bits=15`], 'none'],
  [[`${D};client_max_window_bits=15;client_max_window_bits`], 'none'],
  [[`${D}; "client_no_context_takeover"`], 'none'],
  // the first usable offer wins
  [[`${D}, ${D}; server_no_context_takeover`], D],
  [[`${D}; server_max_window_bits=15; client_no_context_takeover`], C],
  [[`${D}; server_max_window_bits="15"; client_no_context_takeover`], C],
  // several header lines
  [['foo', `${D}; server_no_context_takeover`], S],
  [[`${D}; server_max_window_bits=9`, D], D],
  [[`${D}`, 'foo;;'], 'closed'],
  [['bad;', D], 'closed'],
  [[D, ','], 'closed'],
  // other extensions: names need not be tokens
  [['x-webkit-deflate-frame'], 'none'],
  [['foo, bar'], 'none'],
  [['foo bar'], 'none'],
  [['foo bar; baz'], 'none'],
  [['foo=bar'], 'none'],
  [[`${D}=1`], 'none'],
  [['"quoted"'], 'none'],
  [['""'], 'none'],
  [['" "'], 'none'],
  [['a"b'], 'none'],
  [['a"b"c"'], 'none'],
  [[`a"b, ${D}`], D],
  [['a"b,c"d; e'], 'none'],
  // params of other extensions: syntax still checked
  [['foo; bar baz'], 'none'],
  [['foo; bar=a=b'], 'none'],
  [['foo; bar=(x)'], 'none'],
  [['foo; bar=a"b"'], 'none'],
  [['foo; bar=='], 'none'],
  [['foo; bar="a b"'], 'none'],
  [['foo; bar=""'], 'none'],
  [['foo; bar="x,y"'], 'none'],
  [['foo; bar="x;y"'], 'none'],
  [['foo; bar = "x"'], 'none'],
  [['foo; bar="x"  '], 'none'],
  [['foo; bar="a\\b"'], 'none'],
  [['foo; bar="a\\"'], 'none'],
  [['foo; "bar"="x"'], 'none'],
  [['foo; b"a;r"'], 'none'],
  [[`foo; bar="x",${D}`], D],
  [[`foo; bar="x";${D}`], 'none'],
  [[`x; a="" , ${D}; server_no_context_takeover`], S],
  [['foo; bar="a\\"b"'], 'closed'],
  [['foo; bar="unterminated'], 'closed'],
  [['foo; bar="a"b'], 'closed'],
  [['foo; bar=""x'], 'closed'],
  [['foo; bar="x" y'], 'closed'],
  [['foo; bar"="x'], 'closed'],
  [[`${D}; x="a""b"`], 'closed'],
  [['foo; =x'], 'closed'],
  [['foo; =='], 'closed'],
  [['foo; = '], 'closed'],
  [['foo;'], 'closed'],
  [['foo;bar;'], 'closed'],
  [['foo; bar="a"; '], 'closed'],
  [['foo;bar="a;b",'], 'closed'],
  [[`${D};;client_no_context_takeover`], 'closed'],
  [[`${D}; `], 'closed'],
  [['; client_no_context_takeover'], 'closed'],
  // the value must be UTF-8 (invalid bytes are malformed), trimmed of Unicode whitespace
  [[`${D}\u00ff`], 'closed'],
  [['foo; bar=\u00ff'], 'closed'],
  [['\u00e9t\u00e9'], 'closed'],
  [['foo\u00c0\u00af'], 'closed'],
  [['foo\u00ed\u00a0\u0080'], 'closed'],
  [['foo\u00f4\u0090\u0080\u0080'], 'closed'],
  [['foo\u00e2\u0082'], 'closed'],
  [[utf8('été')], 'none'],
  [[utf8('foo; bar=é, ') + D], D],
  [[utf8('foo; bar="ü;ö"')], 'none'],
  [[utf8(`${D}\u00a0`)], D],
  [[utf8(`\u3000${D}\u2028; \u00a0client_no_context_takeover\u205f`)], C],
  [[utf8(`${D}; server_max_window_bits=\u200a15\u1680`)], D],
  [[utf8(`${D}; server_max_window_bits=15\u0085`)], D],
  [[utf8(`${D}\u0085`)], D],
  // ...but around a quoted value only SP and HTAB count as whitespace
  [[utf8(`${D}; server_max_window_bits="15"\u0085`)], 'closed'],
  [[utf8(`${D}; server_max_window_bits="15"\u00a0`)], 'closed'],
  [[utf8(`${D}; server_max_window_bits="15"\u3000`)], 'closed'],
  [[utf8(`${D}; server_max_window_bits=\u00a0"15"`)], 'none'],
  [[utf8(`${D}; server_max_window_bits=\u0085"15"`)], 'none'],
  [[utf8(`${D}\u200b`)], 'none'],
  [[utf8(`${D}; client_no_context_takeover=\u00a0`)], C],
]

/** Cases also run without --compression: offers are ignored, malformed still closes (5.1). */
export const EXTENSION_CASES_NO_COMPRESSION: readonly [values: string[], outcome: ExtensionOutcome][] = [
  [[D], 'none'],
  [[CS], 'none'],
  [[','], 'closed'],
  [['foo;'], 'closed'],
  [[`${D}\u00ff`], 'closed'],
  [['foo; bar="x'], 'closed'],
]
