import { describe, expect, it } from 'vitest';
import { ToolIndex } from '../../src/finder/index.js';
import { stem, tokenize } from '../../src/finder/tokens.js';

describe('the words a tool search counts', () => {
  it('splits camelCase, snake_case and dotted names into words, lower-cased', () => {
    expect(tokenize('getWeatherForecast')).toEqual(['get', 'weather', 'forecast']);
    expect(tokenize('homeassistant__light.turn_on')).toEqual([
      'homeassistant',
      'light',
      'turn',
      'on',
    ]);
    expect(tokenize('HTTPServer')).toEqual(['http', 'server']);
  });

  it('meets the forms of one English word, and drops the words every sentence has', () => {
    expect(tokenize("what's the weather like in Paris")).toEqual(['weather', 'like', 'paris']);
    for (const [a, b] of [
      ['lights', 'light'],
      ['scheduled', 'schedule'],
      ['batteries', 'battery'],
      ['running', 'run'],
      ['switches', 'switch'],
    ])
      expect(stem(a!)).toBe(stem(b!));
    expect(stem('news')).not.toBe(stem('new'));
  });

  it('reads Chinese as characters and pairs of neighbours, not across particles', () => {
    expect(tokenize('客厅的灯')).toEqual(['客', '客厅', '厅', '灯']);
    // Common characters count only inside pairs; full-width digits are digits, and numbers alone
    // (a request's arguments) are not terms.
    expect(tokenize('帮我把空调调到２６度')).toEqual([
      '帮我',
      '我把',
      '把空',
      '空',
      '空调',
      '调',
      '调调',
      '调',
      '调到',
      '到',
      '度',
    ]);
  });
});

const tool = (name: string, description: string, properties: Record<string, unknown> = {}) => ({
  name,
  description,
  inputSchema: { type: 'object', properties },
});

describe('ranked tool search', () => {
  const index = new ToolIndex([
    tool('music__play', 'Play a song, album or playlist.', { query: { type: 'string' } }),
    tool('weather__get_forecast', 'Daily forecast for a city.', {
      city: { type: 'string', description: 'City name' },
    }),
    tool('maps__search', 'Find places in a city, such as restaurants.'),
    tool('tianqi__forecast', '未来七天的天气预报。', { city: { description: '城市名称' } }),
    tool('device__volume', '设置音量大小。', {
      level: { type: 'integer', description: 'Volume', enum: ['low', 'high'] },
    }),
  ]);
  const names = (query: string, k = 5) => index.search(query, k).map((f) => f.tool.name);

  it('ranks a tool whose name and description say the task above one whose name alone does', () => {
    expect(names('forecast')).toEqual(['weather__get_forecast', 'tianqi__forecast']);
    expect(names('play a song')).toEqual(['music__play']);
  });

  it('finds by parameters too: their names, descriptions and enum values', () => {
    expect(names('volume level high')[0]).toBe('device__volume');
  });

  it('finds Chinese text from a Chinese query whose words differ from the description', () => {
    expect(names('明天天气怎么样')[0]).toBe('tianqi__forecast');
    expect(names('把音量调大一点')[0]).toBe('device__volume');
  });

  it('returns nothing for a query that shares no word with any tool, and at most k', () => {
    expect(names('zzqx')).toEqual([]);
    expect(names('forecast city play', 2)).toHaveLength(2);
  });

  it('gives the same answer for the same query whatever order the tools came in', () => {
    const tools = index.tools;
    const reversed = new ToolIndex([...tools].reverse());
    for (const query of ['forecast', 'city', '天气', 'play a song'])
      expect(reversed.search(query, 5).map((f) => f.tool.name)).toEqual(names(query));
  });
});
