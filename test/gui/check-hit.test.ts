import { describe, expect, it } from "vitest";
import { checkHit } from "../../src/gui/gui.js";
import type { ElementHit, ElementInfo } from "../../src/gui/screen.js";

function info(over: Partial<ElementInfo>): ElementInfo {
  return {
    tag: "button",
    role: "button",
    name: "Save",
    selector: "#save",
    box: { x1: 10, y1: 10, x2: 70, y2: 40 },
    actionable: true,
    controls: 0,
    text: "Save",
    ...over,
  };
}

const hit = (target: ElementInfo, element = target): ElementHit => ({ target, element });

describe("checkHit", () => {
  const textBox = { x1: 20, y1: 15, x2: 55, y2: 33 };

  it("passes a text match inside the button that says it", () => {
    const checks = checkHit(textBox, hit(info({})), "Save");
    expect(checks.map((c) => c.ok)).toEqual([true, true]);
  });

  it("passes a loose model box around a small icon button", () => {
    const icon = info({ name: "Settings", box: { x1: 100, y1: 10, x2: 124, y2: 34 } });
    expect(checkHit({ x1: 92, y1: 2, x2: 132, y2: 42 }, hit(icon), undefined)[0]!.ok).toBe(true);
  });

  it("fails when the element says something else", () => {
    const checks = checkHit(textBox, hit(info({ name: "Delete", text: "Delete" })), "Save");
    expect(checks[1]).toMatchObject({ name: "text", ok: false });
  });

  it("fails between the controls of a toolbar, and on a large background", () => {
    const bar = info({
      tag: "div",
      role: "",
      name: "Save Delete",
      actionable: false,
      controls: 2,
      box: { x1: 0, y1: 0, x2: 800, y2: 50 },
    });
    expect(checkHit(textBox, hit(bar), undefined)[0]!.detail).toMatch(/between the controls/);
    const body = info({
      tag: "body",
      role: "",
      name: "",
      actionable: false,
      controls: 0,
      box: { x1: 0, y1: 0, x2: 1280, y2: 800 },
    });
    expect(checkHit(textBox, hit(body), undefined)[0]!.detail).toMatch(/background/);
  });

  it("fails when the element under the point is elsewhere, or when nothing is", () => {
    const away = info({ box: { x1: 200, y1: 10, x2: 260, y2: 40 } });
    expect(checkHit(textBox, hit(away), undefined)[0]!.ok).toBe(false);
    expect(checkHit(textBox, undefined, "Save")).toEqual([
      { name: "element", ok: false, detail: "nothing is under the point" },
    ]);
  });
});
