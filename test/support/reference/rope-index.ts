/**
 * The reference's own `get_rope_index` (spec §4.2): 3-row position ids and rope_delta for one unpadded
 * sequence. Independent of src/model/positions.ts so that each can check the other.
 */
export interface VisualGrid {
  /** Temporal patches (1 for an image; frames/2 for a video), and patch rows/cols before merging. */
  t: number;
  h: number;
  w: number;
}

export interface RopeIndex {
  /** rows[axis][i]: T, H, W position of token i. */
  rows: [number[], number[], number[]];
  ropeDelta: number;
}

/**
 * `grids` lists the visual inputs in the order their pad tokens appear (images and videos interleaved as
 * in the sequence). A video grid (t, h, w) stands for t consecutive blocks of (1, h, w), each its own
 * `<|vision_start|>…<|vision_end|>` run with its own timestamp text before it.
 */
export function referenceRopeIndex(
  ids: readonly number[],
  grids: readonly VisualGrid[],
  visualTokenIds: ReadonlySet<number>,
  mergeSize: number,
): RopeIndex {
  const blocks: VisualGrid[] = [];
  for (const g of grids) for (let k = 0; k < g.t; k++) blocks.push({ t: 1, h: g.h, w: g.w });
  const rows: [number[], number[], number[]] = [[], [], []];
  let next = 0;
  let i = 0;
  let blockIndex = 0;
  const push = (t: number, h: number, w: number) => {
    rows[0].push(t);
    rows[1].push(h);
    rows[2].push(w);
  };
  while (i < ids.length) {
    if (!visualTokenIds.has(ids[i])) {
      push(next, next, next);
      next++;
      i++;
      continue;
    }
    const block = blocks[blockIndex++];
    if (!block) throw new Error(`referenceRopeIndex: more visual blocks in the ids than grids (at token ${i})`);
    const gh = block.h / mergeSize;
    const gw = block.w / mergeSize;
    let max = next - 1;
    for (let r = 0; r < gh; r++) {
      for (let c = 0; c < gw; c++) {
        if (!visualTokenIds.has(ids[i])) throw new Error(`referenceRopeIndex: visual block ends early at token ${i}`);
        push(next, next + r, next + c);
        max = Math.max(max, next + r, next + c);
        i++;
      }
    }
    next = max + 1;
  }
  if (blockIndex !== blocks.length)
    throw new Error(`referenceRopeIndex: ${blocks.length - blockIndex} grids left unused`);
  return { rows, ropeDelta: next - ids.length };
}
