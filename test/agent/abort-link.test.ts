import { describe, expect, it } from "vitest";
import { linkAbort } from "../../src/agent/abort-link.js";

describe("linkAbort", () => {
  it("follows the caller's signal with its reason, and stops following once unlinked", () => {
    const caller = new AbortController();
    const kept = linkAbort(caller.signal);
    const left = linkAbort(caller.signal);
    left.unlink();
    caller.abort("enough");
    expect(kept.signal.aborted).toBe(true);
    expect(kept.signal.reason).toBe("enough");
    expect(left.signal.aborted).toBe(false);
  });

  it("starts aborted under an aborted signal, and never aborts without one", () => {
    expect(linkAbort(AbortSignal.abort("gone")).signal.reason).toBe("gone");
    const alone = linkAbort(undefined);
    alone.unlink();
    expect(alone.signal.aborted).toBe(false);
  });
});
