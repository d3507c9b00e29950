import type { AgentResult } from "../../src/agent/run.js";
import { applyToBox } from "../../src/tools/geometry.js";
import type { ImageStore } from "../../src/tools/store/image-store.js";
import { answerReply, type ScriptEntry, toolCallReply } from "../support/scripted-backend.js";

/** Zoom into the red block, zoom into that crop, answer: the script the resume test runs in two processes. */
export function zoomTwiceScript(): ScriptEntry[] {
  return [
    toolCallReply("Look closer.", "image_zoom_in_tool", { bbox_2d: [500, 300, 600, 500], label: "block", img_idx: 0 }),
    toolCallReply("Closer still.", "image_zoom_in_tool", {
      bbox_2d: [250, 250, 750, 750],
      label: "middle",
      img_idx: 1,
    }),
    answerReply("It is red.", "A red block."),
  ];
}

/** What must agree between an uninterrupted run and a resumed one (store ids may differ between processes). */
export function comparableResult(result: AgentResult, store: ImageStore) {
  return {
    status: result.status,
    answer: result.answer,
    steps: result.steps.map((step) => ({ text: step.text, calls: step.calls.map((call) => [call.toolName, call.ok]) })),
    images: result.images.map((image) => {
      const info = store.get(image.storeId);
      const box = applyToBox(info.toOriginal, { x1: 0, y1: 0, x2: info.width, y2: info.height });
      return {
        index: image.index,
        origin: image.origin,
        parentIndex: image.parentIndex ?? null,
        size: [image.width, image.height],
        original: [box.x1, box.y1, box.x2, box.y2].map((value) => Math.round(value * 100) / 100),
      };
    }),
  };
}
