/**
 * The import graph of src/: which file imports which, and which of those edges run against the design's order
 * (model < runtime, tools < mcp < agent < gui, http, eval < cli). Used by the import-order test, and runnable
 * on its own (`npx tsx test/architecture/import-graph.ts`) to print the counts.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

export const SRC = path.resolve(import.meta.dirname, "../../src");

/** Rank of each room; an import may go to a lower rank, or to the same room. Equal ranks of different rooms are peers and must not import each other. */
const RANK: Record<string, number> = {
  errors: 0,
  model: 1,
  runtime: 2,
  tools: 2,
  mcp: 3,
  agent: 4,
  gui: 5,
  http: 5,
  eval: 5,
  cli: 6,
  index: 7,
};

export interface ImportEdge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** The room of a src/ file: its top-level folder, or "errors"/"index" for those two root files. */
export function roomOf(file: string): string {
  const [first] = path.relative(SRC, file).split(path.sep);
  return first.replace(/\.ts$/, "");
}

function resolveRelative(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith(".")) return undefined;
  const target = path.resolve(path.dirname(from), specifier).replace(/\.js$/, ".ts");
  return target.endsWith(".ts") ? target : path.join(target, "index.ts");
}

/** Every relative import of one file: static imports and re-exports, `import type`, and dynamic `import()`. */
function importsOf(file: string): ImportEdge[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const edges: ImportEdge[] = [];
  const add = (specifier: string, typeOnly: boolean) => {
    const to = resolveRelative(file, specifier);
    if (to) edges.push({ from: file, to, typeOnly });
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.importClause?.isTypeOnly ?? false);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

export function importGraph(): ImportEdge[] {
  return sourceFiles(SRC).flatMap(importsOf);
}

/** Edges that run up the order, or sideways between peer rooms. */
export function upwardEdges(edges: ImportEdge[]): ImportEdge[] {
  return edges.filter((edge) => {
    const from = roomOf(edge.from);
    const to = roomOf(edge.to);
    if (from === to) return false;
    const fromRank = RANK[from];
    const toRank = RANK[to];
    if (fromRank === undefined || toRank === undefined) return true; // a new room must be placed in the order first
    return toRank >= fromRank;
  });
}

/** Groups of files that import each other, directly or around a loop (Tarjan's strongly connected components, size > 1). */
export function fileCycles(edges: ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const edge of edges) next.set(edge.from, [...(next.get(edge.from) ?? []), edge.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let counter = 0;
  const connect = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to);
        low.set(node, Math.min(low.get(node) as number, low.get(to) as number));
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node) as number, index.get(to) as number));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        group.push(member);
      } while (member !== node);
      if (group.length > 1) cycles.push(group.sort());
    }
  };
  for (const node of next.keys()) if (!index.has(node)) connect(node);
  return cycles;
}

export function describe(edge: ImportEdge): string {
  return `${path.relative(SRC, edge.from)} → ${path.relative(SRC, edge.to)}${edge.typeOnly ? " (type)" : ""}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const edges = importGraph();
  const up = upwardEdges(edges);
  const cycles = fileCycles(edges);
  console.log(`${edges.length} imports; ${up.length} run up the order; ${cycles.length} file cycles`);
  for (const edge of up) console.log(`  up: ${describe(edge)}`);
  for (const cycle of cycles) console.log(`  cycle: ${cycle.map((file) => path.relative(SRC, file)).join(", ")}`);
}
