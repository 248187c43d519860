import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';

export type Language = 'zh' | 'en';
const storageKey = 'hub.language';

/** Chinese when the browser prefers it (or nothing says otherwise), English when it prefers English. */
export function preferredLanguage(): Language {
  const saved = localStorage.getItem(storageKey);
  if (saved === 'zh' || saved === 'en') return saved;
  const first = (navigator.languages?.[0] ?? navigator.language ?? 'zh').toLowerCase();
  return first.startsWith('en') ? 'en' : 'zh';
}

export function chooseLanguage(language: Language) {
  localStorage.setItem(storageKey, language);
  void i18n.changeLanguage(language);
}

void i18n.use(initReactI18next).init({
  lng: preferredLanguage(),
  fallbackLng: 'en',
  defaultNS: 'common',
  interpolation: { escapeValue: false },
  resources: {},
});

type Messages = { [key: string]: string | Messages };

/**
 * Each area of the console keeps its texts beside its screens, as one namespace with the same
 * keys in both languages; the type makes a key missing in one language a compile error.
 */
export function registerMessages<T extends Messages>(namespace: string, messages: { zh: T; en: NoInfer<T> }) {
  i18n.addResourceBundle('zh', namespace, messages.zh, true, true);
  i18n.addResourceBundle('en', namespace, messages.en, true, true);
}

export default i18n;
