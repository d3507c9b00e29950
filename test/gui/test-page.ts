/**
 * The local page the GUI tests and the benchmark drive: text buttons, a menu, two icon buttons whose glyphs
 * are drawn in colours nothing else on the page uses (so a fake model can find them in the pixels it is
 * given), a form, and a message that appears late. The page records every click itself — the element its
 * own capturing listener saw, by data-id — so a test checks where the click landed by the page's word,
 * not by Squint's.
 */

export const ICON_COLOURS = {
  /** The settings gear. */
  settings: [255, 0, 255],
  /** The trash can. */
  trash: [0, 200, 200],
} as const;

export interface PageOptions {
  /** CSS zoom on the root element (a page zoomed by its own styles), default 1. */
  zoom?: number;
  /** Swap the Save and Delete buttons' places and labels' order (a page that changed). */
  changed?: boolean;
}

export function testPageHtml(options: PageOptions = {}): string {
  const toolbar = options.changed
    ? `<button id="b1" data-id="delete">Delete</button><button id="b3" data-id="save">Save</button><button id="b2" data-id="save-draft">Save draft</button>`
    : `<button id="b1" data-id="save">Save</button><button id="b2" data-id="save-draft">Save draft</button><button id="b3" data-id="delete">Delete</button>`;
  return `<!doctype html>
<html style="zoom: ${options.zoom ?? 1}"><head><meta charset="utf-8"><title>Squint GUI test page</title>
<style>
  body { font: 16px "DejaVu Sans", sans-serif; margin: 16px; color: #222; background: #fff; }
  button { font: inherit; padding: 6px 14px; margin-right: 12px; border: 1px solid #888; border-radius: 4px; background: #f4f4f4; }
  .bar { display: flex; align-items: center; margin-bottom: 24px; }
  .icon { width: 36px; height: 36px; padding: 4px; display: inline-flex; align-items: center; justify-content: center; }
  #menu { display: none; position: absolute; left: 16px; top: 110px; border: 1px solid #888; background: #fff; padding: 4px 0; box-shadow: 0 2px 6px #0003; }
  #menu.open { display: block; }
  #menu [role=menuitem] { padding: 6px 24px; cursor: pointer; }
  form { display: grid; grid-template-columns: 320px; gap: 12px; margin-top: 80px; }
  input, textarea { font: inherit; padding: 6px; border: 1px solid #888; }
  #status, #report { margin-top: 16px; min-height: 22px; }
</style></head>
<body>
  <div class="bar">${toolbar}
    <button class="icon" data-id="settings" aria-label="Settings" title="Settings"><svg width="24" height="24" viewBox="0 0 24 24"><circle cx="12" cy="12" r="9" fill="rgb(${ICON_COLOURS.settings.join(",")})"/><circle cx="12" cy="12" r="4" fill="#fff"/></svg></button>
    <button class="icon" data-id="trash" aria-label="Trash" title="Trash"><svg width="24" height="24" viewBox="0 0 24 24"><rect x="5" y="6" width="14" height="15" fill="rgb(${ICON_COLOURS.trash.join(",")})"/><rect x="3" y="3" width="18" height="3" fill="rgb(${ICON_COLOURS.trash.join(",")})"/></svg></button>
  </div>
  <div class="bar"><button id="menu-button" data-id="menu" aria-haspopup="true">Menu</button><button id="load" data-id="load">Load report</button></div>
  <div id="menu" role="menu"><div role="menuitem" data-id="rename">Rename</div><div role="menuitem" data-id="duplicate">Duplicate</div><div role="menuitem" data-id="archive">Archive</div></div>
  <p>Quarterly figures are shown below once loaded.</p>
  <form id="form" onsubmit="return false">
    <input name="name" data-id="name" placeholder="Full name">
    <input name="email" data-id="email" placeholder="Email address">
    <button type="submit" data-id="send">Send</button>
  </form>
  <div id="status"></div>
  <div id="report"></div>
  <div style="height: 1600px"></div>
  <p>End of the page.</p>
<script>
  window.__hovered = [];
  document.addEventListener("mouseover", (event) => {
    const el = event.target.closest("[data-id]");
    if (el) window.__hovered.push(el.dataset.id);
  }, true);
  window.__clicks = [];
  document.addEventListener("click", (event) => {
    const el = event.target.closest("[data-id]");
    window.__clicks.push({ id: el ? el.dataset.id : null, x: event.clientX, y: event.clientY });
  }, true);
  document.getElementById("menu-button").addEventListener("click", () => document.getElementById("menu").classList.toggle("open"));
  for (const item of document.querySelectorAll("[role=menuitem]")) item.addEventListener("click", () => document.getElementById("menu").classList.remove("open"));
  document.getElementById("load").addEventListener("click", () => setTimeout(() => { document.getElementById("report").textContent = "Report ready: 42 rows"; }, 400));
  window.__submitted = null;
  document.getElementById("form").addEventListener("submit", () => {
    const data = new FormData(document.getElementById("form"));
    window.__submitted = { name: data.get("name"), email: data.get("email") };
    document.getElementById("status").textContent = "Thanks, " + data.get("name");
  });
</script>
</body></html>`;
}
