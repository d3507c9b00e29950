import protobuf from "protobufjs";

/**
 * The subset of onnx.proto (ONNX IR) the graph builder writes, with the official field numbers, so the
 * bytes are a valid ModelProto for any ONNX reader. Only what Squint emits is declared: no sparse tensors,
 * no functions, no training info.
 */
const ONNX_SUBSET = `
syntax = "proto3";
package onnx;

message StringStringEntryProto { string key = 1; string value = 2; }

message OperatorSetIdProto { string domain = 1; int64 version = 2; }

message TensorShapeProto {
  message Dimension { int64 dim_value = 1; string dim_param = 2; string denotation = 3; }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  Tensor tensor_type = 1;
}

message ValueInfoProto { string name = 1; TypeProto type = 2; string doc_string = 3; }

message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated int64 int64_data = 7 [packed = true];
  string name = 8;
  bytes raw_data = 9;
  string doc_string = 12;
  repeated StringStringEntryProto external_data = 13;
  int32 data_location = 14;
}

message AttributeProto {
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  string doc_string = 13;
  int32 type = 20;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string doc_string = 6;
  string domain = 7;
}

message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  string producer_version = 3;
  string domain = 4;
  int64 model_version = 5;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

/** TensorProto.DataType values (onnx.proto). */
export const ONNX_DTYPE = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
} as const;
export type OnnxDtype = keyof typeof ONNX_DTYPE;

export const ONNX_DTYPE_BYTES: Record<OnnxDtype, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
  bfloat16: 2,
};

/** AttributeProto.AttributeType values. */
export const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** TensorProto.DataLocation.EXTERNAL */
export const DATA_LOCATION_EXTERNAL = 1;

let cachedRoot: protobuf.Root | undefined;

function root(): protobuf.Root {
  cachedRoot ??= protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
  return cachedRoot;
}

export function modelProtoType(): protobuf.Type {
  return root().lookupType("onnx.ModelProto");
}

/** Encodes a plain-object ModelProto (field names as in onnx.proto). */
export function encodeModel(model: Record<string, unknown>): Uint8Array {
  const type = modelProtoType();
  const message = type.fromObject(model);
  return type.encode(message).finish();
}

/** Decodes ModelProto bytes into a plain object (int64 as numbers, bytes as Uint8Array); for tests and tools. */
export function decodeModel(bytes: Uint8Array): Record<string, unknown> {
  const type = modelProtoType();
  return type.toObject(type.decode(bytes), {
    longs: Number,
    bytes: Uint8Array,
    defaults: false,
    arrays: true,
  }) as Record<string, unknown>;
}
