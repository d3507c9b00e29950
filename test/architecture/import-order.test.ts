import path from "node:path";
import { describe as group, expect, it } from "vitest";
import { describe, fileCycles, importGraph, roomOf, SRC, upwardEdges } from "./import-graph.js";

// The design's order: model < runtime, tools (peers) < mcp < agent < gui, http, eval (peers) < cli.
group("the import graph of src/", () => {
  const edges = importGraph();

  it("sees the imports (the parser is not silently finding nothing)", () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges.some((edge) => roomOf(edge.from) === "agent" && roomOf(edge.to) === "mcp")).toBe(true);
  });

  it("has no import that runs up the order or between peer rooms", () => {
    expect(upwardEdges(edges).map(describe)).toEqual([]);
  });

  it("has no file cycles", () => {
    expect(fileCycles(edges).map((cycle) => cycle.map((file) => path.relative(SRC, file)))).toEqual([]);
  });

  it("lets model import nothing of ours but errors.ts", () => {
    const outside = edges.filter(
      (edge) => roomOf(edge.from) === "model" && !["model", "errors"].includes(roomOf(edge.to)),
    );
    expect(outside.map(describe)).toEqual([]);
  });
});

group("the checks themselves", () => {
  const file = (relative: string) => path.join(SRC, relative);

  it("flag an mcp file importing the agent, and peers importing each other", () => {
    const up = upwardEdges([
      { from: file("mcp/a.ts"), to: file("agent/agent.ts"), typeOnly: true },
      { from: file("tools/a.ts"), to: file("runtime/backend.ts"), typeOnly: false },
      { from: file("agent/a.ts"), to: file("mcp/server.ts"), typeOnly: false },
      { from: file("model/a.ts"), to: file("errors.ts"), typeOnly: false },
    ]);
    expect(up.map(describe)).toEqual(["mcp/a.ts → agent/agent.ts (type)", "tools/a.ts → runtime/backend.ts"]);
  });

  it("find a cycle of three files and ignore a chain", () => {
    const cycles = fileCycles([
      { from: "a", to: "b", typeOnly: false },
      { from: "b", to: "c", typeOnly: true },
      { from: "c", to: "a", typeOnly: false },
      { from: "c", to: "d", typeOnly: false },
    ]);
    expect(cycles).toEqual([["a", "b", "c"]]);
  });
});
