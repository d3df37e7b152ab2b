import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EndpointViewSchema,
  CallItemSchema,
  LinkStateSchema,
  ServerViewSchema,
} from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { LANGUAGES, dictionaries, en, pickLanguage, translate, zhCN } from '../src/i18n.js';
import type { MessageKey } from '../src/i18n.js';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : /\.tsx?$/.test(entry.name)
        ? [readFileSync(join(dir, entry.name), 'utf8')]
        : [],
  );
}

describe('i18n dictionary', () => {
  it('has the same keys in English and Chinese', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('uses the same placeholders in both languages', () => {
    for (const key of Object.keys(en) as MessageKey[]) {
      expect(placeholders(zhCN[key]), key).toEqual(placeholders(en[key]));
    }
  });

  it('has no empty strings', () => {
    for (const lang of LANGUAGES) {
      for (const [key, text] of Object.entries(dictionaries[lang])) {
        expect(text.trim(), `${lang} ${key}`).not.toBe('');
      }
    }
  });

  it('has a key for every literal key the sources use', () => {
    const used = new Set(
      sources(fileURLToPath(new URL('../src/', import.meta.url))).flatMap((text) =>
        [...text.matchAll(/\bt\('([\w.-]+)'/g)].map((m) => m[1] as string),
      ),
    );
    expect(used.size).toBeGreaterThan(50);
    for (const key of used) expect(en, key).toHaveProperty([key]);
  });

  it('describes every state, server state, outcome and source the protocol names', () => {
    const keys = [
      ...LinkStateSchema.options.map((s) => `state.${s}`),
      ...ServerViewSchema.shape.state.options.map((s) => `serverState.${s}`),
      ...CallItemSchema.shape.outcome.options.map((s) => `outcome.${s}`),
      ...EndpointViewSchema.shape.source.options.map((s) => `readonly.${s}`),
      ...LANGUAGES.map((l) => `lang.${l}`),
      ...['connecting', 'live', 'down'].map((s) => `stream.${s}`),
      ...['good', 'fair', 'poor', 'none'].map((s) => `health.${s}`),
    ];
    for (const key of keys) expect(en, key).toHaveProperty([key]);
  });
});

describe('translate', () => {
  it('fills placeholders and leaves unknown ones as written', () => {
    expect(translate('en', 'notice.saved', { name: 'lab' })).toBe('Saved lab.');
    expect(translate('zh-CN', 'notice.saved', { name: 'lab' })).toBe('已保存 lab。');
    expect(translate('en', 'notice.saved')).toBe('Saved {name}.');
  });
});

describe('pickLanguage', () => {
  it('prefers a stored choice we speak', () => {
    expect(pickLanguage(['en-US'], 'zh-CN')).toBe('zh-CN');
    expect(pickLanguage(['zh-CN'], 'fr')).toBe('zh-CN');
  });

  it('takes Chinese for any zh tag and English otherwise', () => {
    expect(pickLanguage(['zh-TW'])).toBe('zh-CN');
    expect(pickLanguage(['zh'])).toBe('zh-CN');
    expect(pickLanguage(['fr-FR', 'zh-CN'])).toBe('zh-CN');
    expect(pickLanguage(['en-GB', 'zh-CN'])).toBe('en');
    expect(pickLanguage(['de'])).toBe('en');
    expect(pickLanguage([])).toBe('en');
  });
});
