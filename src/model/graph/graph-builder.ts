import { closeSync, openSync, writeSync } from "node:fs";
import { SquintError } from "../../errors.js";
import { float32ArrayToBytes } from "../checkpoint/float-formats.js";
import {
  ATTRIBUTE_TYPE,
  DATA_LOCATION_EXTERNAL,
  encodeModel,
  ONNX_DTYPE,
  ONNX_DTYPE_BYTES,
  type OnnxDtype,
} from "./onnx-proto.js";

/**
 * A small DSL for writing ONNX graphs: declare inputs and outputs, add nodes with typed attributes, and
 * add weights that go straight to an external-data file as they are added (so a graph with gigabytes of
 * weights is built holding one tensor at a time). `finish()` returns the ModelProto bytes, which only hold
 * the graph structure and small constants.
 */

export type Dim = number | string;

export type Attribute =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "string"; value: string }
  | { kind: "ints"; value: number[] }
  | { kind: "floats"; value: number[] };

export const attr = {
  int: (value: number): Attribute => ({ kind: "int", value }),
  float: (value: number): Attribute => ({ kind: "float", value }),
  string: (value: string): Attribute => ({ kind: "string", value }),
  ints: (value: number[]): Attribute => ({ kind: "ints", value }),
  floats: (value: number[]): Attribute => ({ kind: "floats", value }),
};

export interface NodeOptions {
  domain?: string;
  /** Number of outputs (default 1). Pass "" entries in `inputs` for omitted optional inputs. */
  outputs?: number;
  /** Fixed output names (e.g. graph outputs) instead of generated ones. */
  outputNames?: string[];
}

interface ValueInfo {
  name: string;
  dtype: OnnxDtype;
  shape: Dim[];
}

/** Weights at or above this size go to the external-data file; smaller ones stay inline. */
const EXTERNAL_THRESHOLD_BYTES = 1024;
/** External tensors start at page boundaries so ORT can memory-map them. */
const EXTERNAL_ALIGNMENT = 4096;

export interface GraphBuilderOptions {
  name: string;
  /** Absolute path of the external-data file to create, and its name relative to the model file. */
  externalDataPath: string;
  externalDataLocation: string;
  opset?: number;
  /** Extra operator-set domains used (e.g. com.microsoft). */
  domains?: Record<string, number>;
}

export const DEFAULT_OPSET = 21;

export class GraphBuilder {
  readonly name: string;
  readonly opset: number;
  private readonly nodes: Record<string, unknown>[] = [];
  private readonly initializers: Record<string, unknown>[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly usedNames = new Set<string>();
  private readonly constants = new Map<string, string>();
  private readonly domains: Map<string, number>;
  private readonly externalLocation: string;
  private externalFd: number | undefined;
  private externalOffset = 0;
  private counter = 0;

  constructor(options: GraphBuilderOptions) {
    this.name = options.name;
    this.opset = options.opset ?? DEFAULT_OPSET;
    this.domains = new Map(Object.entries(options.domains ?? {}));
    this.externalLocation = options.externalDataLocation;
    this.externalFd = openSync(options.externalDataPath, "w");
  }

  input(name: string, dtype: OnnxDtype, shape: Dim[]): string {
    this.claim(name);
    this.inputs.push({ name, dtype, shape });
    return name;
  }

  /** Declares a graph output produced by `value` (an Identity node renames it when needed). */
  output(name: string, dtype: OnnxDtype, shape: Dim[], value: string): void {
    if (value !== name) {
      this.claim(name);
      this.nodes.push({ op_type: "Identity", input: [value], output: [name], name: `${name}/identity` });
    }
    this.outputs.push({ name, dtype, shape });
  }

  /** Adds a node; returns its first output's name (see `nodeMulti` for several). */
  node(
    opType: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    options: NodeOptions = {},
  ): string {
    return this.nodeMulti(opType, inputs, attributes, options)[0]!;
  }

  nodeMulti(
    opType: string,
    inputs: string[],
    attributes: Record<string, Attribute> = {},
    options: NodeOptions = {},
  ): string[] {
    const id = this.counter++;
    const count = options.outputNames?.length ?? options.outputs ?? 1;
    const outputs =
      options.outputNames ?? Array.from({ length: count }, (_, i) => `${opType.toLowerCase()}_${id}_${i}`);
    for (const output of outputs) if (output !== "") this.claim(output);
    if (options.domain && !this.domains.has(options.domain)) this.domains.set(options.domain, 1);
    this.nodes.push({
      op_type: opType,
      domain: options.domain ?? "",
      input: inputs,
      output: outputs,
      name: `${opType}_${id}`,
      attribute: Object.entries(attributes).map(([name, value]) => encodeAttribute(name, value)),
    });
    return outputs;
  }

  /** A weight tensor from raw little-endian bytes; large ones are appended to the external-data file now. */
  weight(name: string, dtype: OnnxDtype, dims: number[], bytes: Uint8Array): string {
    this.claim(name);
    const expected = dims.reduce((a, b) => a * b, 1) * ONNX_DTYPE_BYTES[dtype];
    if (bytes.byteLength !== expected) {
      throw new SquintError(
        "INTERNAL",
        `weight ${name}: ${bytes.byteLength} bytes for ${dtype} ${JSON.stringify(dims)}`,
      );
    }
    if (bytes.byteLength < EXTERNAL_THRESHOLD_BYTES) {
      this.initializers.push({ name, data_type: ONNX_DTYPE[dtype], dims, raw_data: bytes });
      return name;
    }
    const fd = this.requireExternal();
    this.alignExternal(fd);
    let written = 0;
    while (written < bytes.byteLength) written += writeSync(fd, bytes, written, bytes.byteLength - written);
    this.initializers.push(
      externalInitializer(name, dtype, dims, this.externalLocation, this.externalOffset, bytes.byteLength),
    );
    this.externalOffset += bytes.byteLength;
    return name;
  }

  /**
   * A weight written to the external-data file chunk by chunk as `chunks` yields them (always external,
   * whatever its size), so a tensor larger than memory can pass through.
   */
  async weightFromChunks(
    name: string,
    dtype: OnnxDtype,
    dims: number[],
    chunks: AsyncIterable<Uint8Array>,
  ): Promise<string> {
    this.claim(name);
    const expected = dims.reduce((a, b) => a * b, 1) * ONNX_DTYPE_BYTES[dtype];
    const fd = this.requireExternal();
    this.alignExternal(fd);
    const offset = this.externalOffset;
    let length = 0;
    for await (const chunk of chunks) {
      let written = 0;
      while (written < chunk.byteLength) written += writeSync(fd, chunk, written, chunk.byteLength - written);
      length += chunk.byteLength;
    }
    if (length !== expected) {
      throw new SquintError("INTERNAL", `weight ${name}: ${length} bytes for ${dtype} ${JSON.stringify(dims)}`);
    }
    this.initializers.push(externalInitializer(name, dtype, dims, this.externalLocation, offset, length));
    this.externalOffset += length;
    return name;
  }

  /** A small int64 constant (deduplicated). */
  int64(values: number[], dims: number[] = [values.length]): string {
    const key = `i64:${dims.join("x")}:${values.join(",")}`;
    const existing = this.constants.get(key);
    if (existing) return existing;
    const bytes = new Uint8Array(values.length * 8);
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
    const name = this.uniqueName("const_i64");
    this.claim(name);
    this.initializers.push({ name, data_type: ONNX_DTYPE.int64, dims, raw_data: bytes });
    this.constants.set(key, name);
    return name;
  }

  /** A float32 constant (deduplicated when small). */
  float32(values: Float32Array | number[], dims: number[] = [values.length]): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    const key = data.length <= 16 ? `f32:${dims.join("x")}:${Array.from(data).join(",")}` : undefined;
    const existing = key ? this.constants.get(key) : undefined;
    if (existing) return existing;
    const bytes = float32ArrayToBytes(data);
    const name = this.uniqueName("const_f32");
    this.weight(name, "float32", dims, bytes);
    if (key) this.constants.set(key, name);
    return name;
  }

  /** The ModelProto bytes; closes the external-data file. */
  finish(metadata: Record<string, string> = {}): Uint8Array {
    if (this.externalFd !== undefined) {
      closeSync(this.externalFd);
      this.externalFd = undefined;
    }
    const opsetImport = [{ domain: "", version: this.opset }];
    for (const [domain, version] of this.domains) opsetImport.push({ domain, version });
    return encodeModel({
      ir_version: 10,
      producer_name: "squint",
      producer_version: "0.1.0",
      opset_import: opsetImport,
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs.map(valueInfo),
        output: this.outputs.map(valueInfo),
      },
    });
  }

  /** Bytes written to the external-data file so far. */
  get externalBytes(): number {
    return this.externalOffset;
  }

  uniqueName(prefix: string): string {
    let name = `${prefix}_${this.counter++}`;
    while (this.usedNames.has(name)) name = `${prefix}_${this.counter++}`;
    return name;
  }

  private claim(name: string): void {
    if (this.usedNames.has(name))
      throw new SquintError("INTERNAL", `graph ${this.name}: value "${name}" defined twice`);
    this.usedNames.add(name);
  }

  private alignExternal(fd: number): void {
    const padding = (EXTERNAL_ALIGNMENT - (this.externalOffset % EXTERNAL_ALIGNMENT)) % EXTERNAL_ALIGNMENT;
    if (padding > 0) {
      writeSync(fd, new Uint8Array(padding));
      this.externalOffset += padding;
    }
  }

  private requireExternal(): number {
    if (this.externalFd === undefined) throw new SquintError("INTERNAL", `graph ${this.name} is already finished`);
    return this.externalFd;
  }
}

function externalInitializer(
  name: string,
  dtype: OnnxDtype,
  dims: number[],
  location: string,
  offset: number,
  length: number,
): Record<string, unknown> {
  return {
    name,
    data_type: ONNX_DTYPE[dtype],
    dims,
    data_location: DATA_LOCATION_EXTERNAL,
    external_data: [
      { key: "location", value: location },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(length) },
    ],
  };
}

function encodeAttribute(name: string, value: Attribute): Record<string, unknown> {
  switch (value.kind) {
    case "int":
      return { name, type: ATTRIBUTE_TYPE.INT, i: value.value };
    case "float":
      return { name, type: ATTRIBUTE_TYPE.FLOAT, f: value.value };
    case "string":
      return { name, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(value.value) };
    case "ints":
      return { name, type: ATTRIBUTE_TYPE.INTS, ints: value.value };
    case "floats":
      return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: value.value };
  }
}

function valueInfo(info: ValueInfo): Record<string, unknown> {
  return {
    name: info.name,
    type: {
      tensor_type: {
        elem_type: ONNX_DTYPE[info.dtype],
        shape: { dim: info.shape.map((d) => (typeof d === "number" ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}
