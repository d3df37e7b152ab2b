import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { LANGUAGES, pickLanguage, translator } from './i18n.js';
import type { Lang, Translate } from './i18n.js';

export interface I18n {
  lang: Lang;
  t: Translate;
  setLang: (lang: Lang) => void;
}

const STORAGE_KEY = 'tether.lang';

export const I18nContext = createContext<I18n>({
  lang: 'en',
  t: translator('en'),
  setLang: () => {},
});

export function useI18n(): I18n {
  return useContext(I18nContext);
}

function stored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** The page's language: the person's choice if they made one, else the browser's. */
export function useLanguage(): I18n {
  const [lang, set] = useState<Lang>(() => pickLanguage(navigator.languages ?? [], stored()));
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((next: Lang) => {
    if (!LANGUAGES.includes(next)) return;
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // Private mode: the choice lasts for this page only.
    }
    set(next);
  }, []);
  return useMemo(() => ({ lang, t: translator(lang), setLang }), [lang, setLang]);
}

export type NoticeKind = 'ok' | 'error';
export interface Notice {
  kind: NoticeKind;
  text: string;
}

/** How any view reports the outcome of an action to the one notice area. */
export const NotifyContext = createContext<(notice: Notice) => void>(() => {});

export function useNotify(): (notice: Notice) => void {
  return useContext(NotifyContext);
}
