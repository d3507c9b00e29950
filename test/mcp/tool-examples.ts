/**
 * One valid call per built-in tool, for the tests that "call every tool" over a real transport. A tool with
 * no entry here fails those tests on purpose: a new tool must come with a call that exercises it.
 */
export function toolExamples(
  image: string,
  textImage: string,
  options: { model?: boolean } = {},
): Record<string, Record<string, unknown>> {
  return {
    image_zoom_in_tool: { image, bbox_2d: [250, 250, 750, 750], label: "the middle" },
    image_crop: { image, bbox_2d: [0, 0, 500, 500] },
    image_rotate: { image, angle: 90 },
    image_enhance: { image, greyscale: true, contrast: 1.5 },
    image_annotate: { image, boxes: [{ bbox_2d: [100, 100, 400, 400], label: "a box" }] },
    image_info: { image },
    ocr: { image: textImage },
    locate: { image: textImage, query: "text", mode: "ocr" },
    // Served only with a model (squint mcp --model | --base-url).
    ...(options.model
      ? { ask_image: { images: [image], question: "What colour is the rectangle?", max_steps: 2 } }
      : {}),
  };
}
