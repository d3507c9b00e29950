import { request } from "undici";
import { z } from "zod";
import { SquintError } from "../../errors.js";
import { redactSecrets, serverAddress } from "./credentials.js";

const modelListSchema = z.object({ data: z.array(z.object({ id: z.string() })) });

const MODEL_LIST_TIMEOUT_MS = 10_000;

/**
 * The one model an OpenAI-compatible server serves, from `GET /models` (vLLM and SGLang serve one; Ollama
 * lists what is pulled). Lets a caller name only the server, as long as the choice is not ambiguous.
 */
export async function servedModelName(baseUrl: string, apiKey?: string): Promise<string> {
  // The URL shown in errors has no credentials; they travel as a header (credentials.ts).
  const address = serverAddress(baseUrl);
  const secrets = [...address.secrets, ...(apiKey ? [apiKey] : [])];
  const url = `${address.url.replace(/\/+$/, "")}/models`;
  let body: unknown;
  try {
    const authorization = apiKey ? `Bearer ${apiKey}` : address.basicAuthorization;
    const response = await request(url, {
      headers: authorization ? { authorization } : {},
      headersTimeout: MODEL_LIST_TIMEOUT_MS,
      bodyTimeout: MODEL_LIST_TIMEOUT_MS,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200)
      throw new SquintError("BACKEND_FAILED", `HTTP ${response.statusCode}: ${text.slice(0, 200)}`);
    body = JSON.parse(text);
  } catch (error) {
    const reason = redactSecrets((error as Error).message, secrets);
    throw new SquintError("BACKEND_FAILED", `Could not list the models at ${url}: ${reason}`, {
      hint: "Check that the server is running at the base URL (the API root, usually ending in /v1), or name the model (--model-name).",
    });
  }
  const parsed = modelListSchema.safeParse(body);
  const ids = parsed.success ? parsed.data.data.map((model) => model.id) : [];
  if (ids.length !== 1) {
    throw new SquintError(
      "INVALID_ARGUMENT",
      ids.length === 0
        ? `${url} lists no models.`
        : `${url} serves ${ids.length} models (${ids.slice(0, 8).join(", ")}); which one is meant?`,
      { hint: "Name the model on that server (--model-name NAME, or modelName in code)." },
    );
  }
  return ids[0] as string;
}
