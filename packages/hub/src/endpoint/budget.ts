import type { ToolResult } from '../upstream/types.js';

interface TextContent {
  type: 'text';
  text: string;
}

const isText = (c: unknown): c is TextContent =>
  typeof c === 'object' &&
  c !== null &&
  (c as { type?: unknown }).type === 'text' &&
  typeof (c as { text?: unknown }).text === 'string';

/**
 * Keeps a result within the endpoint's size budget. Results of several kilobytes have
 * disconnected Xiaozhi devices, so an oversize result is cut — text shortened, other content
 * dropped — and says so plainly, so the model knows it saw part of the answer. `size`: the
 * result's JSON size in bytes, when the caller has measured it already.
 */
export function fitToBudget(
  result: ToolResult,
  budgetBytes: number,
  size = Buffer.byteLength(JSON.stringify(result)),
): ToolResult {
  if (budgetBytes <= 0 || size <= budgetBytes) return result;
  const note = `[Tether: the result was ${size} bytes, over this endpoint's budget of ${budgetBytes}; it was truncated.]`;
  const texts = result.content.filter(isText);
  const dropped = result.content.length - texts.length;
  // Room for text: the budget less the JSON around it, the note and a margin for escaping.
  let room = Math.max(0, budgetBytes - note.length - 200 - 40 * texts.length);
  const content: TextContent[] = [];
  for (const part of texts) {
    if (room <= 0) break;
    const cut = truncateUtf8(part.text, room);
    content.push({ type: 'text', text: cut });
    room -= Buffer.byteLength(JSON.stringify(cut));
  }
  const extra = dropped > 0 ? ` ${dropped} non-text item(s) were left out.` : '';
  content.push({ type: 'text', text: note.replace(/\]$/, `${extra}]`) });
  const fitted: ToolResult = { ...result, content };
  delete fitted.structuredContent;
  return fitted;
}

/** The longest prefix of `text` whose JSON encoding fits in `bytes`, cut on a character boundary. */
function truncateUtf8(text: string, bytes: number): string {
  if (Buffer.byteLength(JSON.stringify(text)) <= bytes) return text;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (Buffer.byteLength(JSON.stringify(text.slice(0, mid))) <= bytes) low = mid;
    else high = mid - 1;
  }
  // Never split a surrogate pair.
  const end = low > 0 && /[\uD800-\uDBFF]/.test(text[low - 1]!) ? low - 1 : low;
  return text.slice(0, end);
}
