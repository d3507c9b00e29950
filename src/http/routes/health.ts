import { z } from "zod";
import { errorBodySchema } from "../error-reply.js";
import type { ServeApp, ServeContext } from "../serve-context.js";

/**
 * Liveness apart from readiness (peers-gui-serving.md §D.3): /health is 200 while the process can answer,
 * with the queue depths; /ready is 503 until the model is loaded and warmed (and again if it failed), so a
 * load balancer never routes to a server still loading. /v1/models lists the one model (never a readiness
 * signal). /metrics is Prometheus text.
 */

const healthSchema = z.object({
  status: z.literal("ok"),
  model: z.enum(["none", "loading", "warming", "ready", "failed"]),
  running: z.number().int(),
  waiting: z.number().int(),
  uptime_s: z.number(),
});

const readySchema = z.object({
  ready: z.boolean(),
  model: z.enum(["none", "loading", "warming", "ready", "failed"]),
  error: z.string().optional(),
});

const modelsSchema = z.object({
  object: z.literal("list"),
  data: z.array(
    z.object({ id: z.string(), object: z.literal("model"), created: z.number().int(), owned_by: z.string() }),
  ),
});

export function registerHealthRoutes(app: ServeApp, context: ServeContext): void {
  app.get(
    "/health",
    { schema: { summary: "Liveness: 200 while the process answers.", response: { 200: healthSchema } } },
    async () => ({
      status: "ok" as const,
      model: context.model.status,
      running: context.lanes.model.running + context.lanes.ocr.running,
      waiting: context.lanes.model.waiting + context.lanes.ocr.waiting,
      uptime_s: Math.round((Date.now() - context.startedAt) / 1000),
    }),
  );

  app.get(
    "/ready",
    {
      schema: {
        summary: "Readiness: 200 once the model is loaded and warmed (or when serving without a model).",
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_request, reply) => {
      const status = context.model.status;
      const ready = status === "ready" || status === "none";
      if (!ready) reply.code(503).header("retry-after", "5");
      return {
        ready,
        model: status,
        ...(context.model.error ? { error: context.model.error.message } : {}),
      };
    },
  );

  app.get(
    "/v1/models",
    {
      schema: {
        summary: "The model this server serves (OpenAI-compatible).",
        response: { 200: modelsSchema, "4xx": errorBodySchema },
      },
    },
    async () => ({
      object: "list" as const,
      data: context.model.configured
        ? [
            {
              id: context.model.name,
              object: "model" as const,
              created: Math.floor(context.startedAt / 1000),
              owned_by: "squint",
            },
          ]
        : [],
    }),
  );

  app.get(
    "/metrics",
    { schema: { summary: "Prometheus metrics (vLLM names where they exist)." } },
    async (_r, reply) => {
      reply.type(context.metrics.registry.contentType);
      return context.metrics.registry.metrics();
    },
  );
}
