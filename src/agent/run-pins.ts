import type { ImageStore } from "../tools/store/image-store.js";
import type { ImageEntry } from "./image-index.js";

/**
 * The pins one run holds on its images. The store evicts unpinned pixels (least recently used) when it is over
 * its memory budget; a crop the conversation still shows must not be among them. The run pins each image once,
 * when it joins the conversation, lets it go once the visual budget elides it (the model no longer sees its
 * pixels), and releases the rest when it ends. So what a run holds is bounded by its visual budget; with no
 * visual budget, the store's byte budget refuses new images with OUT_OF_MEMORY_BUDGET rather than evicting.
 */
export class RunPins {
  readonly #store: ImageStore;
  readonly #held = new Set<string>();

  constructor(store: ImageStore) {
    this.#store = store;
  }

  /** Pins what the model still sees (full or shrunk); lets go of what the visual budget elided. */
  hold(images: readonly ImageEntry[]): void {
    for (const image of images) {
      const held = this.#held.has(image.storeId);
      if (image.state === "elided") {
        if (held) {
          this.#store.release(image.storeId);
          this.#held.delete(image.storeId);
        }
      } else if (!held && this.#store.has(image.storeId)) {
        this.#store.retain(image.storeId);
        this.#held.add(image.storeId);
      }
    }
  }

  releaseAll(): void {
    for (const id of this.#held) this.#store.release(id);
    this.#held.clear();
  }
}
