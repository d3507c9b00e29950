import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SquintError } from "../../../src/errors.js";
import { float32ToBytes, SafetensorsReader, writeSafetensors } from "../../../src/model/checkpoint/safetensors.js";

const dir = mkdtempSync(join(tmpdir(), "squint-st-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("safetensors", () => {
  it("writes a file that reads back tensor by tensor, in F32, BF16 and F16", async () => {
    const a = Float32Array.from([1, -2, 3.5, 0.25, 100, -0.125]);
    const b = Float32Array.from([0.5, 1.5, -3]);
    const path = join(dir, "x.safetensors");
    const tensors = [
      { name: "a.f32", dtype: "F32" as const, shape: [2, 3] },
      { name: "b.bf16", dtype: "BF16" as const, shape: [3] },
      { name: "c.f16", dtype: "F16" as const, shape: [1, 3] },
    ];
    const data: Record<string, Float32Array> = { "a.f32": a, "b.bf16": b, "c.f16": b };
    await writeSafetensors(path, tensors, (t) => float32ToBytes(t.dtype as "F32" | "BF16" | "F16", data[t.name]!));

    const raw = readFileSync(path);
    const headerLength = Number(raw.readBigUInt64LE(0));
    expect((8 + headerLength) % 8).toBe(0);
    const header = JSON.parse(raw.subarray(8, 8 + headerLength).toString("utf8"));
    expect(header["a.f32"]).toEqual({ dtype: "F32", shape: [2, 3], data_offsets: [0, 24] });
    expect(header["b.bf16"].data_offsets).toEqual([24, 30]);

    const reader = await SafetensorsReader.open(path);
    try {
      expect([...reader.tensors.keys()]).toEqual(["a.f32", "b.bf16", "c.f16"]);
      expect(reader.metadata).toEqual({ format: "pt" });
      expect(Array.from((await reader.readFloat32("a.f32")).data)).toEqual(Array.from(a));
      expect((await reader.readFloat32("b.bf16")).shape).toEqual([3]);
      expect(Array.from((await reader.readFloat32("b.bf16")).data)).toEqual([0.5, 1.5, -3]);
      expect(Array.from((await reader.readFloat32("c.f16")).data)).toEqual([0.5, 1.5, -3]);
      // Row slices read only their bytes, at the right offset, in any dtype.
      expect(Array.from(await reader.readFloat32Rows("a.f32", 1, 1))).toEqual([0.25, 100, -0.125]);
      expect(Array.from(await reader.readFloat32Rows("c.f16", 0, 1))).toEqual([0.5, 1.5, -3]);
      await expect(reader.readFloat32Rows("a.f32", 1, 2)).rejects.toMatchObject({ code: "INTERNAL" });
      const missing = await reader.readFloat32("nope").catch((error: unknown) => error);
      expect(missing).toBeInstanceOf(SquintError);
      expect((missing as SquintError).code).toBe("NOT_FOUND");
    } finally {
      await reader.close();
    }
  });

  it("rejects truncated and non-safetensors files with MODEL_LOAD_FAILED", async () => {
    const good = join(dir, "good.safetensors");
    await writeSafetensors(good, [{ name: "w", dtype: "F32", shape: [64] }], () => new Uint8Array(256));
    const truncated = join(dir, "truncated.safetensors");
    writeFileSync(truncated, readFileSync(good).subarray(0, 100));
    const garbage = join(dir, "garbage.safetensors");
    writeFileSync(garbage, Buffer.from("this is not a safetensors file at all"));
    for (const path of [truncated, garbage]) {
      const error = await SafetensorsReader.open(path).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SquintError);
      expect((error as SquintError).code).toBe("MODEL_LOAD_FAILED");
      expect((error as SquintError).hint).toBeTruthy();
    }
  });

  it("refuses integer tensors as weights with a hint", async () => {
    const path = join(dir, "int.safetensors");
    await writeSafetensors(path, [{ name: "ids", dtype: "I64", shape: [2] }], () => new Uint8Array(16));
    const reader = await SafetensorsReader.open(path);
    try {
      const error = await reader.readFloat32("ids").catch((e: unknown) => e);
      expect((error as SquintError).code).toBe("INVALID_CONFIG");
      expect(Array.from(await reader.readBytes("ids"))).toEqual(new Array(16).fill(0));
    } finally {
      await reader.close();
    }
  });
});
