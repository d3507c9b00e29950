import sharp from "sharp";

/**
 * A rendered OCR evaluation set whose truth is known by construction: documents (receipts, forms, printed
 * pages), scene text (signs, licence plates, storefronts) and Chinese (signs and notices), drawn as SVG text
 * with the machine's fonts (fontconfig), then degraded (rotation, perspective, blur, noise, JPEG).
 *
 * Two sets that share nothing but the generator: `tune` and `judge` use different seeds, different halves of
 * the vocabulary and different font families, so a setting chosen on one is judged on words and fonts it
 * has never seen. Fonts come from fonts-dejavu, fonts-liberation, fonts-freefont-ttf, fonts-urw-base35 and
 * fonts-noto-cjk; missing families are skipped (fontconfig would silently substitute one).
 */
export type SynthGroup = "documents" | "scene" | "cjk";
export type SynthSet = "tune" | "judge";

export interface SynthImage {
  name: string;
  group: SynthGroup;
  set: SynthSet;
  bytes: Buffer;
  /** The lines exactly as printed (spaces and case). */
  lines: string[];
}

/** mulberry32: small, seedable, good enough for picking words and jitter. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const between = (r: Rand, lo: number, hi: number) => lo + r() * (hi - lo);
const int = (r: Rand, lo: number, hi: number) => Math.floor(between(r, lo, hi + 1));

const WORDS = `able about account action address after again against airport almost along already also always amount
animal answer apple april area around arrive article autumn avenue baby back bakery balance bank basket battery beach
because become before begin behind believe below better between bicycle birthday black blanket blue board boat body
book border bottle bottom bread breakfast bridge bright bring brother brown budget build butter button cabin cable
camera candle canvas capital carbon card careful carpet carrot castle center chair change charge cheese chicken
children chocolate church circle city class clean clear clock close cloud coffee collect colour company compare
complete concert copper corner cotton country course cream credit cross culture cup customer daily dance danger dark
daughter debit deliver dental design desk detail diamond dinner direct doctor dollar door double dozen drawer dream
dress drink driver early earth east easy edge effect eight electric element engine enough entrance envelope equal
evening event every example exchange exit expert factory family farm father feather field figure final finger
fire first fish flavour floor flower follow forest fork forward fountain frame fresh friend front fruit fuel garden
garlic gate general gentle glass global golden grand grape green ground guest guide hammer handle harbour health
heart heavy height helmet history holiday honey horse hospital hotel house hundred island jacket journal juice kettle
kitchen knife ladder lamp language large laundry lemon letter level library light limit linen liquid little local
lunch machine market matter meadow medium member metal middle milk minute mirror modern moment monday money morning
mother mountain music napkin narrow nature needle number ocean office orange order organic oven owner paint paper
parcel parking party pasta pencil people pepper person phone picture pillow planet plate pocket police potato power
print private public purple quality quarter question quiet rabbit radio rain record region rental repair report
result ribbon river road rocket roof rubber salad salt sample school science season second secret service seven
shadow shelf shirt shoe silver simple single sister small smooth snack soap soft south special spoon spring square
stamp station steel stone storage street summer supply surface sweet table ticket timber toast today tomato total
towel tower traffic train travel tuesday tunnel turkey umbrella uniform valley vanilla velvet village vinegar violet
visitor voice wallet water weather welcome west wheel window winter wooden yellow yogurt zone`.split(/\s+/);

const NAMES =
  `Adams Baker Clarke Davis Evans Fisher Garcia Hughes Irwin Jones Khan Lopez Morgan Nguyen Owens Patel Quinn
Reed Smith Turner Umar Vega Walsh Young Zhang Alice Bruno Chloe Daniel Emma Felix Grace Henry Ivy James Karen Leo Maria
Nora Oscar Paula Ravi Sofia Tom Uma Victor Wendy`.split(/\s+/);

/** Chinese words of two to four characters, common on signs, menus and notices. */
const CJK_WORDS = `营业时间 欢迎光临 出口 入口 停车场 禁止吸烟 小心地滑 电梯 楼梯 洗手间 收银台 会员 优惠 折扣 新品 上市
北京 上海 广州 深圳 杭州 南京 成都 武汉 西安 重庆 中山路 人民路 解放路 长江 黄河 公园 医院 学校 银行 超市 饭店 咖啡
茶叶 水果 蔬菜 牛奶 面包 米饭 面条 饺子 包子 豆腐 鸡蛋 牛肉 猪肉 鱼 汤 酒店 宾馆 车站 地铁 机场 售票处 服务台 办公室
会议室 图书馆 博物馆 体育馆 电影院 药店 书店 花店 理发店 洗衣店 五金店 文具 家具 电器 手机 电脑 维修 配送 外卖 预订
营业中 暂停营业 今日特价 买一送一 全场 八折 满减 积分 发票 收据 合计 现金 找零 数量 单价 金额 日期 时间 地址 电话
姓名 备注 谢谢惠顾 欢迎再来 安全出口 注意安全 请勿触摸 保持安静 排队 等候 请出示 健康码 温馨提示 春节 快乐 中秋 国庆`.split(
  /\s+/,
);

/** Half the vocabulary per set (by position), so the judge set's words were never in the tune set. */
function half<T>(items: readonly T[], set: SynthSet): T[] {
  return items.filter((_, i) => i % 2 === (set === "tune" ? 0 : 1));
}

const LATIN_FONTS: Record<SynthSet, string[]> = {
  tune: ["DejaVu Sans", "Liberation Serif", "FreeMono", "Nimbus Sans", "URW Bookman", "Liberation Sans Narrow"],
  judge: [
    "Liberation Sans",
    "DejaVu Serif",
    "Nimbus Mono PS",
    "FreeSans",
    "P052",
    "C059",
    "URW Gothic",
    "Liberation Mono",
    "Nimbus Roman",
    "DejaVu Sans Mono",
    "FreeSerif",
  ],
};
const MONO_FONTS: Record<SynthSet, string[]> = {
  tune: ["FreeMono", "DejaVu Sans Mono"],
  judge: ["Liberation Mono", "Nimbus Mono PS"],
};
const CJK_FONTS: Record<SynthSet, string[]> = {
  tune: ["Noto Sans CJK SC", "Noto Serif CJK TC"],
  judge: ["Noto Serif CJK SC", "Noto Sans CJK TC", "Noto Sans Mono CJK SC"],
};

interface TextItem {
  text: string;
  x: number;
  y: number;
  size: number;
  font: string;
  weight?: "normal" | "bold";
  fill?: string;
  anchor?: "start" | "end" | "middle";
  spacing?: number;
  italic?: boolean;
  /** An outline round the glyphs (painted letters, embossed plates). */
  stroke?: string;
  strokeWidth?: number;
  /** A drop shadow: the text drawn again, offset, in this colour (not part of the truth). */
  shadow?: string;
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function svgText(t: TextItem): string {
  if (t.shadow !== undefined) {
    const off = Math.max(1, t.size * 0.05);
    const { shadow, stroke: _stroke, strokeWidth: _width, ...plain } = t;
    const { shadow: _shadow, ...rest } = t;
    return svgText({ ...plain, x: t.x + off, y: t.y + off, fill: shadow }) + svgText(rest);
  }
  const stroke = t.stroke ? ` stroke="${t.stroke}" stroke-width="${(t.strokeWidth ?? 1).toFixed(1)}"` : "";
  return `<text${stroke} x="${t.x.toFixed(1)}" y="${t.y.toFixed(1)}" font-family="${t.font}" font-size="${t.size.toFixed(1)}" font-weight="${t.weight ?? "normal"}"${t.italic ? ' font-style="italic"' : ""} fill="${t.fill ?? "#111"}" text-anchor="${t.anchor ?? "start"}"${t.spacing ? ` letter-spacing="${t.spacing.toFixed(2)}"` : ""} xml:space="preserve">${escapeXml(t.text)}</text>`;
}

/** A width estimate that errs wide, so a line chosen to fit does fit (mono ~0.6 em, proportional less). */
const estWidth = (text: string, size: number, spacing = 0, cjk = false) =>
  text.length * (size * (cjk ? 1.02 : 0.62) + spacing);

const capital = (w: string) => w[0]!.toUpperCase() + w.slice(1);
const price = (r: Rand) => `${int(r, 0, 99)}.${String(int(r, 0, 99)).padStart(2, "0")}`;
const date = (r: Rand) =>
  `${String(int(r, 1, 12)).padStart(2, "0")}/${String(int(r, 1, 28)).padStart(2, "0")}/${int(r, 2015, 2026)}`;
const time = (r: Rand) => `${String(int(r, 0, 23)).padStart(2, "0")}:${String(int(r, 0, 59)).padStart(2, "0")}`;
const letters = "ABCDEFGHJKLMNPRSTUVWXYZ";
const code = (r: Rand, n: number) => Array.from({ length: n }, () => pick(r, [...letters])).join("");
const digits = (r: Rand, n: number) => Array.from({ length: n }, () => String(int(r, 0, 9))).join("");

interface Layout {
  width: number;
  height: number;
  background: string;
  /** SVG <defs> content (filters and gradients the shapes use). */
  defs?: string;
  shapes: string[];
  texts: TextItem[];
  /** Drawn over the text: light falling across the scene, shadows, glare. */
  overlay?: string[];
  /** The truth lines (a receipt row "ITEM 3.99" is one line even though drawn as two texts). */
  lines: string[];
  degrade: Degrade;
}

interface Degrade {
  rotate: number;
  perspective: number;
  blur: number;
  noise: number;
  jpeg: number;
  /** Rendered at this fraction of the size and scaled back up: a small, far-away or cheap-camera view. */
  lowRes?: number;
  /** Length in px of a straight motion blur (camera shake), 0 for none. */
  motion?: number;
}

function receipt(r: Rand, set: SynthSet): Layout {
  const words = half(WORDS, set);
  const font = r() < 0.6 ? pick(r, MONO_FONTS[set]) : pick(r, LATIN_FONTS[set]);
  const size = between(r, 15, 22);
  const width = int(r, 380, 520);
  const lh = size * between(r, 1.3, 1.6);
  const margin = 24;
  const texts: TextItem[] = [];
  const lines: string[] = [];
  let y = margin + size;
  const put = (text: string, anchor: "start" | "middle" = "middle", weight: "normal" | "bold" = "normal") => {
    texts.push({ text, x: anchor === "middle" ? width / 2 : margin, y, size, font, anchor, weight });
    lines.push(text);
    y += lh;
  };
  put(`${pick(r, words).toUpperCase()} ${pick(r, words).toUpperCase()}`, "middle", "bold");
  put(`${int(r, 1, 9999)} ${capital(pick(r, words))} ${pick(r, ["St", "Ave", "Road", "Blvd"])}`);
  put(`${date(r)} ${time(r)}`);
  y += lh * 0.5;
  const items = int(r, 4, 9);
  let total = 0;
  for (let i = 0; i < items; i++) {
    const n = int(r, 1, 3);
    let name = Array.from({ length: n }, () => pick(r, words).toUpperCase()).join(" ");
    while (estWidth(`${name} 00.00`, size) > width - 2 * margin)
      name = name.split(" ").slice(0, -1).join(" ") || "ITEM";
    const p = price(r);
    total += Number(p);
    texts.push({ text: name, x: margin, y, size, font });
    texts.push({ text: p, x: width - margin, y, size, font, anchor: "end" });
    lines.push(`${name} ${p}`);
    y += lh;
  }
  y += lh * 0.5;
  for (const label of ["SUBTOTAL", "TOTAL"]) {
    const p = total.toFixed(2);
    texts.push({ text: label, x: margin, y, size, font, weight: label === "TOTAL" ? "bold" : "normal" });
    texts.push({ text: p, x: width - margin, y, size, font, anchor: "end" });
    lines.push(`${label} ${p}`);
    y += lh;
  }
  put(pick(r, ["THANK YOU", "Thank you for shopping", "PLEASE COME AGAIN", "Have a nice day"]));
  return {
    width,
    height: Math.ceil(y + margin),
    background: pick(r, ["#fbfbf7", "#f4f1e8", "#ffffff", "#eef0ef"]),
    shapes: [],
    texts,
    lines,
    degrade: {
      rotate: between(r, -3, 3),
      perspective: r() < 0.4 ? between(r, 0, 0.05) : 0,
      blur: r() < 0.4 ? between(r, 0.3, 0.9) : 0,
      noise: between(r, 0, 12),
      jpeg: int(r, 55, 95),
    },
  };
}

function form(r: Rand, set: SynthSet): Layout {
  const words = half(WORDS, set);
  const names = half(NAMES, set);
  const font = pick(r, LATIN_FONTS[set]);
  const size = between(r, 14, 20);
  const width = int(r, 700, 900);
  const lh = size * between(r, 1.8, 2.4);
  const margin = 40;
  const texts: TextItem[] = [];
  const lines: string[] = [];
  const shapes: string[] = [];
  let y = margin + size * 1.4;
  const title = `${capital(pick(r, words))} ${capital(pick(r, words))} Form`;
  texts.push({ text: title, x: margin, y, size: size * 1.4, font, weight: "bold" });
  lines.push(title);
  y += lh * 1.2;
  const fields: [string, string][] = [
    ["Name:", `${pick(r, names)} ${pick(r, names)}`],
    ["Date:", date(r)],
    ["Phone:", `${digits(r, 3)}-${digits(r, 3)}-${digits(r, 4)}`],
    ["Address:", `${int(r, 1, 999)} ${capital(pick(r, words))} Street`],
    ["Account No:", `${code(r, 2)}${digits(r, 6)}`],
    ["Department:", capital(pick(r, words))],
    ["Reference:", `${code(r, 3)}-${digits(r, 4)}`],
    ["Amount:", `$${price(r)}`],
  ];
  const count = int(r, 5, fields.length);
  for (const [label, value] of fields.slice(0, count)) {
    const vx = margin + int(r, 150, 200);
    texts.push({ text: label, x: margin, y, size, font, weight: r() < 0.3 ? "bold" : "normal" });
    texts.push({ text: value, x: vx, y, size, font, fill: pick(r, ["#111", "#123a8c", "#222"]) });
    shapes.push(
      `<line x1="${vx - 6}" y1="${(y + size * 0.35).toFixed(1)}" x2="${width - margin}" y2="${(y + size * 0.35).toFixed(1)}" stroke="#999" stroke-width="1"/>`,
    );
    lines.push(`${label} ${value}`);
    y += lh;
  }
  y += lh * 0.3;
  for (const option of Array.from({ length: int(r, 2, 3) }, () => capital(pick(r, words)))) {
    shapes.push(
      `<rect x="${margin}" y="${(y - size * 0.8).toFixed(1)}" width="${size * 0.8}" height="${size * 0.8}" fill="none" stroke="#333"/>`,
    );
    texts.push({ text: option, x: margin + size * 1.4, y, size, font });
    lines.push(option);
    y += lh * 0.8;
  }
  return {
    width,
    height: Math.ceil(y + margin),
    background: pick(r, ["#ffffff", "#fafaf5", "#f2f5fa"]),
    shapes,
    texts,
    lines,
    degrade: {
      rotate: between(r, -1.5, 1.5),
      perspective: 0,
      blur: r() < 0.3 ? between(r, 0.3, 0.7) : 0,
      noise: between(r, 0, 8),
      jpeg: int(r, 60, 95),
    },
  };
}

function page(r: Rand, set: SynthSet): Layout {
  const words = half(WORDS, set);
  const font = pick(r, LATIN_FONTS[set]);
  const size = between(r, 14, 22);
  const spacing = r() < 0.3 ? between(r, -0.3, 1.2) : 0;
  const width = int(r, 640, 960);
  const lh = size * between(r, 1.3, 1.7);
  const margin = 48;
  const texts: TextItem[] = [];
  const lines: string[] = [];
  let y = margin + size;
  const heading = Array.from({ length: int(r, 2, 4) }, () => capital(pick(r, words))).join(" ");
  texts.push({ text: heading, x: margin, y, size: size * 1.5, font, weight: "bold" });
  lines.push(heading);
  y += lh * 1.6;
  const rows = int(r, 8, 16);
  let sentenceStart = true;
  for (let i = 0; i < rows; i++) {
    const row: string[] = [];
    for (;;) {
      let w = pick(r, words);
      const roll = r();
      if (roll < 0.06) w = String(int(r, 2, 2026));
      else if (roll < 0.1) w = `${w},`;
      else if (roll < 0.13) w = `(${w})`;
      if (sentenceStart) w = capital(w);
      sentenceStart = false;
      if (r() < 0.12) {
        w = `${w}.`;
        sentenceStart = true;
      }
      if (estWidth([...row, w].join(" "), size, spacing) > width - 2 * margin) break;
      row.push(w);
    }
    const text = row.join(" ");
    texts.push({ text, x: margin, y, size, font, spacing, italic: r() < 0.05 });
    lines.push(text);
    y += lh;
  }
  return {
    width,
    height: Math.ceil(y + margin),
    background: pick(r, ["#ffffff", "#fdfcf8", "#f7f7f7"]),
    shapes: [],
    texts,
    lines,
    degrade: {
      rotate: between(r, -1, 1),
      perspective: 0,
      blur: r() < 0.3 ? between(r, 0.3, 0.8) : 0,
      noise: between(r, 0, 10),
      jpeg: int(r, 50, 95),
    },
  };
}

/** Random boxes, circles and stripes: the world around a sign. */
function clutter(r: Rand, width: number, height: number): string[] {
  const shapes: string[] = [];
  const colour = () => `rgb(${int(r, 30, 220)},${int(r, 30, 220)},${int(r, 30, 220)})`;
  for (let i = 0; i < int(r, 6, 14); i++) {
    const x = between(r, -50, width);
    const y = between(r, -50, height);
    if (r() < 0.6)
      shapes.push(
        `<rect x="${x.toFixed(0)}" y="${y.toFixed(0)}" width="${between(r, 40, width / 2).toFixed(0)}" height="${between(r, 30, height / 2).toFixed(0)}" fill="${colour()}" opacity="${between(r, 0.4, 1).toFixed(2)}"/>`,
      );
    else
      shapes.push(
        `<circle cx="${x.toFixed(0)}" cy="${y.toFixed(0)}" r="${between(r, 10, 90).toFixed(0)}" fill="${colour()}" opacity="${between(r, 0.4, 1).toFixed(2)}"/>`,
      );
  }
  return shapes;
}

const PANELS: [string, string][] = [
  ["#0b5d1e", "#ffffff"],
  ["#1b3f8b", "#ffffff"],
  ["#c62828", "#ffffff"],
  ["#ffd600", "#111111"],
  ["#ffffff", "#1a1a1a"],
  ["#222222", "#ffcc00"],
  ["#f5f5f0", "#b71c1c"],
];

function sceneDegrade(r: Rand): Degrade {
  return {
    rotate: between(r, -8, 8),
    perspective: between(r, 0.02, 0.14),
    blur: r() < 0.6 ? between(r, 0.4, 1.4) : 0,
    noise: between(r, 4, 20),
    jpeg: int(r, 35, 85),
  };
}

/*
 * Scene text as a camera sees it (the `scene` group). The first rendered scenes (flat panels on flat colour,
 * mild blur) were read at ~100% and said nothing; these add what real photos have: textured, photo-like
 * backgrounds (fractal noise: plaster, wood, asphalt, foliage), light falling unevenly across the scene, low
 * contrast between ink and ground, outlines and shadows, small text, strong perspective, motion blur, low
 * resolution and heavy JPEG. Every text stays legible to a person: ink and ground differ in lightness by at
 * least ~45 of 255 before light and noise.
 */
const rgb = (c: readonly number[]) => `rgb(${c.map((v) => Math.round(Math.max(0, Math.min(255, v)))).join(",")})`;

/** A colour of lightness near `light` (0..255) with some hue. */
function tone(r: Rand, light: number, saturation = 0.5): number[] {
  const hue = [between(r, -1, 1), between(r, -1, 1), between(r, -1, 1)];
  return hue.map((h) => light + h * saturation * 60);
}

const luminance = (c: readonly number[]) =>
  0.299 * Math.max(0, Math.min(255, c[0]!)) +
  0.587 * Math.max(0, Math.min(255, c[1]!)) +
  0.114 * Math.max(0, Math.min(255, c[2]!));

/**
 * Ground and ink: often high contrast (paint on a sign), often low (engraving, faded paint, dark glass).
 * The gap is measured on the tinted colours' luminance, so a tint never cancels it (an early version tinted
 * after choosing the gap and drew a few names invisibly: not an honest test).
 */
function groundAndInk(r: Rand): [number[], number[]] {
  const ground = tone(r, between(r, 25, 235), between(r, 0, 1.2));
  const gap = r() < 0.45 ? between(r, 60, 100) : between(r, 110, 200);
  const g = luminance(ground);
  const target = g > 128 ? Math.max(0, g - gap) : Math.min(255, g + gap);
  const ink = tone(r, target, between(r, 0, 0.8));
  const shift = target - luminance(ink);
  return [ground, ink.map((v) => Math.max(0, Math.min(255, v + shift)))];
}

let textureCount = 0;
/** A fractal-noise texture filling x,y,w,h, tinted round `base`: the photo-like part of a scene. */
function texture(r: Rand, base: number[], x: number, y: number, w: number, h: number, strength: number) {
  const id = `t${textureCount++}`;
  const fx = between(r, 0.004, 0.09);
  const fy = r() < 0.3 ? fx * between(r, 3, 12) : fx * between(r, 0.6, 1.6);
  const k = strength;
  // The noise (0..1 per channel) becomes base ± k*255/2, grey-ish so it reads as material, not rainbow.
  const row = (c: number, i: number) =>
    `${[0, 1, 2].map((j) => ((j === i ? 0.7 : 0.15) * k).toFixed(3)).join(" ")} 0 ${(c / 255 - k / 2).toFixed(3)}`;
  const def = `<filter id="${id}" x="0" y="0" width="100%" height="100%" filterUnits="objectBoundingBox" color-interpolation-filters="sRGB"><feTurbulence type="${r() < 0.7 ? "fractalNoise" : "turbulence"}" baseFrequency="${fx.toFixed(4)} ${fy.toFixed(4)}" numOctaves="${int(r, 2, 5)}" seed="${int(r, 1, 9999)}"/><feColorMatrix type="matrix" values="${base.map(row).join("  ")}  0 0 0 0 1"/></filter>`;
  return {
    def,
    shape: `<rect x="${x.toFixed(0)}" y="${y.toFixed(0)}" width="${w.toFixed(0)}" height="${h.toFixed(0)}" filter="url(#${id})"/>`,
  };
}

/** Light and shadow over everything (text included): a radial pool of light or a shadow edge. */
function lighting(r: Rand, width: number, height: number): { def: string; shape: string } {
  const id = `l${textureCount++}`;
  const dark = r() < 0.5;
  const opacity = between(r, 0.2, 0.45);
  if (r() < 0.5) {
    const def = `<radialGradient id="${id}" cx="${between(r, 0, 1).toFixed(2)}" cy="${between(r, 0, 1).toFixed(2)}" r="${between(r, 0.3, 0.9).toFixed(2)}"><stop offset="0" stop-color="${dark ? "#000" : "#fff"}" stop-opacity="${opacity.toFixed(2)}"/><stop offset="1" stop-color="${dark ? "#000" : "#fff"}" stop-opacity="0"/></radialGradient>`;
    return { def, shape: `<rect width="${width}" height="${height}" fill="url(#${id})"/>` };
  }
  const angle = between(r, 0, 1);
  const def = `<linearGradient id="${id}" x1="0" y1="${angle.toFixed(2)}" x2="1" y2="${(1 - angle).toFixed(2)}"><stop offset="0" stop-color="#000" stop-opacity="0"/><stop offset="${between(r, 0.3, 0.7).toFixed(2)}" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="${opacity.toFixed(2)}"/></linearGradient>`;
  return { def, shape: `<rect width="${width}" height="${height}" fill="url(#${id})"/>` };
}

/**
 * Camera-like damage, bounded by the smallest text so that it stays legible: that text keeps at least
 * 12 px of height after the low-resolution step, and blur and shake stay under a fifth of it.
 */
function hardDegrade(r: Rand, texts: TextItem[]): Degrade {
  const smallest = Math.min(...texts.map((t) => t.size));
  const lowRes = r() < 0.4 ? Math.min(1, Math.max(between(r, 0.45, 0.8), 12 / smallest)) : 1;
  const seen = smallest * lowRes;
  return {
    rotate: between(r, -10, 10),
    perspective: between(r, 0.03, 0.2),
    blur: r() < 0.5 ? Math.min(between(r, 0.5, 1.8), seen / 10) : 0,
    motion: r() < 0.25 ? Math.min(int(r, 3, 7), Math.floor(seen / 5)) : 0,
    noise: between(r, 5, 20),
    jpeg: int(r, 20, 75),
    lowRes,
  };
}

/** Text effects a sign painter or a plate press uses. */
function decorate(r: Rand, t: TextItem, ground: number[]): TextItem {
  const roll = r();
  if (roll < 0.2) return { ...t, stroke: rgb(ground.map((v) => 255 - v)), strokeWidth: Math.max(1, t.size * 0.04) };
  if (roll < 0.4) return { ...t, shadow: rgb(ground.map((v) => v * 0.4)) };
  return t;
}

function sceneWords(r: Rand, set: SynthSet, upper: boolean, max: number): string {
  const words = half(WORDS, set);
  const row = Array.from({ length: int(r, 1, max) }, () =>
    upper ? pick(r, words).toUpperCase() : capital(pick(r, words)),
  );
  if (r() < 0.2) row.push(pick(r, [`${int(r, 1, 99)}`, `${int(r, 1, 9)}00m`, `${int(r, 1, 24)}h`]));
  return row.join(" ");
}

/** A sign: a panel (often textured, weathered) on a textured scene with clutter. */
function hardSign(r: Rand, set: SynthSet): Layout {
  const width = int(r, 480, 900);
  const height = int(r, 360, 640);
  const [panel, ink] = groundAndInk(r);
  const font = pick(r, LATIN_FONTS[set]);
  const upper = r() < 0.6;
  const count = int(r, 1, 3);
  const size = between(r, 18, 56);
  const panelWidth = width * between(r, 0.45, 0.85);
  const lh = size * 1.3;
  const panelHeight = lh * count + size * 0.8;
  const px = between(r, 10, width - panelWidth - 10);
  const py = between(r, 10, Math.max(11, height - panelHeight - 10));
  const back = texture(r, tone(r, between(r, 50, 200), 1), 0, 0, width, height, between(r, 0.3, 0.9));
  const weathered = r() < 0.5 ? texture(r, panel, px, py, panelWidth, panelHeight, between(r, 0.1, 0.35)) : undefined;
  const light = lighting(r, width, height);
  const texts: TextItem[] = [];
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = i === 0 ? size : size * between(r, 0.6, 0.9);
    let text = sceneWords(r, set, upper, 3);
    while (text.includes(" ") && estWidth(text, s) > panelWidth - s) text = text.split(" ").slice(0, -1).join(" ");
    texts.push(
      decorate(
        r,
        {
          text,
          x: px + panelWidth / 2,
          y: py + size * 0.4 + lh * (i + 0.8),
          size: s,
          font,
          fill: rgb(ink),
          anchor: "middle",
          weight: r() < 0.5 ? "bold" : "normal",
          italic: r() < 0.1,
        },
        panel,
      ),
    );
    lines.push(text);
  }
  return {
    width,
    height,
    background: "#808080",
    defs: [back.def, weathered?.def ?? "", light.def].join(""),
    shapes: [
      back.shape,
      ...clutter(r, width, height),
      `<rect x="${px.toFixed(0)}" y="${py.toFixed(0)}" width="${panelWidth.toFixed(0)}" height="${panelHeight.toFixed(0)}" rx="${int(r, 0, 16)}" fill="${rgb(panel)}" stroke="${rgb(ink)}" stroke-width="${int(r, 0, 4)}"/>`,
      weathered ? weathered.shape.replace("<rect", `<rect opacity="${between(r, 0.3, 0.7).toFixed(2)}"`) : "",
    ],
    texts,
    overlay: [light.shape],
    lines,
    degrade: hardDegrade(r, texts),
  };
}

/** Text straight on the material: painted on a wall, stencilled on a crate, engraved in stone. */
function wall(r: Rand, set: SynthSet): Layout {
  const width = int(r, 480, 900);
  const height = int(r, 300, 560);
  const [ground, ink] = groundAndInk(r);
  const font = pick(r, LATIN_FONTS[set]);
  const back = texture(r, ground, 0, 0, width, height, between(r, 0.15, 0.5));
  const light = lighting(r, width, height);
  const count = int(r, 1, 3);
  const size = between(r, 20, 64);
  const upper = r() < 0.5;
  const spacing = r() < 0.3 ? between(r, 0, size * 0.15) : 0;
  const texts: TextItem[] = [];
  const lines: string[] = [];
  const x = between(r, 20, width * 0.3);
  let y = between(r, size + 10, Math.max(size + 11, height - count * size * 1.4));
  for (let i = 0; i < count; i++) {
    const s = size * (i === 0 ? 1 : between(r, 0.5, 1));
    let text = sceneWords(r, set, upper, 3);
    while (text.includes(" ") && estWidth(text, s, spacing) > width - x - 20)
      text = text.split(" ").slice(0, -1).join(" ");
    texts.push(
      decorate(
        r,
        { text, x, y, size: s, font, fill: rgb(ink), spacing, weight: r() < 0.5 ? "bold" : "normal" },
        ground,
      ),
    );
    lines.push(text);
    y += s * between(r, 1.3, 1.7);
  }
  return {
    width,
    height: Math.max(height, Math.ceil(y)),
    background: rgb(ground),
    defs: back.def + light.def,
    shapes: [back.shape],
    texts,
    overlay: [light.shape],
    lines,
    degrade: hardDegrade(r, texts),
  };
}

/** A licence plate on a car-coloured, textured surround: dirt on the plate, small in the frame. */
function hardPlate(r: Rand, set: SynthSet): Layout {
  const width = int(r, 420, 760);
  const height = int(r, 300, 520);
  const font = pick(r, [...MONO_FONTS[set], ...LATIN_FONTS[set].slice(0, 3)]);
  const formats = [
    () => `${code(r, 2)}${digits(r, 2)} ${code(r, 3)}`,
    () => `${code(r, 3)} ${digits(r, 4)}`,
    () => `${digits(r, 3)}-${code(r, 3)}`,
    () => `${code(r, 1)} ${digits(r, 3)} ${code(r, 2)}`,
  ];
  const text = pick(r, set === "tune" ? formats.slice(0, 2) : formats.slice(2))();
  const size = between(r, 26, 64);
  const pw = estWidth(text, size) * 0.95 + size;
  const ph = size * 1.5;
  const px = between(r, 10, Math.max(11, width - pw - 10));
  const py = between(r, 10, Math.max(11, height - ph - 10));
  const [plateColour, ink] = groundAndInk(r);
  const back = texture(r, tone(r, between(r, 30, 200), 1.5), 0, 0, width, height, between(r, 0.2, 0.8));
  const dirt = texture(
    r,
    plateColour.map((v) => v * 0.7),
    px,
    py,
    pw,
    ph,
    between(r, 0.2, 0.5),
  );
  const light = lighting(r, width, height);
  const plateText = [
    decorate(
      r,
      {
        text,
        x: px + pw / 2,
        y: py + ph / 2 + size * 0.36,
        size,
        font,
        fill: rgb(ink),
        anchor: "middle",
        weight: "bold",
      },
      plateColour,
    ),
  ];
  return {
    width,
    height,
    background: "#808080",
    defs: back.def + dirt.def + light.def,
    shapes: [
      back.shape,
      `<rect x="${px.toFixed(0)}" y="${py.toFixed(0)}" width="${pw.toFixed(0)}" height="${ph.toFixed(0)}" rx="8" fill="${rgb(plateColour)}" stroke="#222" stroke-width="4"/>`,
      dirt.shape.replace("<rect", `<rect opacity="${between(r, 0.15, 0.5).toFixed(2)}"`),
    ],
    texts: plateText,
    overlay: [light.shape],
    lines: [text],
    degrade: hardDegrade(r, plateText),
  };
}

/** A shop front: fascia with the name, a small subline, a window sign; brick or plaster round it. */
function hardStorefront(r: Rand, set: SynthSet): Layout {
  const words = half(WORDS, set);
  const names = half(NAMES, set);
  const width = int(r, 600, 960);
  const height = int(r, 400, 640);
  const [panel, ink] = groundAndInk(r);
  const font = pick(r, LATIN_FONTS[set]);
  const name =
    r() < 0.5
      ? `${pick(r, names)}'s ${capital(pick(r, words))}`
      : `${pick(r, words).toUpperCase()} ${pick(r, ["CAFE", "BAKERY", "MARKET", "HOTEL", "PHARMACY", "BOOKS"])}`;
  const size = Math.min(between(r, 28, 64), (width * 0.85) / (name.length * 0.62));
  const sub = pick(r, [
    `Open ${int(r, 6, 10)}am - ${int(r, 5, 11)}pm`,
    `Since ${int(r, 1950, 2015)}`,
    `Tel ${digits(r, 3)} ${digits(r, 4)}`,
    `${capital(pick(r, words))} & ${capital(pick(r, words))}`,
  ]);
  const fy = between(r, 20, height * 0.3);
  const fh = size * 2.6;
  const back = texture(r, tone(r, between(r, 60, 200), 1), 0, 0, width, height, between(r, 0.3, 0.9));
  const fascia = texture(r, panel, 0, fy, width, fh, between(r, 0.05, 0.3));
  const light = lighting(r, width, height);
  const texts: TextItem[] = [
    decorate(
      r,
      { text: name, x: width / 2, y: fy + size * 1.05, size, font, fill: rgb(ink), anchor: "middle", weight: "bold" },
      panel,
    ),
    {
      text: sub,
      x: width / 2,
      y: fy + size * 2.2,
      size: Math.max(14, size * between(r, 0.35, 0.5)),
      font,
      fill: rgb(ink),
      anchor: "middle",
    },
  ];
  const lines = [name, sub];
  const shapes = [
    back.shape,
    fascia.shape,
    `<rect x="${(width * 0.1).toFixed(0)}" y="${(fy + fh + 20).toFixed(0)}" width="${(width * 0.35).toFixed(0)}" height="${(height - fy - fh - 20).toFixed(0)}" fill="rgb(${int(r, 60, 160)},${int(r, 90, 180)},${int(r, 110, 200)})" opacity="0.8"/>`,
  ];
  if (r() < 0.6) {
    const extra = pick(r, ["OPEN", "SALE", "WELCOME", "PUSH", "NO PARKING", "CLOSED"]);
    const es = Math.max(14, size * between(r, 0.35, 0.55));
    texts.push({
      text: extra,
      x: width * 0.75,
      y: fy + fh + 60,
      size: es,
      font,
      fill: "#c00",
      anchor: "middle",
      weight: "bold",
    });
    shapes.push(
      `<rect x="${(width * 0.75 - extra.length * es * 0.4).toFixed(0)}" y="${(fy + fh + 60 - es).toFixed(0)}" width="${(extra.length * es * 0.8).toFixed(0)}" height="${(es * 1.4).toFixed(0)}" fill="${rgb(tone(r, 235, 0.2))}"/>`,
    );
    lines.push(extra);
  }
  return {
    width,
    height,
    background: "#808080",
    defs: back.def + fascia.def + light.def,
    shapes,
    texts,
    overlay: [light.shape],
    lines,
    degrade: hardDegrade(r, texts),
  };
}

function chinese(r: Rand, set: SynthSet): Layout {
  const words = half(CJK_WORDS, set);
  const font = pick(r, CJK_FONTS[set]);
  const onSign = r() < 0.5;
  const width = int(r, 480, 760);
  const size = between(r, onSign ? 30 : 18, onSign ? 48 : 28);
  const count = int(r, 2, onSign ? 3 : 7);
  const lh = size * 1.6;
  const margin = 30;
  const [panel, ink] = onSign ? pick(r, PANELS) : ["#fdfdf8", "#111"];
  const texts: TextItem[] = [];
  const lines: string[] = [];
  let y = margin + size;
  for (let i = 0; i < count; i++) {
    let text = Array.from({ length: int(r, 1, 3) }, () => pick(r, words)).join(r() < 0.5 ? "" : " ");
    if (r() < 0.3) text += ` ${pick(r, [`${int(r, 1, 99)}元`, `${time(r)}-${time(r)}`, `${int(r, 100, 999)}号`])}`;
    while (estWidth(text, size, 0, true) > width - 2 * margin) text = text.slice(0, -1);
    texts.push({ text, x: onSign ? width / 2 : margin, y, size, font, fill: ink, anchor: onSign ? "middle" : "start" });
    lines.push(text.trim());
    y += lh;
  }
  return {
    width,
    height: Math.ceil(y + margin),
    background: panel,
    shapes: [],
    texts,
    lines,
    degrade: onSign
      ? { ...sceneDegrade(r), perspective: between(r, 0, 0.08) }
      : {
          rotate: between(r, -2, 2),
          perspective: 0,
          blur: r() < 0.3 ? 0.6 : 0,
          noise: between(r, 0, 10),
          jpeg: int(r, 55, 95),
        },
  };
}

/** Maps the unit square's corners to the four given corners (a projective warp), sampled bilinearly. */
function perspectiveWarp(data: Buffer, width: number, height: number, amount: number, r: Rand): Buffer {
  if (amount <= 0) return data;
  // Each destination corner moves inward by up to amount * size; invert by solving the homography that
  // maps destination to source (the 8-unknown linear system, Gauss-Jordan).
  const jitter = () => [between(r, 0, amount) * width, between(r, 0, amount) * height] as const;
  const [a, b, c, d] = [jitter(), jitter(), jitter(), jitter()];
  const dst: [number, number][] = [
    [a[0], a[1]],
    [width - b[0], b[1]],
    [width - c[0], height - c[1]],
    [d[0], height - d[1]],
  ];
  const src: [number, number][] = [
    [0, 0],
    [width, 0],
    [width, height],
    [0, height],
  ];
  const m: number[][] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = dst[i]!;
    const [u, v] = src[i]!;
    m.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    m.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  }
  for (let col = 0; col < 8; col++) {
    let pivot = col;
    for (let row = col + 1; row < 8; row++) if (Math.abs(m[row]![col]!) > Math.abs(m[pivot]![col]!)) pivot = row;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let row = 0; row < 8; row++) {
      if (row === col) continue;
      const f = m[row]![col]! / m[col]![col]!;
      for (let k = col; k < 9; k++) m[row]![k]! -= f * m[col]![k]!;
    }
  }
  const h = m.map((row, i) => row[8]! / row[i]!);
  const out = Buffer.alloc(width * height * 3, 110);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const w = h[6]! * x + h[7]! * y + 1;
      const u = (h[0]! * x + h[1]! * y + h[2]!) / w;
      const v = (h[3]! * x + h[4]! * y + h[5]!) / w;
      if (u < 0 || v < 0 || u >= width - 1 || v >= height - 1) continue;
      const x0 = Math.floor(u);
      const y0 = Math.floor(v);
      const fx = u - x0;
      const fy = v - y0;
      for (let ch = 0; ch < 3; ch++) {
        const p = (yy: number, xx: number) => data[(yy * width + xx) * 3 + ch]!;
        out[(y * width + x) * 3 + ch] =
          (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x0 + 1)) +
          fy * ((1 - fx) * p(y0 + 1, x0) + fx * p(y0 + 1, x0 + 1));
      }
    }
  }
  return out;
}

async function render(layout: Layout, r: Rand): Promise<Buffer> {
  const { width, height, degrade } = layout;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs>${layout.defs ?? ""}</defs><rect width="100%" height="100%" fill="${layout.background}"/>${layout.shapes.join("")}${layout.texts.map(svgText).join("")}${(layout.overlay ?? []).join("")}</svg>`;
  let image = sharp(Buffer.from(svg)).flatten({ background: "#808080" });
  if (degrade.rotate !== 0)
    image = image.rotate(degrade.rotate, {
      background: layout.background.startsWith("#") ? layout.background : "#888888",
    });
  const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let pixels = perspectiveWarp(data, info.width, info.height, degrade.perspective, r);
  if (degrade.lowRes !== undefined && degrade.lowRes < 1) {
    const small = Math.max(16, Math.round(info.width * degrade.lowRes));
    pixels = await sharp(pixels, { raw: { width: info.width, height: info.height, channels: 3 } })
      .resize(small)
      .raw()
      .toBuffer();
    pixels = await sharp(pixels, {
      raw: { width: small, height: Math.round((info.height * small) / info.width), channels: 3 },
    })
      .resize(info.width, info.height, { fit: "fill" })
      .raw()
      .toBuffer();
  }
  if (degrade.noise > 0) {
    pixels = Buffer.from(pixels);
    for (let i = 0; i < pixels.length; i++) {
      const n = (r() + r() + r() - 1.5) * 2 * degrade.noise;
      pixels[i] = Math.max(0, Math.min(255, pixels[i]! + n));
    }
  }
  let out = sharp(pixels, { raw: { width: info.width, height: info.height, channels: 3 } });
  if (degrade.blur >= 0.3) out = out.blur(degrade.blur);
  if (degrade.motion !== undefined && degrade.motion >= 3) {
    const n = degrade.motion;
    // Diagonal or horizontal shake: a line kernel.
    const diagonal = r() < 0.5;
    const kernel = Array.from({ length: n * n }, (_, i) =>
      (diagonal ? i % n === Math.floor(i / n) : Math.floor(i / n) === n >> 1) ? 1 : 0,
    );
    out = sharp(await out.raw().toBuffer(), { raw: { width: info.width, height: info.height, channels: 3 } }).convolve({
      width: n,
      height: n,
      kernel,
      scale: n,
    });
  }
  return out.jpeg({ quality: degrade.jpeg }).toBuffer();
}

const MAKERS: Record<SynthGroup, ((r: Rand, set: SynthSet) => Layout)[]> = {
  documents: [receipt, form, page],
  scene: [hardSign, wall, hardPlate, hardStorefront],
  cjk: [chinese],
};

/** `count` images of a group in a set; the same arguments always give the same images. */
export async function syntheticImages(group: SynthGroup, set: SynthSet, count: number): Promise<SynthImage[]> {
  const base = (set === "tune" ? 1_000 : 500_000) + { documents: 0, scene: 100_000, cjk: 200_000 }[group];
  const images: SynthImage[] = [];
  for (let i = 0; i < count; i++) {
    const r = rng(base + i);
    const maker = MAKERS[group][i % MAKERS[group].length]!;
    const layout = maker(r, set);
    images.push({
      name: `${set}-${group}-${maker.name}-${i}`,
      group,
      set,
      bytes: await render(layout, r),
      lines: layout.lines.filter((l) => l.trim() !== ""),
    });
  }
  return images;
}
