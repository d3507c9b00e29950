import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { attr, GraphBuilder } from "../../../src/model/graph/graph-builder.js";
import { decodeModel, encodeModel } from "../../../src/model/graph/onnx-proto.js";

describe("onnx.proto subset", () => {
  it("round-trips a ModelProto through protobufjs", () => {
    const model = {
      ir_version: 10,
      producer_name: "squint",
      opset_import: [
        { domain: "", version: 21 },
        { domain: "com.microsoft", version: 1 },
      ],
      graph: {
        name: "g",
        node: [{ op_type: "Add", input: ["a", "b"], output: ["c"], attribute: [{ name: "axis", type: 2, i: -1 }] }],
        input: [
          {
            name: "a",
            type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: "N" }, { dim_value: 4 }] } } },
          },
        ],
      },
    };
    const decoded = decodeModel(encodeModel(model)) as typeof model & {
      graph: { node: { attribute: { i: number }[] }[] };
    };
    expect(decoded.ir_version).toBe(10);
    expect(decoded.opset_import).toEqual([{ version: 21 }, { domain: "com.microsoft", version: 1 }]);
    expect(decoded.graph.node[0]!.attribute[0]!.i).toBe(-1);
    expect(decoded.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: "N" }, { dim_value: 4 }]);
  });

  it("GraphBuilder puts large weights in page-aligned external data and keeps small ones inline", () => {
    const dir = mkdtempSync(join(tmpdir(), "squint-proto-"));
    const g = new GraphBuilder({ name: "w", externalDataPath: join(dir, "w.data"), externalDataLocation: "w.data" });
    const x = g.input("x", "float32", ["N", 512]);
    const big1 = g.weight("big1", "float32", [512], new Uint8Array(2048).fill(1));
    const big2 = g.weight("big2", "float32", [512], new Uint8Array(2048).fill(2));
    const small = g.float32([1, 2, 3]);
    g.output("y", "float32", ["N", 512], g.node("Add", [g.node("Add", [x, big1]), big2]));
    g.node("Identity", [small]);
    const decoded = decodeModel(g.finish({ note: "test" })) as {
      graph: {
        initializer: { name: string; raw_data?: Uint8Array; external_data?: { key: string; value: string }[] }[];
      };
      metadata_props: { key: string; value: string }[];
    };
    const byName = new Map(decoded.graph.initializer.map((t) => [t.name, t]));
    const offsets = ["big1", "big2"].map((name) =>
      Object.fromEntries((byName.get(name)!.external_data ?? []).map((e) => [e.key, e.value])),
    );
    expect(offsets[0]).toEqual({ location: "w.data", offset: "0", length: "2048" });
    expect(offsets[1]).toEqual({ location: "w.data", offset: "4096", length: "2048" });
    expect(byName.get(small)!.raw_data?.length).toBe(12);
    expect(statSync(join(dir, "w.data")).size).toBe(4096 + 2048);
    expect(readFileSync(join(dir, "w.data"))[4096]).toBe(2);
    expect(decoded.metadata_props).toEqual([{ key: "note", value: "test" }]);
  });

  it("refuses to define a value twice", () => {
    const dir = mkdtempSync(join(tmpdir(), "squint-proto-"));
    const g = new GraphBuilder({ name: "dup", externalDataPath: join(dir, "d.data"), externalDataLocation: "d.data" });
    g.input("x", "float32", [1]);
    expect(() => g.input("x", "float32", [1])).toThrow(/defined twice/);
    expect(() => g.node("Relu", ["x"], { alpha: attr.float(1) }, { outputNames: ["x"] })).toThrow(/defined twice/);
    g.finish();
  });
});
