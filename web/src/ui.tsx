import { Component, useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { problemLines } from "./api";
import { useT } from "./i18n";

// Shared building blocks. Pages never show a blank screen: loading, empty and error states are explicit.

const L = {
  en: { loading: "Loading…", error: "Something went wrong", retry: "Try again", close: "Close" },
  zh: { loading: "加载中…", error: "出错了", retry: "重试", close: "关闭" },
};

/** Loads data once (and again on reload() or when deps change); keeps the last data while reloading. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    loadRef
      .current(controller.signal)
      .then((data) => !controller.signal.aborted && setState({ data, loading: false }))
      .catch((error) => !controller.signal.aborted && setState((s) => ({ data: s.data, error, loading: false })));
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** Calls fn every `ms` while the page is visible. */
export function useInterval(fn: () => void, ms: number | null) {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (ms === null) return;
    const id = setInterval(() => document.visibilityState === "visible" && ref.current(), ms);
    return () => clearInterval(id);
  }, [ms]);
}

export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle && <p className="subtitle">{subtitle}</p>}
      </div>
      {actions && <div className="actions">{actions}</div>}
    </header>
  );
}

export function Loading() {
  const t = useT(L);
  return (
    <div className="loading" role="status">
      {t("loading")}
    </div>
  );
}

/** An error in words: the problem's title, detail and every field at fault. */
export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const t = useT(L);
  if (!error) return null;
  const lines = problemLines(error);
  return (
    <div className="error-box" role="alert" data-testid="error">
      <strong>{t("error")}</strong>
      <ul>
        {lines.map((l, i) => (
          <li key={i}>{l}</li>
        ))}
      </ul>
      {onRetry && (
        <button className="btn" onClick={onRetry}>
          {t("retry")}
        </button>
      )}
    </div>
  );
}

/** What to do when there is nothing yet. */
export function Empty({ title, hint, action }: { title: ReactNode; hint?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty" data-testid="empty">
      <h3>{title}</h3>
      {hint && <p>{hint}</p>}
      {action}
    </div>
  );
}

export function Badge({ tone, children }: { tone?: "ok" | "warn" | "bad" | "info" | "muted"; children: ReactNode }) {
  return <span className={`badge ${tone ?? "muted"}`}>{children}</span>;
}

export function Tabs<K extends string>({ tabs, value, onChange }: { tabs: { key: K; label: ReactNode }[]; value: K; onChange: (k: K) => void }) {
  return (
    <div className="tabs" role="tablist">
      {tabs.map((tab) => (
        <button
          key={tab.key}
          role="tab"
          aria-selected={tab.key === value}
          className={tab.key === value ? "tab active" : "tab"}
          onClick={() => onChange(tab.key)}
          data-testid={`tab-${tab.key}`}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

export function Modal({ title, onClose, children }: { title: ReactNode; onClose: () => void; children: ReactNode }) {
  const t = useT(L);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className="modal" role="dialog" aria-label={typeof title === "string" ? title : undefined}>
        <div className="modal-head">
          <h2>{title}</h2>
          <button className="btn ghost" onClick={onClose} aria-label={t("close")}>
            ×
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}

/** A labelled form field. */
export function Field({ label, hint, children }: { label: ReactNode; hint?: ReactNode; children: ReactNode }) {
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      {children}
      {hint && <span className="field-hint">{hint}</span>}
    </label>
  );
}

export function Json({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

const B = {
  en: { crashed: "This page failed to render", crashedHint: "The rest of the console still works. Reload the page, and if it happens again, report what you did.", reload: "Reload" },
  zh: { crashed: "此页面渲染失败", crashedHint: "控制台的其他部分仍可使用。请刷新页面；如果再次出现，请反馈您的操作步骤。", reload: "刷新" },
};

function CrashNotice({ error }: { error: Error }) {
  const t = useT(B);
  return (
    <div className="error-box" role="alert" data-testid="page-crash">
      <strong>{t("crashed")}</strong>
      <p>{t("crashedHint")}</p>
      <pre className="json">{error.message}</pre>
      <button className="btn" onClick={() => location.reload()}>
        {t("reload")}
      </button>
    </div>
  );
}

/** Keeps a page's render error inside the page: the sidebar stays, the error is shown in words (never a blank screen). */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error) {
    console.error("page render failed", error);
  }

  render() {
    return this.state.error ? <CrashNotice error={this.state.error} /> : this.props.children;
  }
}

const G = {
  en: { leave: "You have unsaved changes. Leave this page and discard them?" },
  zh: { leave: "有未保存的修改，确定离开此页面并放弃这些修改吗？" },
};

/**
 * While `dirty`, leaving the page asks first: a reload or closing the tab (the browser's own prompt) and in-app links such
 * as the sidebar (checked in the capture phase, before the router handles the click).
 */
export function useLeaveGuard(dirty: boolean, message?: string) {
  const t = useT(G);
  const text = message ?? t("leave");
  useEffect(() => {
    if (!dirty) return;
    const unload = (e: BeforeUnloadEvent) => e.preventDefault();
    const click = (e: MouseEvent) => {
      const a = (e.target as Element | null)?.closest?.("a[href]") as HTMLAnchorElement | null;
      if (!a || a.target || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      const url = new URL(a.href, location.href);
      if (url.origin !== location.origin || url.pathname === location.pathname) return;
      if (!window.confirm(text)) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    window.addEventListener("beforeunload", unload);
    document.addEventListener("click", click, true);
    return () => {
      window.removeEventListener("beforeunload", unload);
      document.removeEventListener("click", click, true);
    };
  }, [dirty, text]);
}
