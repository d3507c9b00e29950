import { parseArgs } from "node:util";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import { DEFAULT_PREPROCESSOR_CONFIG } from "../../model/config.js";
import { decodeImage } from "../../model/image-decode.js";
import { smartResize } from "../../model/vision.js";
import type { CliIO, Command } from "../command.js";

/**
 * `squint inspect <image>`: what the model would see of an image — its upright size, the size Qwen3-VL's
 * processor resizes it to, the patch grid and the number of visual tokens it costs.
 */

const usage = `Usage: squint inspect <image> [--min-pixels N] [--max-pixels N] [--json]

Shows how Qwen3-VL's processor would resize an image and how many visual tokens it costs.

Options:
  --min-pixels N   least pixels (H×W) after resizing (default ${DEFAULT_PREPROCESSOR_CONFIG.minPixels})
  --max-pixels N   most pixels (H×W) after resizing (default ${DEFAULT_PREPROCESSOR_CONFIG.maxPixels})
  --json           print one JSON object instead of text
`;

const pixelCount = (flag: string) =>
  z
    .string()
    .regex(/^\d+$/, `${flag} takes a whole number of pixels`)
    .transform((text) => Number(text))
    .pipe(z.number().int().positive(`${flag} must be greater than zero`).max(Number.MAX_SAFE_INTEGER));

const argsSchema = z.object({
  image: z.string().min(1),
  minPixels: pixelCount("--min-pixels").optional(),
  maxPixels: pixelCount("--max-pixels").optional(),
  json: z.boolean(),
});

export interface InspectReport {
  image: string;
  original: { width: number; height: number };
  resized: { width: number; height: number };
  /** `image_grid_thw` in patch units. */
  gridThw: [number, number, number];
  /** `<|image_pad|>` tokens (t·h·w/merge²). */
  visualTokens: number;
  minPixels: number;
  maxPixels: number;
}

export async function inspectImage(
  image: string,
  options: { minPixels?: number | undefined; maxPixels?: number | undefined } = {},
): Promise<InspectReport> {
  const { patchSize, mergeSize } = DEFAULT_PREPROCESSOR_CONFIG;
  const minPixels = options.minPixels ?? DEFAULT_PREPROCESSOR_CONFIG.minPixels;
  const maxPixels = options.maxPixels ?? DEFAULT_PREPROCESSOR_CONFIG.maxPixels;
  // Decoding (not just reading the header) applies EXIF orientation and proves the file is usable.
  const decoded = await decodeImage(image);
  const size = smartResize(decoded.height, decoded.width, { factor: patchSize * mergeSize, minPixels, maxPixels });
  const gridThw: [number, number, number] = [1, size.height / patchSize, size.width / patchSize];
  return {
    image,
    original: { width: decoded.width, height: decoded.height },
    resized: { width: size.width, height: size.height },
    gridThw,
    visualTokens: (gridThw[0] * gridThw[1] * gridThw[2]) / (mergeSize * mergeSize),
    minPixels,
    maxPixels,
  };
}

function formatReport(report: InspectReport): string {
  const rows: [string, string][] = [
    ["image", report.image],
    ["original", `${report.original.width}×${report.original.height}`],
    ["resized", `${report.resized.width}×${report.resized.height}`],
    ["grid (t,h,w)", `[${report.gridThw.join(", ")}]`],
    ["visual tokens", `${report.visualTokens} (+2 for <|vision_start|> and <|vision_end|>)`],
    ["pixel budget", `${report.minPixels} – ${report.maxPixels}`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return `${rows.map(([label, value]) => `${`${label}:`.padEnd(width + 2)}${value}`).join("\n")}\n`;
}

export const inspectCommand: Command = {
  name: "inspect",
  summary: "show how Qwen3-VL would resize an image and how many visual tokens it costs",
  usage,
  async run(argv: string[], io: CliIO): Promise<number> {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        "min-pixels": { type: "string" },
        "max-pixels": { type: "string" },
        json: { type: "boolean", default: false },
      },
    });
    if (positionals.length !== 1) {
      throw new SquintError(
        "INVALID_ARGUMENT",
        positionals.length === 0 ? "No image given" : `Expected one image, got ${positionals.length}`,
        { hint: "Run `squint inspect path/to/image.jpg` (see `squint inspect --help`)." },
      );
    }
    const parsed = argsSchema.safeParse({
      image: positionals[0],
      minPixels: values["min-pixels"],
      maxPixels: values["max-pixels"],
      json: values.json,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SquintError("INVALID_ARGUMENT", issue ? issue.message : "Invalid arguments", {
        hint: "Pixel budgets are whole numbers of pixels, e.g. --max-pixels 1003520.",
      });
    }
    const report = await inspectImage(parsed.data.image, {
      minPixels: parsed.data.minPixels,
      maxPixels: parsed.data.maxPixels,
    });
    io.stdout.write(parsed.data.json ? `${JSON.stringify(report)}\n` : formatReport(report));
    return 0;
  },
};
