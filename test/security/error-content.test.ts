import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isSquintError } from "../../src/errors.js";
import { createToolContext } from "../../src/tools/context.js";
import { defaultSourcePolicy } from "../../src/tools/sources/policy.js";
import { ImageStore } from "../../src/tools/store/image-store.js";

/**
 * Issue 10: an error about a file that is not an image carried its first bytes (as hex in `details`), so a
 * tool call naming a key or a password file leaked its start. No error may carry any of a file's content.
 */
describe("errors about non-image files carry none of their bytes", () => {
  const dir = mkdtempSync(join(tmpdir(), "squint-leak-"));
  const secrets = {
    "passwd.png": "root:x:0:0:root:/root:/bin/bash\n",
    "id_rsa.jpg": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n",
    "token.webp": "sk-live-0123456789abcdef",
  };
  for (const [name, text] of Object.entries(secrets)) writeFileSync(join(dir, name), text);

  it.each(Object.entries(secrets))("%s", async (name, text) => {
    const context = createToolContext({
      store: new ImageStore(),
      policy: defaultSourcePolicy({ allowedDirs: [dir] }),
    });
    let thrown: unknown;
    try {
      await context.resolveImage(join(dir, name));
    } catch (error) {
      thrown = error;
    }
    expect(isSquintError(thrown)).toBe(true);
    const wire = JSON.stringify(thrown) + String((thrown as Error).message);
    const bytes = Buffer.from(text);
    // Not the text, not any 4-byte window of it, and not its first bytes as hex either.
    for (let i = 0; i + 4 <= bytes.length; i++) expect(wire).not.toContain(bytes.subarray(i, i + 4).toString());
    const hex = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, "0"));
    expect(wire.replace(/\s+/g, "")).not.toContain(hex.join(""));
    expect(wire).not.toContain(hex.join(" "));
  });
});
