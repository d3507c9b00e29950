import { z } from "zod";
import { parseWith } from "../errors.js";
import type { ElementHit, ElementInfo } from "./screen.js";

/**
 * The script a page runs to say what is under a point, or what a selector names: tag, role, accessible name,
 * a selector, its box. It is source text, not a function, because it runs in the browser (whose DOM types
 * this Node project does not compile against); its answers are checked with zod on the way back.
 *
 * The accessible name is an approximation of the accname algorithm that covers what forms and toolbars use
 * (aria-labelledby, aria-label, <label>, alt, value of buttons, placeholder, text, title); it is used to tell
 * whether a cached selector still names the same thing, not to audit accessibility.
 */
export const ELEMENT_PROBE_SOURCE = String.raw`(arg) => {
  const ACTIONABLE = 'button,a[href],input,select,textarea,label,summary,option,[role=button],[role=link],[role=menuitem],[role=menuitemcheckbox],[role=menuitemradio],[role=tab],[role=checkbox],[role=radio],[role=option],[role=switch],[role=textbox],[role=combobox],[role=searchbox],[role=slider],[onclick],[tabindex]:not([tabindex="-1"]),[contenteditable=""],[contenteditable=true]';
  const clean = (s) => (s || "").replace(/\s+/g, " ").trim().slice(0, 200);
  const implicitRole = (el) => {
    const tag = el.tagName.toLowerCase();
    if (tag === "button" || tag === "summary") return "button";
    if (tag === "a") return el.hasAttribute("href") ? "link" : "";
    if (tag === "select") return el.multiple ? "listbox" : "combobox";
    if (tag === "textarea") return "textbox";
    if (tag === "img") return "img";
    if (tag === "option") return "option";
    if (/^h[1-6]$/.test(tag)) return "heading";
    if (tag === "input") {
      const type = (el.getAttribute("type") || "text").toLowerCase();
      if (["button", "submit", "reset", "image"].includes(type)) return "button";
      if (type === "checkbox") return "checkbox";
      if (type === "radio") return "radio";
      if (type === "range") return "slider";
      if (type === "search") return "searchbox";
      return "textbox";
    }
    return "";
  };
  const name = (el) => {
    const labelledBy = el.getAttribute("aria-labelledby");
    if (labelledBy) {
      const text = labelledBy.split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean).map((n) => n.textContent).join(" ");
      if (clean(text)) return clean(text);
    }
    if (clean(el.getAttribute("aria-label"))) return clean(el.getAttribute("aria-label"));
    const tag = el.tagName.toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") {
      const type = (el.getAttribute("type") || "").toLowerCase();
      if (["button", "submit", "reset"].includes(type) && clean(el.value)) return clean(el.value);
      const labels = el.labels ? Array.from(el.labels).map((l) => l.textContent).join(" ") : "";
      if (clean(labels)) return clean(labels);
      if (clean(el.getAttribute("placeholder"))) return clean(el.getAttribute("placeholder"));
      return clean(el.getAttribute("title"));
    }
    if (tag === "img") return clean(el.getAttribute("alt")) || clean(el.getAttribute("title"));
    const svgTitle = el.querySelector && el.querySelector(":scope > title");
    return clean(el.innerText !== undefined ? el.innerText : el.textContent) || clean(el.getAttribute("title")) || clean(svgTitle && svgTitle.textContent);
  };
  const unique = (selector) => { try { return document.querySelectorAll(selector).length === 1; } catch { return false; } };
  const selectorOf = (el) => {
    if (el.id && unique("#" + CSS.escape(el.id))) return "#" + CSS.escape(el.id);
    for (const attr of ["data-testid", "data-test", "data-qa"]) {
      const v = el.getAttribute(attr);
      if (v && unique("[" + attr + '="' + CSS.escape(v) + '"]')) return "[" + attr + '="' + CSS.escape(v) + '"]';
    }
    const steps = [];
    let node = el;
    while (node && node.nodeType === 1 && node !== document.documentElement) {
      if (node !== el && node.id && unique("#" + CSS.escape(node.id))) { steps.unshift("#" + CSS.escape(node.id)); break; }
      const tag = node.tagName.toLowerCase();
      let index = 1;
      for (let s = node.previousElementSibling; s; s = s.previousElementSibling) if (s.tagName === node.tagName) index++;
      steps.unshift(tag + ":nth-of-type(" + index + ")");
      node = node.parentElement;
    }
    if (!node || node === document.documentElement) steps.unshift("html");
    return steps.join(" > ");
  };
  const describe = (el) => {
    const r = el.getBoundingClientRect();
    const tag = el.tagName.toLowerCase();
    const value = (tag === "input" || tag === "textarea") && typeof el.value === "string" ? el.value : "";
    return {
      tag,
      role: clean(el.getAttribute("role")) || implicitRole(el),
      name: name(el),
      selector: selectorOf(el),
      box: { x1: r.left, y1: r.top, x2: r.right, y2: r.bottom },
      actionable: el.matches(ACTIONABLE),
      controls: el.matches(ACTIONABLE) ? 0 : Math.min(el.querySelectorAll(ACTIONABLE).length, 1000),
      text: clean([el.innerText !== undefined ? el.innerText : el.textContent, value, el.getAttribute("placeholder")].filter(Boolean).join(" ")),
    };
  };
  if (arg.selector !== undefined) {
    let el = null;
    try { el = document.querySelector(arg.selector); } catch { el = null; }
    return el ? describe(el) : null;
  }
  const el = document.elementFromPoint(arg.x, arg.y);
  if (!el) return null;
  const target = el.closest(ACTIONABLE) || el;
  return { element: describe(el), target: describe(target) };
}`;

const boxSchema = z.object({ x1: z.number(), y1: z.number(), x2: z.number(), y2: z.number() });

export const elementInfoSchema = z.object({
  tag: z.string(),
  role: z.string(),
  name: z.string(),
  selector: z.string(),
  box: boxSchema,
  actionable: z.boolean(),
  controls: z.number().int().min(0),
  text: z.string(),
});

export const elementHitSchema = z.object({ element: elementInfoSchema, target: elementInfoSchema });

export function readElementInfo(value: unknown): ElementInfo | undefined {
  return value === null || value === undefined
    ? undefined
    : parseWith(elementInfoSchema, value, "The page's element probe answered in an unknown shape", {
        code: "INTERNAL",
      });
}

export function readElementHit(value: unknown): ElementHit | undefined {
  return value === null || value === undefined
    ? undefined
    : parseWith(elementHitSchema, value, "The page's hit probe answered in an unknown shape", { code: "INTERNAL" });
}
