import { describe, expect, it } from 'vitest';
import {
  closeCodeKey,
  formatBytes,
  formatCount,
  formatDuration,
  formatMs,
  formatPercent,
  healthLevel,
} from '../src/format.js';
import { translator } from '../src/i18n.js';

const en = translator('en');
const zh = translator('zh-CN');

describe('formatDuration', () => {
  it('shows the two largest units', () => {
    expect(formatDuration(0, en)).toBe('0s');
    expect(formatDuration(45_400, en)).toBe('45s');
    expect(formatDuration(65_000, en)).toBe('1m 5s');
    expect(formatDuration(120_000, en)).toBe('2m');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000 + 7_000, en)).toBe('2h 5m');
    expect(formatDuration(3600_000 + 30_000, en)).toBe('1h');
    expect(formatDuration(3 * 86_400_000 + 4 * 3600_000, en)).toBe('3d 4h');
    expect(formatDuration(86_400_000, en)).toBe('1d');
  });

  it('speaks Chinese', () => {
    expect(formatDuration(65_000, zh)).toBe('1分5秒');
    expect(formatDuration(2 * 3600_000 + 5 * 60_000, zh)).toBe('2小时5分');
  });

  it('never goes negative, and rounds up for countdowns', () => {
    expect(formatDuration(-5_000, en)).toBe('0s');
    expect(formatDuration(200, en, 'ceil')).toBe('1s');
    expect(formatDuration(200, en)).toBe('0s');
  });
});

describe('formatMs', () => {
  it('picks a precision by size', () => {
    expect(formatMs(0.4, en)).toBe('0 ms');
    expect(formatMs(142.4, en)).toBe('142 ms');
    expect(formatMs(1250, en)).toBe('1.25 s');
    expect(formatMs(12_400, en)).toBe('12.4 s');
    expect(formatMs(125_000, en)).toBe('2m 5s');
    expect(formatMs(142, zh)).toBe('142 毫秒');
  });
});

describe('small formats', () => {
  it('formats bytes and percentages', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2.0 KB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MB');
    expect(formatPercent(1)).toBe('100%');
    expect(formatPercent(0.9734)).toBe('97.3%');
    expect(formatPercent(0)).toBe('0%');
  });

  it('names close codes', () => {
    expect(closeCodeKey(1006)).toBe('close.1006');
    expect(closeCodeKey(4004)).toBe('close.app');
    expect(closeCodeKey(1004)).toBeNull();
    expect(en(closeCodeKey(1001)!)).toBe('going away');
  });

  it('bands health scores', () => {
    expect(healthLevel(null)).toBe('none');
    expect(healthLevel(95)).toBe('good');
    expect(healthLevel(80)).toBe('good');
    expect(healthLevel(61)).toBe('fair');
    expect(healthLevel(12)).toBe('poor');
  });
});

describe('formatCount', () => {
  it('groups digits the way each language does', () => {
    expect(formatCount(9870, 'en')).toBe('9,870');
    expect(formatCount(10_000, 'zh-CN')).toBe('10,000');
    expect(formatCount(7, 'en')).toBe('7');
  });
});
