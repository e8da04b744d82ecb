import { useState } from "react";
import { api, type Session } from "./api";
import { setLang, useLang, useT } from "./i18n";
import { ErrorBox } from "./ui";

const L = {
  en: {
    title: "Sign in to Chuda",
    key: "Admin key",
    hint: "The workspace admin key (ak_…) printed when the workspace was created. It is exchanged for a session cookie and never stored in the browser.",
    submit: "Sign in",
    signingIn: "Signing in…",
  },
  zh: {
    title: "登录触达",
    key: "管理密钥",
    hint: "创建工作区时打印的管理密钥（ak_…）。它会换成会话 Cookie，浏览器不会保存密钥本身。",
    submit: "登录",
    signingIn: "正在登录…",
  },
};

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const t = useT(L);
  const lang = useLang();
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = await api.post<Session>("/api/v1/session", { key: key.trim() });
      setKey("");
      onSignedIn(session);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="signin">
      <form onSubmit={submit} className="signin-card">
        <div className="brand big">
          <span className="logo">触</span> Chuda
        </div>
        <h1>{t("title")}</h1>
        <label className="field">
          <span className="field-label">{t("key")}</span>
          <input
            type="password"
            autoComplete="off"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            data-testid="admin-key"
            autoFocus
          />
          <span className="field-hint">{t("hint")}</span>
        </label>
        <ErrorBox error={error} />
        <button className="btn primary" type="submit" disabled={busy || !key.trim()} data-testid="sign-in">
          {busy ? t("signingIn") : t("submit")}
        </button>
        <div className="lang-switch">
          <button type="button" className={lang === "en" ? "active" : ""} onClick={() => setLang("en")}>
            EN
          </button>
          <button type="button" className={lang === "zh" ? "active" : ""} onClick={() => setLang("zh")}>
            中文
          </button>
        </div>
      </form>
    </div>
  );
}
