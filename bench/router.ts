// The router's search (packages/hub/src/finder/, served by endpoint/served.ts as
// tether__find_tools): how often the right tool is among the first results for the measuring
// set of packages/hub/test/finder/fixtures/router-set.json (200 tools, 50 queries in English
// and Chinese), how long a search takes, what the endpoint is spared, and the same search
// with a dictionary segmenter for Chinese — the comparison docs/architecture.md's decision on
// character bigrams rests on.
import { performance } from 'node:perf_hooks';
import { ToolIndex } from '../packages/hub/src/finder/index.js';
import type { ToolIndexOptions } from '../packages/hub/src/finder/index.js';
import { tokenize } from '../packages/hub/src/finder/tokens.js';
import { CALL_TOOL, FIND_TOOLS } from '../packages/hub/src/endpoint/served.js';
import { routerCatalog, routerSet } from '../packages/hub/test/finder/fixture.js';
import type { RouterSet } from '../packages/hub/test/finder/fixture.js';
import { summary } from './lib.js';
import type { Row } from './lib.js';

interface Ranks {
  n: number;
  top1: number;
  top3: number;
  top5: number;
  /** Queries whose tool was not in the top 3. */
  misses: string[];
}

function measure(set: RouterSet, options: ToolIndexOptions, lang?: 'en' | 'zh'): Ranks {
  const index = new ToolIndex(
    routerCatalog(set).map((e) => e.definition),
    options,
  );
  const ranks: Ranks = { n: 0, top1: 0, top3: 0, top5: 0, misses: [] };
  for (const q of set.queries) {
    if (lang && q.lang !== lang) continue;
    const rank = index
      .search(q.query, 5)
      .map((f) => f.tool.name)
      .indexOf(q.expected);
    ranks.n++;
    if (rank === 0) ranks.top1++;
    if (rank >= 0 && rank < 3) ranks.top3++;
    else ranks.misses.push(`“${q.query}”`);
    if (rank >= 0) ranks.top5++;
  }
  return ranks;
}

const share = (k: number, n: number) => `${k} of ${n} (${Math.round((100 * k) / n)} %)`;

/**
 * Chinese split into words by ICU's dictionary (Intl.Segmenter, built into Node), Latin text as
 * the finder splits it: the "proper segmenter" the issue offered instead of bigrams.
 */
function segmenterTokenize(): (text: string) => string[] {
  const segmenter = new Intl.Segmenter('zh', { granularity: 'word' });
  const cjk = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
  // The finder's particles and common characters, so the two differ only in how words are cut.
  const skip = new Set([
    ...'的了吗呢吧啊呀么嘛哦呗着过我你他她它们是在有个这那请帮把给要就都也和与或一不',
  ]);
  return (text) => {
    const out: string[] = [];
    for (const s of segmenter.segment(text.normalize('NFKC'))) {
      if (!s.isWordLike) continue;
      if (cjk.test(s.segment)) {
        if (!skip.has(s.segment)) out.push(s.segment);
      } else out.push(...tokenize(s.segment));
    }
    return out;
  };
}

export async function routerBench(): Promise<Row[]> {
  const set = routerSet();
  const all = measure(set, {});
  const en = measure(set, {}, 'en');
  const zh = measure(set, {}, 'zh');
  const tools = routerCatalog(set).map((e) => e.definition);

  // Time: building the index (once per tool set) and one search (per tether__find_tools).
  const builds: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    new ToolIndex(tools);
    builds.push(performance.now() - t);
  }
  const index = new ToolIndex(tools);
  const searches: number[] = [];
  for (let round = 0; round < 40; round++)
    for (const q of set.queries) {
      const t = performance.now();
      index.search(q.query, 5);
      searches.push((performance.now() - t) * 1000);
    }
  const build = summary(builds);
  const search = summary(searches);
  const listBytes = (list: unknown[]) => Buffer.byteLength(JSON.stringify({ tools: list }));
  const full = listBytes(tools);
  const routed = listBytes([FIND_TOOLS, CALL_TOOL]);

  const words = measure(set, { tokenize: segmenterTokenize() }, 'zh');
  return [
    {
      what:
        'router search (`tether__find_tools`: BM25F over tool names, descriptions and parameters; ' +
        'Chinese as characters and bigrams): 200 tools of 28 servers, 50 queries, 25 English and ' +
        '25 Chinese (packages/hub/test/finder/fixtures/router-set.json); the expected tool among the first 3',
      result:
        `**${share(all.top3, all.n)}**; first ${share(all.top1, all.n)}, among 5 ${share(all.top5, all.n)}; ` +
        `English ${en.top3}/${en.n} in the top 3 (first ${en.top1}), Chinese ${zh.top3}/${zh.n} (first ${zh.top1}). ` +
        `Not in the top 3: ${all.misses.join(', ')}`,
      target: 'none (the issue asks for the figure)',
      met: undefined,
    },
    {
      what:
        'what the router costs and saves on the same set: building the index (once per tool set), ' +
        'one search of the 50 queries (40 rounds), and tools/list as the endpoint gets it',
      result:
        `index built in ${build.p50.toFixed(2)} ms (p50 of 50); a search p50 ${search.p50.toFixed(0)} µs, ` +
        `p99 ${search.p99.toFixed(0)} µs; tools/list ${(full / 1024).toFixed(1)} KB for the 200 tools, ` +
        `${(routed / 1024).toFixed(1)} KB for the router's two (plus any pinned), at the price of one more ` +
        'round trip (the search) before a call',
      target: 'none',
      met: undefined,
    },
    {
      what:
        'the 25 Chinese queries with Chinese cut into words by a dictionary segmenter ' +
        "(Intl.Segmenter, ICU's, built into Node) instead of characters and bigrams, all else the same",
      result:
        `${share(words.top3, words.n)} in the top 3 (bigrams: ${zh.top3}), first ${words.top1} (bigrams: ${zh.top1}), ` +
        `among 5 ${words.top5} (bigrams: ${zh.top5}); missed: ${words.misses.join(', ')}`,
      target: 'none',
      met: undefined,
    },
  ];
}
