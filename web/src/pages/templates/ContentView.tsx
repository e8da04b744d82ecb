import { useT } from "../../i18n";

// Rendered message content as the API returns it (DeliveryDispatcher.ContentJson): used by the template preview and the
// sandbox outbox. E-mail HTML goes into a sandboxed iframe (no scripts, no same-origin, no navigation).

const L = {
  en: {
    subject: "Subject",
    html: "HTML",
    text: "Text",
    title: "Title",
    body: "Body",
    deepLink: "Deep link",
    data: "Data",
    action: "Button",
    templateId: "Template",
    url: "Link",
    language: "Language",
    repeat: "Repeat",
    times: "× {n}",
    noHtml: "No HTML part: the text part is sent.",
    emptyValue: "(empty)",
    encoding: "Encoding",
    length: "Length",
    segments: "Segments",
  },
  zh: {
    subject: "主题",
    html: "HTML",
    text: "文本",
    title: "标题",
    body: "正文",
    deepLink: "深度链接",
    data: "数据",
    action: "按钮",
    templateId: "模板",
    url: "链接",
    language: "语言",
    repeat: "重复",
    times: "{n} 次",
    noHtml: "没有 HTML 部分：将发送纯文本。",
    emptyValue: "（空）",
    encoding: "编码",
    length: "长度",
    segments: "条数",
  },
};

type Content = Record<string, unknown>;

function str(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function ContentView({
  channel,
  content,
  htmlHeight = 320,
  hideSmsMeta = false,
}: {
  channel: string;
  content: Content;
  htmlHeight?: number;
  hideSmsMeta?: boolean;
}) {
  const t = useT(L);
  const kv = (label: string, value: unknown, mono = false) =>
    str(value) ? (
      <div className="cv-row">
        <span className="cv-label">{label}</span>
        <span className={mono ? "cv-value mono" : "cv-value"}>{str(value)}</span>
      </div>
    ) : null;
  const dataRows = (data: unknown) => {
    if (!data || typeof data !== "object" || Object.keys(data as object).length === 0) return null;
    return (
      <div className="cv-row">
        <span className="cv-label">{t("data")}</span>
        <table className="cv-data">
          <tbody>
            {Object.entries(data as Record<string, unknown>).map(([k, v]) => (
              <tr key={k}>
                <td className="mono">{k}</td>
                <td>{str(v) || <span className="muted">{t("emptyValue")}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  };
  switch (channel) {
    case "email":
      return (
        <div className="cv cv-email">
          {kv(t("subject"), content.subject)}
          {str(content.html) ? (
            <iframe className="cv-frame" sandbox="" srcDoc={str(content.html)} title={str(content.subject)} style={{ height: htmlHeight }} />
          ) : (
            <p className="muted">{t("noHtml")}</p>
          )}
          {str(content.text) && (
            <details>
              <summary>{t("text")}</summary>
              <pre className="cv-text">{str(content.text)}</pre>
            </details>
          )}
        </div>
      );
    case "sms":
      return (
        <div className="cv cv-sms">
          <div className="cv-bubble">{str(content.text) || <span className="muted">{t("emptyValue")}</span>}</div>
          {content.segments !== undefined && !hideSmsMeta && (
            <div className="muted cv-meta">
              {t("encoding")}: {str(content.encoding)} · {t("segments")}: {str(content.segments)}
            </div>
          )}
        </div>
      );
    case "push":
    case "in_app":
      return (
        <div className="cv cv-push">
          <div className="cv-card">
            {str(content.title) && <strong>{str(content.title)}</strong>}
            {str(content.body) && <div>{str(content.body)}</div>}
            {str(content.actionLabel) && (
              <div className="cv-action">
                {str(content.actionLabel)} <span className="muted mono">→ {str(content.actionUrl)}</span>
              </div>
            )}
          </div>
          {kv(t("deepLink"), content.deepLink, true)}
          {dataRows(content.data)}
        </div>
      );
    case "wechat":
      return (
        <div className="cv cv-wechat">
          {kv(t("templateId"), content.templateId, true)}
          {kv(t("url"), content.url, true)}
          {dataRows(content.data)}
        </div>
      );
    case "webhook": {
      let body = str(content.body);
      try {
        body = JSON.stringify(JSON.parse(body), null, 2);
      } catch {
        /* shown as is */
      }
      return <pre className="json">{body}</pre>;
    }
    case "voice":
      return (
        <div className="cv cv-voice">
          <div className="cv-bubble">🔊 {str(content.text)}</div>
          {kv(t("language"), content.language)}
          {content.repeat !== undefined && kv(t("repeat"), t("times", { n: str(content.repeat) }))}
        </div>
      );
    default:
      return <pre className="json">{JSON.stringify(content, null, 2)}</pre>;
  }
}
