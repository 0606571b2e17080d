// The shape of src/ (docs/architecture.md): imports point one way, with no cycle among the
// modules (type-only imports count: they couple files as much as any other), and no source
// file grows past the size one reader can hold. A change that adds a cycle or an oversized
// file fails here with the files named.

import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'

const REPO = join(import.meta.dir, '..', '..')
/** The guide is ~500 lines a file; past this a file must be split by job. */
const SOURCE_FILE_LINES_MAX = 600

/** Every file below dir whose name ends with one of `exts`, as repo-relative paths. */
function filesUnder(dir: string, exts: string[]): string[] {
  const out: string[] = []
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name)
      if (statSync(p).isDirectory()) walk(p)
      else if (exts.some((e) => name.endsWith(e))) out.push(relative(REPO, p))
    }
  }
  walk(join(REPO, dir))
  return out.sort()
}

const IMPORT_RE = /^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]/gm

/** Relative imports of each src/ file, resolved to repo-relative paths of src/ files. */
function importGraph(): Map<string, string[]> {
  const files = filesUnder('src', ['.ts'])
  const known = new Set(files)
  const graph = new Map<string, string[]>()
  for (const f of files) {
    const text = readFileSync(join(REPO, f), 'utf8')
    const targets: string[] = []
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = (m[1] ?? m[2]) as string
      const base = normalize(join(dirname(f), spec))
      const hit = [base, `${base}.ts`, join(base, 'index.ts')].find((c) => known.has(c))
      if (hit !== undefined) targets.push(hit)
    }
    graph.set(f, targets)
  }
  return graph
}

/** Strongly connected components with more than one file (Tarjan), each sorted. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const onStack = new Set<string>()
  const stack: string[] = []
  const found: string[][] = []
  let next = 0
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next)
    next++
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number))
      }
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = []
      for (;;) {
        const w = stack.pop() as string
        onStack.delete(w)
        comp.push(w)
        if (w === v) break
      }
      if (comp.length > 1) found.push(comp.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

describe('structure of src/', () => {
  test('the import reader sees the imports (a sanity check of the regex)', () => {
    const graph = importGraph()
    expect(graph.get('src/conn/server.ts')).toContain('src/conn/connection.ts')
    // A type-only import is an edge too.
    expect(graph.get('src/conn/stream-state.ts')).toContain('src/conn/worker-context.ts')
  })

  test('the cycle finder finds a cycle it is given', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ])
    expect(cycles(g)).toEqual([['a', 'b', 'c']])
  })

  test('no import cycle among the modules', () => {
    expect(cycles(importGraph())).toEqual([])
  })

  test(`no source file over ${SOURCE_FILE_LINES_MAX} lines`, () => {
    const files = [...filesUnder('src', ['.ts']), ...filesUnder('native', ['.c', '.h'])]
    const big = files
      .map((f) => ({ f, lines: readFileSync(join(REPO, f), 'utf8').split('\n').length - 1 }))
      .filter((x) => x.lines > SOURCE_FILE_LINES_MAX)
      .map((x) => `${x.f} (${x.lines} lines)`)
    expect(big).toEqual([])
  })
})
