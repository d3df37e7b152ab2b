/**
 * One upstream WebSocket frame is one session message, and back (docs/session-gateway.md,
 * "Frames"):
 *
 *   upstream text frame "…"      ⇄  body "…"                  (the text itself, never parsed)
 *   upstream binary frame        ⇄  body {"$binary": "<base64>"}
 *   client body of any other JSON  ─▶  text frame of its JSON text
 *
 * Text stays text: an upstream that speaks JSON reaches the client as a string holding that
 * JSON exactly as it was written, so nothing is re-serialised on the way (key order, spacing,
 * big numbers all survive).
 */
export interface UpstreamFrame {
  data: string | Buffer;
  binary: boolean;
}

export interface BinaryBody {
  $binary: string;
}

/** The session message body for a frame the upstream sent. */
export function bodyOfUpstreamFrame(data: Buffer | ArrayBuffer | Buffer[], binary: boolean) {
  const buffer = Array.isArray(data)
    ? Buffer.concat(data)
    : Buffer.isBuffer(data)
      ? data
      : Buffer.from(data);
  return binary ? ({ $binary: buffer.toString('base64') } satisfies BinaryBody) : buffer.toString();
}

/** The frame the upstream gets for a body the client sent. */
export function upstreamFrameOfBody(body: unknown): UpstreamFrame {
  if (typeof body === 'string') return { data: body, binary: false };
  const bytes = binaryOf(body);
  if (bytes) return { data: bytes, binary: true };
  // `undefined` cannot arrive (bodies are parsed JSON), but a frame must carry some text.
  return { data: JSON.stringify(body) ?? 'null', binary: false };
}

/**
 * The bytes of a body that is exactly `{"$binary": "<base64>"}`: one key, and a string that is
 * canonical base64 (Node's decoder skips what it does not understand, so a typo would otherwise
 * become different bytes without a word). Anything else is not a binary body.
 */
function binaryOf(body: unknown): Buffer | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== '$binary') return undefined;
  const text = (body as BinaryBody).$binary;
  if (typeof text !== 'string') return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
