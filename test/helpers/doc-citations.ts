// Citations of docs/zhttp.md in the repository's code and docs, and the sections and checklist
// items that document actually has. Used by test/unit/docs-references.test.ts, which fails
// when the code cites a section or item the document lacks.
//
// Forms recognised (a citation may wrap onto the next comment line):
//   zhttp.md 4.7 / zhttp.md section 5 / zhttp.md sections 1.5, 4.1 / zhttp.md 5.3-5.6 /
//   zhttp.md 1.2 / 1.3 / zhttp.md 6 and 7.1 / zhttp.md Appendix A
//   checklist 72 / checklist items 52-72, 115 and 116 / (lifecycle) item 60
// A bare "item N" right after an RFC reference ("RFC 9112 6.3 item 5") is the RFC's, not ours.

import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

/** One cited section (`4.7`, `5`, `Appendix A`) or checklist item, and where. */
export interface Citation {
  kind: 'section' | 'item'
  ref: string
  file: string
  line: number
}

/** What docs/zhttp.md provides. */
export interface DocIndex {
  /** Section numbers from `## N.` and `### N.M` headings, and `Appendix X`. */
  sections: Set<string>
  /** Checklist item numbers, in document order. */
  items: number[]
}

/** Directories and files scanned for citations, relative to the repository root. */
export const CITATION_ROOTS = ['src', 'test', 'bench', 'scripts', 'native', 'docs', 'README.md']
const SKIP_DIRS = new Set(['node_modules', 'fixtures', '.git'])
/** Files larger than this are data, not code or prose. */
const SCANNED_FILE_SIZE_MAX_BYTES = 1 << 20

const SECTION = String.raw`(?:\d+(?:\.\d+)?|Appendix [A-Z])`
const SECTION_RANGE = String.raw`${SECTION}(?:\s*-\s*\d+(?:\.\d+)?)?`
const SECTION_LIST = new RegExp(
  String.raw`zhttp\.md(?:\s+sections?)?\s+(${SECTION_RANGE}(?:\s*(?:,|/|and)\s*${SECTION_RANGE})*)`,
  'g',
)
const ITEM_RANGE = String.raw`\d+(?:\s*-\s*\d+)?`
const ITEM_LIST = new RegExp(
  String.raw`\b(checklist(?:\s+items?)?|items?)\s+(${ITEM_RANGE}(?:\s*(?:,|and)\s*${ITEM_RANGE})*)`,
  'gi',
)
/** How far back an RFC reference makes a bare "item N" the RFC's own. */
const RFC_LOOKBACK_CHARS = 24

/**
 * Joins wrapped comment lines (a line break, indentation and a `//`, `*` or `#` marker become
 * one space) and keeps, for each character of the result, the line it came from.
 */
function unwrap(text: string): { flat: string; lineAt: Int32Array } {
  const out: string[] = []
  const lines: number[] = []
  let line = 1
  const re = /\n[ \t]*(?:\/\/+|\*(?!\/)|#)?[ \t]*/y
  for (let i = 0; i < text.length; ) {
    re.lastIndex = i
    const m = re.exec(text)
    if (m !== null) {
      out.push(' ')
      lines.push(line)
      line++
      i += m[0].length
      continue
    }
    out.push(text[i])
    lines.push(line)
    i++
  }
  return { flat: out.join(''), lineAt: Int32Array.from(lines) }
}

/** Expands `4.4-4.12` within one major number; other ranges yield their two ends. */
function expandSections(range: string): string[] {
  const [a, b] = range.split('-').map((s) => s.trim())
  if (b === undefined) return [a]
  const ma = /^(\d+)\.(\d+)$/.exec(a)
  const mb = /^(\d+)\.(\d+)$/.exec(b)
  if (ma !== null && mb !== null && ma[1] === mb[1] && Number(ma[2]) <= Number(mb[2])) {
    const out: string[] = []
    for (let k = Number(ma[2]); k <= Number(mb[2]); k++) out.push(`${ma[1]}.${k}`)
    return out
  }
  return [a, b]
}

function expandItems(range: string): number[] {
  const [a, b] = range.split('-').map((s) => Number(s.trim()))
  if (b === undefined || b < a) return [a]
  const out: number[] = []
  for (let k = a; k <= b; k++) out.push(k)
  return out
}

/** Every citation of docs/zhttp.md in `text` (the contents of `file`). */
export function extractCitations(text: string, file: string): Citation[] {
  const { flat, lineAt } = unwrap(text)
  const out: Citation[] = []
  for (const m of flat.matchAll(SECTION_LIST)) {
    const line = lineAt[m.index as number]
    for (const part of m[1].split(/\s*(?:,|\/|\band\b)\s*/)) {
      for (const ref of expandSections(part)) out.push({ kind: 'section', ref, file, line })
    }
  }
  for (const m of flat.matchAll(ITEM_LIST)) {
    const at = m.index as number
    const bare = !/^checklist/i.test(m[1])
    if (bare && /RFC\s+\d/.test(flat.slice(Math.max(0, at - RFC_LOOKBACK_CHARS), at))) continue
    const line = lineAt[at]
    for (const part of m[2].split(/\s*(?:,|\band\b)\s*/)) {
      for (const n of expandItems(part)) out.push({ kind: 'item', ref: String(n), file, line })
    }
  }
  return out
}

/** Sections and checklist items of a zhttp.md text. */
export function indexDoc(doc: string): DocIndex {
  const sections = new Set<string>()
  const items: number[] = []
  let inChecklist = false
  for (const line of doc.split('\n')) {
    const h = /^#{2,3} (\d+(?:\.\d+)?)\.? /.exec(line)
    if (h !== null) {
      sections.add(h[1])
      inChecklist = h[1] === '9'
      continue
    }
    const a = /^## (Appendix [A-Z])\./.exec(line)
    if (a !== null) {
      sections.add(a[1])
      inChecklist = false
      continue
    }
    if (/^## /.test(line)) inChecklist = false
    const item = inChecklist ? /^(\d+)\. \S/.exec(line) : null
    if (item !== null) items.push(Number(item[1]))
  }
  return { sections, items }
}

/** Text files under the citation roots of `repo`, minus `exclude` (repo-relative paths). */
export function scannedFiles(repo: string, exclude: string[]): string[] {
  const out: string[] = []
  const visit = (path: string): void => {
    const st = statSync(path, { throwIfNoEntry: false })
    if (st === undefined) return
    if (st.isDirectory()) {
      for (const name of readdirSync(path).sort()) {
        if (!SKIP_DIRS.has(name)) visit(join(path, name))
      }
      return
    }
    const rel = relative(repo, path)
    if (st.isFile() && st.size <= SCANNED_FILE_SIZE_MAX_BYTES && !exclude.includes(rel)) out.push(rel)
  }
  for (const root of CITATION_ROOTS) visit(join(repo, root))
  return out
}

/** Every citation in the scanned files of `repo`. */
export function repoCitations(repo: string, exclude: string[]): Citation[] {
  const out: Citation[] = []
  for (const rel of scannedFiles(repo, exclude)) {
    const text = readFileSync(join(repo, rel), 'utf8')
    if (text.includes('\u0000')) continue // binary
    out.push(...extractCitations(text, rel))
  }
  return out
}
