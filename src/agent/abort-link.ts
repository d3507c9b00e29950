/**
 * A run's own AbortSignal, following the caller's. Many runs (or eval items, or ask_image calls) often share one
 * caller signal; giving each its own listener on it piles up listeners (Node warns past ten) and keeps every
 * finished run reachable from the caller's signal. Instead each caller signal gets one listener that fans out to
 * the runs still linked to it, and a run unlinks itself when it ends.
 */

const linked = new WeakMap<AbortSignal, Set<() => void>>();

export interface AbortLink {
  signal: AbortSignal;
  /** Stops following the caller's signal (call when the run ends). */
  unlink(): void;
}

export function linkAbort(parent: AbortSignal | undefined): AbortLink {
  const controller = new AbortController();
  if (!parent) return { signal: controller.signal, unlink() {} };
  if (parent.aborted) {
    controller.abort(parent.reason);
    return { signal: controller.signal, unlink() {} };
  }
  let followers = linked.get(parent);
  if (!followers) {
    const set = new Set<() => void>();
    followers = set;
    linked.set(parent, set);
    parent.addEventListener(
      "abort",
      () => {
        for (const follow of [...set]) follow();
        set.clear();
      },
      { once: true },
    );
  }
  const follow = () => controller.abort(parent.reason);
  followers.add(follow);
  const set = followers;
  return { signal: controller.signal, unlink: () => set.delete(follow) };
}
