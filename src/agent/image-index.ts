import type { ContentPart, Message } from "../model/messages.js";

/**
 * The model's view of images: `img_idx` counts every image that has appeared in the conversation, in order,
 * user images and tool results alike (Qwen-Agent's `extract_images_from_messages`, spec §7). Indices are
 * stable for the whole run: an image elided to save visual tokens keeps its index, so the model's earlier
 * reasoning ("image 3 shows...") stays true and it can still name that image in a tool call.
 */
export interface ImageEntry {
  index: number;
  storeId: string;
  width: number;
  height: number;
  origin: "user" | "tool";
  /** For tool images: the image the tool worked on, the tool, and the box/label the model asked for. */
  parentIndex?: number;
  tool?: string;
  bbox?: number[];
  label?: string;
  state: "full" | "shrunk" | "elided";
  /** Pixel cap the model's processor applies while shrunk. */
  maxPixels?: number;
}

export type NewImage = Omit<ImageEntry, "index" | "state">;

/** Adds an image (or finds it when the same store id is already there: Qwen-Agent de-duplicates). */
export function addImage(entries: ImageEntry[], image: NewImage): { entries: ImageEntry[]; index: number } {
  const existing = entries.find((entry) => entry.storeId === image.storeId);
  if (existing) return { entries, index: existing.index };
  const index = entries.length;
  return { entries: [...entries, { ...image, index, state: "full" }], index };
}

/** One line that stands in for an elided image, saying what it was so the model can ask for it again. */
export function elisionRecord(entry: ImageEntry): string {
  const what =
    entry.origin === "user"
      ? `image ${entry.index} (${entry.width}x${entry.height})`
      : entry.bbox && entry.parentIndex !== undefined
        ? `crop ${entry.index} of image ${entry.parentIndex} at [${entry.bbox.join(",")}]`
        : `image ${entry.index} from ${entry.tool ?? "a tool"}${entry.parentIndex === undefined ? "" : ` on image ${entry.parentIndex}`}`;
  const label = entry.label ? `, label '${entry.label}'` : "";
  return `[${what}${label}: elided to save space; img_idx ${entry.index} still refers to it]`;
}

/** Rewrites the image parts of a conversation to match the entries' states (shrunk: pixel cap; elided: record). */
export function applyImageStates(messages: Message[], entries: ImageEntry[]): Message[] {
  const byStoreId = new Map(entries.map((entry) => [entry.storeId, entry]));
  const rewrite = (part: ContentPart): ContentPart => {
    if (part.type !== "image") return part;
    const entry = byStoreId.get(part.image);
    if (!entry || entry.state === "full") return part;
    if (entry.state === "elided") return { type: "text", text: elisionRecord(entry) };
    return { ...part, maxPixels: entry.maxPixels };
  };
  return messages.map((message) => {
    if (typeof message.content === "string") return message;
    if (!message.content.some((part) => part.type === "image" && byStoreId.get(part.image)?.state !== "full")) {
      return message;
    }
    return { ...message, content: message.content.map(rewrite) } as Message;
  });
}
