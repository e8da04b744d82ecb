import { useMemo, useState } from "react";
import { api, problemLines } from "../../api";
import { useT } from "../../i18n";
import { ErrorBox, Field, Loading, useAsync } from "../../ui";
import { KeysPanel } from "./KeysPanel";
import type { Settings } from "./model";

const L = {
  en: {
    timeZone: "Workspace time zone",
    timeZoneHint: "An IANA zone such as Asia/Shanghai. Used for broadcasts and for local-time waits and quiet hours of people who have no zone of their own. Empty means UTC.",
    journeyApprovals: "Journey approvals",
    journeyApprovalsHint: "Publishing a journey (or a new version of one) waits until another admin key approves it on the Audit & approvals page.",
    templateApprovals: "Template approvals",
    templateApprovalsHint: "Only template versions approved by another admin key are sent; a message whose template has no approved version fails with the reason.",
    webhookSecret: "Webhook signing secret",
    webhookSecretHint: "Journeys' webhooks are signed with it (Standard Webhooks). Give it to the receivers so they can verify signatures.",
    show: "Show",
    hide: "Hide",
    copy: "Copy",
    copied: "Copied",
    save: "Save settings",
    saving: "Saving…",
    saved: "Settings saved.",
    notSaved: "The settings were not saved",
    nothing: "Nothing changed.",
  },
  zh: {
    timeZone: "工作区时区",
    timeZoneHint: "IANA 时区名，如 Asia/Shanghai。用于群发，以及没有自身时区的用户的当地时间等待和免打扰时段。留空表示 UTC。",
    journeyApprovals: "旅程审批",
    journeyApprovalsHint: "发布旅程（或旅程的新版本）需要另一个管理员密钥在“审计与审批”页面审批后才生效。",
    templateApprovals: "模板审批",
    templateApprovalsHint: "只发送经另一个管理员密钥审批通过的模板版本；模板没有已审批版本时，消息发送失败并记录原因。",
    webhookSecret: "Webhook 签名密钥",
    webhookSecretHint: "旅程中的 Webhook 请求用它签名（Standard Webhooks），请提供给接收方用于验证签名。",
    show: "显示",
    hide: "隐藏",
    copy: "复制",
    copied: "已复制",
    save: "保存设置",
    saving: "保存中…",
    saved: "设置已保存。",
    notSaved: "设置未保存",
    nothing: "没有修改。",
  },
};

export function WorkspaceSettings() {
  const settings = useAsync((signal) => api.get<Settings>("/api/v1/settings", { signal }), []);
  return (
    <div className="ky-settings">
      {settings.error && !settings.data ? (
        <ErrorBox error={settings.error} onRetry={settings.reload} />
      ) : !settings.data ? (
        <Loading />
      ) : (
        <SettingsForm initial={settings.data} />
      )}
      <KeysPanel />
    </div>
  );
}

function SettingsForm({ initial }: { initial: Settings }) {
  const t = useT(L);
  const [current, setCurrent] = useState(initial);
  const [zone, setZone] = useState(initial.timeZone ?? "");
  const [journeyApprovals, setJourneyApprovals] = useState(initial.journeyApprovals);
  const [templateApprovals, setTemplateApprovals] = useState(initial.templateApprovals);
  const [reveal, setReveal] = useState(false);
  const [copied, setCopied] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const zones = useMemo(() => {
    try {
      return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf("timeZone");
    } catch {
      return [] as string[];
    }
  }, []);

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    const patch: Record<string, unknown> = {};
    if ((zone.trim() || null) !== current.timeZone) patch.timeZone = zone.trim() || null;
    if (journeyApprovals !== current.journeyApprovals) patch.journeyApprovals = journeyApprovals;
    if (templateApprovals !== current.templateApprovals) patch.templateApprovals = templateApprovals;
    setError(null);
    if (Object.keys(patch).length === 0) {
      setMessage(t("nothing"));
      return;
    }
    setBusy(true);
    try {
      const s = await api.patch<Settings>("/api/v1/settings", patch);
      setCurrent(s);
      setZone(s.timeZone ?? "");
      setMessage(t("saved"));
    } catch (err) {
      setError(err);
      setMessage(null);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="panel dl-settings" onSubmit={save}>
      <Field label={t("timeZone")} hint={t("timeZoneHint")}>
        <input value={zone} onChange={(e) => (setZone(e.target.value), setMessage(null))} list="dl-zones" placeholder="UTC" data-testid="settings-timezone" />
        <datalist id="dl-zones">
          {zones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </Field>
      <label className="dl-toggle">
        <input type="checkbox" checked={journeyApprovals} onChange={(e) => (setJourneyApprovals(e.target.checked), setMessage(null))} data-testid="settings-journey-approvals" />
        <span>
          <strong>{t("journeyApprovals")}</strong>
          <span className="field-hint">{t("journeyApprovalsHint")}</span>
        </span>
      </label>
      <label className="dl-toggle">
        <input type="checkbox" checked={templateApprovals} onChange={(e) => (setTemplateApprovals(e.target.checked), setMessage(null))} data-testid="settings-template-approvals" />
        <span>
          <strong>{t("templateApprovals")}</strong>
          <span className="field-hint">{t("templateApprovalsHint")}</span>
        </span>
      </label>
      <div className="field">
        <span className="field-label">{t("webhookSecret")}</span>
        <div className="row">
          <code className="mono dl-secret" data-testid="settings-webhook-secret">
            {reveal ? current.webhookSecret : current.webhookSecret.slice(0, 6) + "•".repeat(20)}
          </code>
          <button type="button" className="btn small" onClick={() => setReveal(!reveal)}>
            {reveal ? t("hide") : t("show")}
          </button>
          <button
            type="button"
            className="btn small"
            onClick={() =>
              void navigator.clipboard?.writeText(current.webhookSecret).then(() => {
                setCopied(true);
                setTimeout(() => setCopied(false), 1500);
              })
            }
          >
            {copied ? t("copied") : t("copy")}
          </button>
        </div>
        <span className="field-hint">{t("webhookSecretHint")}</span>
      </div>
      {error ? (
        <div className="error-box" role="alert" data-testid="error">
          <strong>{t("notSaved")}</strong>
          <ul>
            {problemLines(error).map((l, i) => (
              <li key={i}>{l}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <div className="row">
        {message && <span className="badge ok">{message}</span>}
        <span className="spacer" />
        <button className="btn primary" disabled={busy} data-testid="settings-save">
          {busy ? t("saving") : t("save")}
        </button>
      </div>
    </form>
  );
}
