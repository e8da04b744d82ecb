import { useSyncExternalStore } from "react";

// English and Simplified Chinese. Each page keeps its own strings next to it:
//   const L = { en: { title: "Segments" }, zh: { title: "分群" } };
//   const t = useT(L);  t("title")
// A key missing in Chinese falls back to English, then to the key itself.

export type Lang = "en" | "zh";
export type Dict = Record<string, string>;
export type Strings<D extends Dict> = { en: D; zh: Partial<D> };

const listeners = new Set<() => void>();
let current: Lang = initialLang();

function initialLang(): Lang {
  const saved = localStorage.getItem("chuda.lang");
  if (saved === "en" || saved === "zh") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function setLang(lang: Lang) {
  current = lang;
  localStorage.setItem("chuda.lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-Hans" : "en";
  listeners.forEach((l) => l());
}

export function useLang(): Lang {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => {
        listeners.delete(l);
      };
    },
    () => current,
  );
}

/** A translator for one page's strings; "{name}" placeholders are filled from vars. */
export function useT<D extends Dict>(strings: Strings<D>) {
  const lang = useLang();
  return (key: keyof D & string, vars?: Record<string, string | number>) => {
    let s: string = (lang === "zh" ? strings.zh[key] : undefined) ?? strings.en[key] ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  };
}

/** Numbers and dates in the chosen language. */
export function useFormat() {
  const lang = useLang();
  const locale = lang === "zh" ? "zh-CN" : "en-GB";
  return {
    number: (n: number | null | undefined) => (n === null || n === undefined ? "—" : n.toLocaleString(locale)),
    percent: (r: number | null | undefined) =>
      r === null || r === undefined ? "—" : (r * 100).toLocaleString(locale, { maximumFractionDigits: 1 }) + "%",
    dateTime: (iso: string | null | undefined) =>
      iso ? new Date(iso).toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" }) : "—",
    date: (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleDateString(locale, { dateStyle: "medium" }) : "—"),
  };
}
