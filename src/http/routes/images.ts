import { z } from "zod";
import { SquintError } from "../../errors.js";
import { errorBodySchema } from "../error-reply.js";
import { resolveRequestImages, UPLOAD_ID_PATTERN } from "../request-images.js";
import type { ServeApp, ServeContext } from "../serve-context.js";

/**
 * POST /v1/images: upload an image once (a data URL or an http(s) URL), get an id (`upl_…`) to name it in
 * later /v1/locate, /v1/ask and chat requests without sending it again. The table is bounded (--max-uploads,
 * oldest dropped) and entries expire after --upload-ttl-s without use. DELETE drops one early.
 */

export const uploadBodySchema = z.object({
  image: z.string().min(1).describe("A data URL (data:image/png;base64,…) or an http(s) URL."),
});

export const uploadResultSchema = z.object({
  id: z.string().describe("Name the image by this id in later requests (upl_…)."),
  width: z.number().int(),
  height: z.number().int(),
  format: z.string(),
  expires_at: z.string().describe("When the upload expires unless used again (ISO 8601)."),
});

export function registerImageRoutes(app: ServeApp, context: ServeContext): void {
  app.post(
    "/v1/images",
    {
      schema: {
        summary: "Upload an image once; name it by the returned id later.",
        body: uploadBodySchema,
        response: { 200: uploadResultSchema, "4xx": errorBodySchema, "5xx": errorBodySchema },
      },
    },
    async (request) => {
      if (UPLOAD_ID_PATTERN.test(request.body.image.trim())) {
        throw new SquintError("INVALID_ARGUMENT", "That is already an uploaded image's id.", {
          hint: "Upload a data URL or an http(s) URL.",
        });
      }
      const { images, release } = await resolveRequestImages([request.body.image], {
        store: context.store,
        uploads: context.uploads,
        policy: context.policy,
        signal: request.clientGone,
      });
      // The request's pin becomes the upload's pin: released when the upload expires or is deleted.
      const image = images[0]!;
      void release;
      const info = context.uploads.add(image);
      return {
        id: info.id,
        width: info.width,
        height: info.height,
        format: info.format,
        expires_at: new Date(info.expiresAt).toISOString(),
      };
    },
  );

  app.delete(
    "/v1/images/:id",
    {
      schema: {
        summary: "Drop an uploaded image before it expires.",
        params: z.object({ id: z.string() }),
        response: { 200: z.object({ id: z.string(), deleted: z.literal(true) }), "4xx": errorBodySchema },
      },
    },
    async (request) => {
      if (!context.uploads.delete(request.params.id)) {
        throw new SquintError("NOT_FOUND", `No uploaded image ${request.params.id} (unknown, or expired).`, {
          hint: "Nothing to delete.",
        });
      }
      return { id: request.params.id, deleted: true as const };
    },
  );
}
