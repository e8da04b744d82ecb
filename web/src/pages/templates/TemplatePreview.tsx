import { useEffect, useState } from "react";
import { api } from "../../api";
import { useT } from "../../i18n";
import { Badge, ErrorBox } from "../../ui";
import { ContentView } from "./ContentView";
import type { TemplatePreview } from "./model";
import { useChannelLabel } from "./strings";

// Live preview: POST /api/v1/templates/{id}/preview renders a SAVED version (the endpoint takes no unsaved body), for a
// real profile (userId) or sample data, with an optional example event. Re-rendered 400 ms after any input changes.

const L = {
  en: {
    title: "Preview",
    user: "Profile (userId)",
    userHint: "Render for this person's traits; leave empty for sample data.",
    event: "Example event properties (JSON)",
    eventHint: "Read as {{event.…}}, e.g. {\"cart_id\": \"c-1\", \"item_count\": 3}",
    eventBad: "Not a JSON object: {m}",
    locale: "Language",
    auto: "the person's language",
    channel: "Channel",
    notSaved: "Save the template to preview it: the preview renders a saved version.",
    saveFirst: "Save",
    dirty: "The preview shows the saved v{n}. Save to preview your latest edits.",
    saveAndPreview: "Save and preview",
    rendering: "Rendering…",
    localeUsed: "Rendered in {l}",
    ok: "Ready to send",
    notOk: "Would not be sent",
    problems: "Problems",
    noProblems: "No problems: every variable has a value.",
    noContent: "Nothing to show: no language of this template has the channel.",
    encoding: "Encoding",
    length: "Length",
    segments: "Segments",
    segmentsCount: "{n} SMS",
    smsLong: "Long messages are billed per segment.",
    pickChannel: "Add a channel to preview it.",
    pinned: "Previewing v{n}.",
    unpin: "Preview the latest (v{n})",
    sevError: "error",
    sevWarning: "warning",
  },
  zh: {
    title: "预览",
    user: "用户（userId）",
    userHint: "按该用户的属性渲染；留空则使用示例数据。",
    event: "示例事件属性（JSON）",
    eventHint: "模板中以 {{event.…}} 读取，例如 {\"cart_id\": \"c-1\", \"item_count\": 3}",
    eventBad: "不是 JSON 对象：{m}",
    locale: "语言",
    auto: "用户自身语言",
    channel: "渠道",
    notSaved: "请先保存模板：预览渲染的是已保存的版本。",
    saveFirst: "保存",
    dirty: "预览显示的是已保存的 v{n}，保存后才能预览最新修改。",
    saveAndPreview: "保存并预览",
    rendering: "渲染中…",
    localeUsed: "使用语言：{l}",
    ok: "可以发送",
    notOk: "不会发送",
    problems: "问题",
    noProblems: "没有问题：所有变量都有值。",
    noContent: "无内容可显示：该模板没有任何语言包含此渠道。",
    encoding: "编码",
    length: "长度",
    segments: "拆分条数",
    segmentsCount: "{n} 条短信",
    smsLong: "长短信按拆分后的条数计费。",
    pickChannel: "添加渠道后即可预览。",
    pinned: "正在预览 v{n}。",
    unpin: "预览最新版本（v{n}）",
    sevError: "错误",
    sevWarning: "警告",
  },
};

export function TemplatePreviewPanel({
  id,
  savedVersion,
  dirty,
  channels,
  locales,
  currentChannel,
  onSave,
  saving,
  pinnedVersion,
  onUnpin,
}: {
  id: string;
  pinnedVersion: number | null;
  onUnpin: () => void;
  savedVersion: number | null;
  dirty: boolean;
  channels: string[];
  locales: string[];
  currentChannel: string;
  onSave: () => void;
  saving: boolean;
}) {
  const t = useT(L);
  const channelLabel = useChannelLabel();
  const [userId, setUserId] = useState("");
  const [eventText, setEventText] = useState("");
  const [locale, setLocale] = useState("");
  const [channelChoice, setChannelChoice] = useState("");
  const channel = channelChoice && channels.includes(channelChoice) ? channelChoice : currentChannel || channels[0] || "";
  const [result, setResult] = useState<{ data?: TemplatePreview; error?: unknown; loading: boolean }>({ loading: false });

  let event: Record<string, unknown> | undefined;
  let eventError: string | null = null;
  if (eventText.trim()) {
    try {
      const v = JSON.parse(eventText);
      if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("{…}");
      event = v;
    } catch (e) {
      eventError = t("eventBad", { m: (e as Error).message });
    }
  }
  const eventKey = event ? JSON.stringify(event) : "";

  const version = pinnedVersion ?? savedVersion;
  useEffect(() => {
    if (version === null || !channel || eventError) return;
    const controller = new AbortController();
    const timer = setTimeout(() => {
      setResult((r) => ({ ...r, loading: true }));
      api
        .post<TemplatePreview>(
          `/api/v1/templates/${encodeURIComponent(id)}/preview`,
          {
            userId: userId.trim() || undefined,
            version,
            channel,
            locale: locale || undefined,
            event: eventKey ? JSON.parse(eventKey) : undefined,
          },
          { signal: controller.signal },
        )
        .then((data) => setResult({ data, loading: false }))
        .catch((error) => {
          if ((error as Error).name !== "AbortError") setResult({ error, loading: false });
        });
    }, 400);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [id, version, channel, locale, userId, eventKey, eventError]);

  // Only the answer for the channel asked (not a stale one while the next render is on its way).
  const preview = result.data?.channels.find((c) => c.channel === channel);

  return (
    <section className="panel tpl-preview" data-testid="template-preview">
      <div className="row">
        <h2>{t("title")}</h2>
        <span className="spacer" />
        {result.loading && <span className="muted">{t("rendering")}</span>}
      </div>
      <label className="field">
        <span className="field-label">{t("user")}</span>
        <input value={userId} onChange={(e) => setUserId(e.target.value)} placeholder="u-1001" data-testid="preview-user" />
        <span className="field-hint">{t("userHint")}</span>
      </label>
      <div className="grid cols-2">
        <label className="field">
          <span className="field-label">{t("channel")}</span>
          <select value={channel} onChange={(e) => setChannelChoice(e.target.value)} data-testid="preview-channel">
            {channels.map((c) => (
              <option key={c} value={c}>
                {channelLabel(c)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span className="field-label">{t("locale")}</span>
          <select value={locale} onChange={(e) => setLocale(e.target.value)} data-testid="preview-locale">
            <option value="">{t("auto")}</option>
            {locales.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label className="field">
        <span className="field-label">{t("event")}</span>
        <textarea
          className="mono"
          rows={3}
          value={eventText}
          onChange={(e) => setEventText(e.target.value)}
          placeholder='{"cart_id": "c-1", "item_count": 3}'
          data-testid="preview-event"
        />
        <span className="field-hint">{t("eventHint")}</span>
        {eventError && <span className="tpl-field-error">{eventError}</span>}
      </label>

      {savedVersion === null ? (
        <div className="tpl-note">
          <p>{t("notSaved")}</p>
          <button className="btn primary" onClick={onSave} disabled={saving} data-testid="preview-save">
            {t("saveFirst")}
          </button>
        </div>
      ) : pinnedVersion !== null ? (
        <div className="tpl-note row" data-testid="preview-pinned">
          <span>{t("pinned", { n: pinnedVersion })}</span>
          <button className="btn small" onClick={onUnpin}>
            {t("unpin", { n: savedVersion ?? 0 })}
          </button>
        </div>
      ) : dirty ? (
        <div className="tpl-note row">
          <span>{t("dirty", { n: savedVersion })}</span>
          <button className="btn small primary" onClick={onSave} disabled={saving} data-testid="preview-save">
            {t("saveAndPreview")}
          </button>
        </div>
      ) : null}

      {!channel && savedVersion !== null && <p className="muted">{t("pickChannel")}</p>}
      {result.error ? <ErrorBox error={result.error} /> : null}

      {savedVersion !== null && preview && !result.error && (
        <div data-testid="preview-output" data-ok={preview.ok ? "true" : "false"}>
          <div className="row tpl-preview-status">
            <Badge tone={preview.ok ? "ok" : "bad"}>{preview.ok ? t("ok") : t("notOk")}</Badge>
            {preview.locale && <span className="muted">{t("localeUsed", { l: preview.locale })}</span>}
          </div>
          {preview.channel === "sms" && preview.smsSegments !== null && (
            <div className="tpl-sms-meta">
              <div className="stat">
                <div className="label">{t("segments")}</div>
                <div className="value" data-testid="sms-segments">
                  {preview.smsSegments}
                </div>
              </div>
              <div className="stat">
                <div className="label">{t("length")}</div>
                <div className="value" data-testid="sms-length">
                  {preview.smsLength}
                </div>
              </div>
              <div className="stat">
                <div className="label">{t("encoding")}</div>
                <div className="value tpl-enc" data-testid="sms-encoding">
                  {preview.smsEncoding}
                </div>
              </div>
            </div>
          )}
          {preview.channel === "sms" && (preview.smsSegments ?? 0) > 1 && <p className="muted">{t("smsLong")}</p>}
          {preview.content ? (
            <ContentView channel={preview.channel} content={preview.content} hideSmsMeta />
          ) : (
            <p className="muted">{t("noContent")}</p>
          )}
          <h3 className="tpl-problems-title">{t("problems")}</h3>
          {preview.problems.length === 0 ? (
            <p className="muted" data-testid="preview-problems-none">
              {t("noProblems")}
            </p>
          ) : (
            <ul className="tpl-problems" data-testid="preview-problems">
              {preview.problems.map((p, i) => (
                <li key={i} data-testid="preview-problem">
                  <Badge tone={p.severity === "error" ? "bad" : "warn"}>{p.severity === "error" ? t("sevError") : p.severity === "warning" ? t("sevWarning") : p.severity}</Badge>{" "}
                  <span className="mono">{p.field}</span>
                  {p.variable && (
                    <>
                      {" "}
                      (<span className="mono">{p.variable}</span>)
                    </>
                  )}
                  : {p.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  );
}
