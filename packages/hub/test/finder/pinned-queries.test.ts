import { describe, expect, it } from 'vitest';
import { ToolIndex } from '../../src/finder/index.js';
import { routerCatalog, routerSet } from './fixture.js';

/**
 * A handful of the measuring set's queries (fixtures/router-set.json; the whole set is measured
 * by `npx tsx bench/run.ts router`, docs/benchmarks.md), each pinned to the top three results
 * it gets now, so a change of the tokenizer or the scoring that moves them shows here.
 */
const PINNED: Array<[query: string, top3: string[]]> = [
  [
    'turn on the kitchen light',
    ['homeassistant__turn_on', 'homeassistant__turn_off', 'music__set_shuffle'],
  ],
  [
    'convert 10 miles to kilometers',
    ['calc__convert_units', 'time__convert_timezone', 'finance__currency_convert'],
  ],
  ['is flight CA981 delayed', ['travel__flight_status', 'travel__search_flights']],
  ['start the robot vacuum', ['mijia__vacuum_start', 'mijia__vacuum_dock', 'clock__stopwatch']],
  ['把客厅的灯打开', ['mijia__light', 'mijia__smart_plug', 'esp32__water_pump']],
  ['坐地铁去西湖怎么走', ['amap__route_transit', 'amap__geocode', 'amap__reverse_geocode']],
  ['这首歌的歌词是什么', ['netease__lyrics', 'fun__tang_poem', 'netease__search_song']],
  [
    '查一下北京到上海的高铁票',
    ['travel__train_tickets', 'tianqi__query_weather', 'tianqi__weather_warning'],
  ],
];

describe('the router’s search on the 200-tool set', () => {
  const set = routerSet();
  const index = new ToolIndex(routerCatalog(set).map((e) => e.definition));

  it('has the set the benchmark measures: 200 tools, 50 queries, at least 20 in Chinese', () => {
    expect(index.tools).toHaveLength(200);
    expect(set.queries).toHaveLength(50);
    expect(set.queries.filter((q) => q.lang === 'zh').length).toBeGreaterThanOrEqual(20);
    const names = new Set(index.tools.map((t) => t.name));
    for (const q of set.queries) expect(names.has(q.expected), q.expected).toBe(true);
  });

  it.each(PINNED)('puts the right tool first for “%s”', (query, top3) => {
    expect(set.queries.find((q) => q.query === query)?.expected).toBe(top3[0]);
    expect(index.search(query, 3).map((f) => f.tool.name)).toEqual(top3);
  });
});
