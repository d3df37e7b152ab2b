import { isCjkChar, tokenize as tokenizeText } from './tokens.js';

/** What the finder reads of a tool: its name, its description and its input schema. */
export interface FinderTool {
  name: string;
  description?: string;
  inputSchema?: unknown;
}

export interface ToolIndexOptions {
  /** Text → terms, for queries and tools alike. Default finder/tokens.ts's `tokenize`. */
  tokenize?: (text: string) => string[];
}

export interface Found<T> {
  tool: T;
  score: number;
}

/**
 * How much a match in each part of a tool counts. The name is what the tool is; the
 * description says what it does; parameters say what it takes, and their words ("city",
 * "time") are shared by many tools, so they count least.
 */
const FIELD_WEIGHTS = { name: 3, description: 1, params: 0.5 } as const;
type Field = keyof typeof FIELD_WEIGHTS;
const FIELDS = Object.keys(FIELD_WEIGHTS) as Field[];

/** BM25's usual constants: how fast repeats stop counting, and how much length is discounted. */
const K1 = 1.2;
const B = 0.75;

/** A lone CJK character is a weaker sign than a pair of them or a Latin word. */
const CJK_CHAR_WEIGHT = 0.5;

/**
 * The most of a description, and of a schema's parameter text, that is indexed: tool lists
 * come from servers, and a server's 1 MB description should cost the index no more than this.
 */
const MAX_FIELD_CHARS = 4_000;

interface Doc {
  /** Term → weighted, length-normalised frequency over the fields (BM25F's pseudo-frequency). */
  terms: Map<string, number>;
}

/**
 * Ranked lexical search over a tool set: BM25F over three fields (name, description,
 * parameters), terms from finder/tokens.ts. Built once per tool set and kept while the set
 * lasts; a search scores only the tools that share a term with the query.
 */
export class ToolIndex<T extends FinderTool> {
  private readonly docs: Doc[] = [];
  /** Term → the tools that have it (their index in `tools`). */
  private readonly postings = new Map<string, number[]>();
  private readonly idf = new Map<string, number>();
  private readonly tokenize: (text: string) => string[];

  constructor(
    readonly tools: readonly T[],
    options: ToolIndexOptions = {},
  ) {
    const tokenize = (this.tokenize = options.tokenize ?? tokenizeText);
    const fielded = tools.map((tool) => ({
      name: tokenize(tool.name),
      description: tokenize((tool.description ?? '').slice(0, MAX_FIELD_CHARS)),
      params: tokenize(paramText(tool.inputSchema).slice(0, MAX_FIELD_CHARS)),
    }));
    const average = Object.fromEntries(
      FIELDS.map((f) => [
        f,
        Math.max(1, fielded.reduce((sum, d) => sum + d[f].length, 0) / (fielded.length || 1)),
      ]),
    ) as Record<Field, number>;
    fielded.forEach((fields, i) => {
      const terms = new Map<string, number>();
      for (const field of FIELDS) {
        const list = fields[field];
        const norm = 1 - B + (B * list.length) / average[field];
        const counts = new Map<string, number>();
        for (const term of list) counts.set(term, (counts.get(term) ?? 0) + 1);
        for (const [term, count] of counts)
          terms.set(term, (terms.get(term) ?? 0) + (FIELD_WEIGHTS[field] * count) / norm);
      }
      this.docs.push({ terms });
      for (const term of terms.keys()) {
        const list = this.postings.get(term);
        if (list) list.push(i);
        else this.postings.set(term, [i]);
      }
    });
    const n = tools.length;
    for (const [term, list] of this.postings)
      this.idf.set(term, Math.log(1 + (n - list.length + 0.5) / (list.length + 0.5)));
  }

  /**
   * The `k` tools that best match `query`, best first; ties go by name, so the same query on the
   * same set always gives the same answer. Tools that share no term with it are not returned.
   */
  search(query: string, k: number): Array<Found<T>> {
    const wanted = new Map<string, number>();
    for (const term of this.tokenize(query))
      wanted.set(term, Math.max(wanted.get(term) ?? 0, isCjkChar(term) ? CJK_CHAR_WEIGHT : 1));
    const scores = new Map<number, number>();
    for (const [term, weight] of wanted) {
      const idf = this.idf.get(term);
      if (idf === undefined) continue;
      for (const i of this.postings.get(term)!) {
        const tf = this.docs[i]!.terms.get(term)!;
        scores.set(i, (scores.get(i) ?? 0) + (weight * idf * tf * (K1 + 1)) / (tf + K1));
      }
    }
    return [...scores]
      .map(([i, score]) => ({ tool: this.tools[i]!, score }))
      .sort((a, b) => b.score - a.score || (a.tool.name < b.tool.name ? -1 : 1))
      .slice(0, Math.max(0, k));
  }
}

/**
 * The words of a schema's parameters: each property's name, title, description and string
 * enum values, one level of nesting deep (an object's properties, an array's items).
 */
function paramText(schema: unknown, depth = 0): string {
  if (!isObject(schema) || depth > 1) return '';
  const properties = isObject(schema.properties) ? schema.properties : {};
  const parts: string[] = [];
  for (const [key, value] of Object.entries(properties)) {
    parts.push(key);
    if (!isObject(value)) continue;
    for (const field of ['title', 'description'] as const)
      if (typeof value[field] === 'string') parts.push(value[field]);
    if (Array.isArray(value.enum))
      parts.push(...value.enum.filter((v): v is string => typeof v === 'string'));
    parts.push(paramText(value, depth + 1));
    if (isObject(value.items)) parts.push(paramText(value.items, depth + 1));
  }
  return parts.join(' ');
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
