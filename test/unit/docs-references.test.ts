// Every `zhttp.md N.N`, `checklist N` and `item N` cited in the repository resolves in
// docs/zhttp.md, the project's own description of ZHTTP: a comment citing a section or item
// the document lacks fails here. The extractor itself is checked on known text first, so a
// broken pattern cannot pass by finding nothing.

import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { extractCitations, indexDoc, repoCitations } from '../helpers/doc-citations.ts'

const REPO = join(import.meta.dir, '..', '..')
const DOC_PATH = 'docs/zhttp.md'
const doc = readFileSync(join(REPO, DOC_PATH), 'utf8')
const index = indexDoc(doc)
/** The document itself, and the files holding citation samples rather than citations. */
const NOT_SCANNED = [DOC_PATH, 'test/helpers/doc-citations.ts', 'test/unit/docs-references.test.ts']

function refs(text: string, kind: 'section' | 'item'): string[] {
  return extractCitations(text, 'sample.ts')
    .filter((c) => c.kind === kind)
    .map((c) => c.ref)
}

describe('citation extractor', () => {
  test('section forms: single, list, range, "section(s)", slash, "and", appendix', () => {
    expect(refs('// see zhttp.md 4.7.', 'section')).toEqual(['4.7'])
    expect(refs('(zhttp.md sections 1.5, 4.1, 4.12)', 'section')).toEqual(['1.5', '4.1', '4.12'])
    expect(refs('(zhttp.md 4.4-4.7)', 'section')).toEqual(['4.4', '4.5', '4.6', '4.7'])
    expect(refs('(zhttp.md 2.1-3.9)', 'section')).toEqual(['2.1', '3.9'])
    expect(refs('zhttp.md 1.2 / 1.3:', 'section')).toEqual(['1.2', '1.3'])
    expect(refs('zhttp.md section 6 and 7.1', 'section')).toEqual(['6', '7.1'])
    expect(refs('(zhttp.md Appendix A)', 'section')).toEqual(['Appendix A'])
    expect(refs('(zhttp.md 5.4, RFC 6455 8.1)', 'section')).toEqual(['5.4'])
    expect(refs('zhttp.md examples', 'section')).toEqual([])
  })

  test('item forms: checklist, checklist items, bare item; RFC items are not ours', () => {
    expect(refs('(checklist 72)', 'item')).toEqual(['72'])
    expect(refs('checklist items 12-14 and 65', 'item')).toEqual(['12', '13', '14', '65'])
    expect(refs('checklist 19, 138-140', 'item')).toEqual(['19', '138', '139', '140'])
    expect(refs('// the FIN case is item 60 own test', 'item')).toEqual(['60'])
    expect(refs('(400, RFC 9112 6.1 / 6.3 item 3)', 'item')).toEqual([])
  })

  test('a citation wrapped onto the next comment line is still found, at its first line', () => {
    const text = 'const x = 1\n// Socket layout (zhttp.md 1.1, 4.12; checklist\n// items 126-128, 137).\n'
    const found = extractCitations(text, 'sample.ts')
    expect(found.map((c) => `${c.kind}:${c.ref}@${c.line}`)).toEqual([
      'section:1.1@2',
      'section:4.12@2',
      'item:126@2',
      'item:127@2',
      'item:128@2',
      'item:137@2',
    ])
    const jsdoc = '/**\n * Batches (zhttp.md\n * 4.8) go out.\n */'
    expect(refs(jsdoc, 'section')).toEqual(['4.8'])
  })
})

describe('docs/zhttp.md', () => {
  test('checklist items are numbered 1, 2, 3, ... without gaps or repeats', () => {
    expect(index.items.length).toBeGreaterThan(0)
    expect(index.items).toEqual(index.items.map((_, i) => i + 1))
  })

  test('sections 1 to 9 each have a heading, with their subsections numbered in order', () => {
    for (let major = 1; major <= 9; major++) expect(index.sections.has(String(major))).toBe(true)
    const subs = [...index.sections].filter((s) => /^\d+\.\d+$/.test(s))
    for (const s of subs) {
      const [major, minor] = s.split('.').map(Number)
      if (minor > 1) expect(index.sections.has(`${major}.${minor - 1}`)).toBe(true)
    }
  })

  test('every section and checklist item cited in the repository exists in the document', () => {
    const cites = repoCitations(REPO, NOT_SCANNED)
    // The code cites the document hundreds of times; finding none means the scan broke.
    expect(cites.length).toBeGreaterThan(100)
    const items = new Set(index.items.map(String))
    const missing = cites
      .filter((c) => (c.kind === 'section' ? !index.sections.has(c.ref) : !items.has(c.ref)))
      .map((c) => `${c.file}:${c.line} cites ${c.kind} ${c.ref}`)
    expect(missing).toEqual([])
  })

  test('its link to the README differences section points at an existing heading', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8')
    const anchors = new Set(
      readme
        .split('\n')
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) =>
          l
            .replace(/^#+ /, '')
            .toLowerCase()
            .replace(/[^a-z0-9 -]/g, '')
            .replace(/ /g, '-'),
        ),
    )
    const links = [...doc.matchAll(/\]\(\.\.\/README\.md#([a-z0-9-]+)\)/g)].map((m) => m[1])
    expect(links.length).toBeGreaterThan(0)
    for (const a of links) expect(anchors.has(a)).toBe(true)
  })
})

describe('docs/*.md', () => {
  test('every file they name exists (after a move, update the docs with the code)', () => {
    // Paths from the repository root, and `dir/file.ts` shorthands for files under src/.
    const named = /\b(?:(?:src|native|test|bench|scripts|docs)\/[A-Za-z0-9_./-]*[A-Za-z0-9_/]|(?:conn|http|ws|tls|zhttp|zmq|time|mem|util)\/[a-z0-9-]+\.(?:ts|c))/g
    const missing: string[] = []
    let count = 0
    for (const name of ['architecture.md', 'zhttp.md']) {
      const text = readFileSync(join(REPO, 'docs', name), 'utf8')
      for (const m of text.matchAll(named)) {
        const path = /^(src|native|test|bench|scripts|docs)\//.test(m[0]) ? m[0] : `src/${m[0]}`
        count++
        if (!existsSync(join(REPO, path))) missing.push(`docs/${name}: ${m[0]}`)
      }
    }
    expect(count).toBeGreaterThan(50)
    expect(missing).toEqual([])
  })
})
