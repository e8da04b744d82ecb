import { useState } from "react";
import { api, ApiError, problemLines } from "../../api";
import { useFormat, useT } from "../../i18n";
import { Badge, Empty, ErrorBox, Field, Loading, Modal, useAsync, useInterval } from "../../ui";
import { useChannelLabel } from "../templates/strings";
import { ALL_CHANNELS, KINDS, SECRET_MASK, kindSpec, type ConfigField, type ProviderView } from "./model";

const L = {
  en: {
    intro: "Providers send each channel's messages. Several providers of one channel fail over by priority (lower first). A channel without a provider sends to the sandbox outbox.",
    add: "Add provider",
    id: "ID",
    kind: "Kind",
    priority: "Priority",
    enabled: "Enabled",
    disabled: "Disabled",
    health: "Health",
    callback: "Callback URL",
    copy: "Copy",
    copied: "Copied",
    edit: "Edit",
    delete: "Delete",
    enable: "Enable",
    disable: "Disable",
    noProvider: "No provider: {c} messages go to the sandbox outbox.",
    emptyTitle: "No providers configured",
    emptyHint: "Until you add one, every message lands in the sandbox outbox, where you can read it. Add an SMTP server for e-mail, an SMS gateway, push credentials…",
    circuit_closed: "healthy",
    circuit_open: "circuit open",
    circuit_half_open: "probing",
    circuit_isolated: "isolated",
    circuit_disabled: "disabled",
    withoutProvider: "Channels without a provider",
    withoutProviderHint: "Their messages go to the sandbox outbox, where you can read them.",
    notLoaded: "not used yet",
    attempts: "attempts",
    accepted: "accepted",
    delivered: "delivered",
    failures: "failed",
    down: "provider down",
    skipped: "skipped",
    latency: "avg {ms} ms",
    lastError: "Last error ({at})",
    openUntil: "skipped until {at}",
    newTitle: "Add provider",
    editTitle: "Edit provider {id}",
    idTaken: "A provider with this ID exists already: edit it in the list instead.",
    idBad: "Use letters, digits, '-' and '_' only.",
    idHint: "Letters, digits, '-' and '_', e.g. smtp-main. It cannot be changed later.",
    channel: "Channel",
    priorityHint: "0–1000, lower is tried first.",
    rate: "Rate limit (per second)",
    concurrency: "Max concurrent calls",
    unlimited: "unlimited",
    config: "Configuration",
    form: "Form",
    rawJson: "JSON",
    secretStored: "stored — type to replace",
    secretHint: "Write-only: never shown again.",
    secretShort: "secret, write-only",
    requiredField: "required",
    defaultIs: "default {v}",
    jsonBad: "{k}: not valid JSON ({m})",
    cancel: "Cancel",
    save: "Save provider",
    saving: "Saving…",
    confirmDelete: "Delete provider {id}?",
    confirmDeleteHint: "Messages on {c} will use the remaining providers, or the sandbox outbox when none is left.",
    vapid: "Generate VAPID keys",
    vapidDone: "A new key pair was filled in. Save to keep it; browsers that subscribed with the old public key must subscribe again.",
    noConfig: "This kind needs no configuration.",
    listHint: "one per line",
    any: "—",
  },
  zh: {
    intro: "服务商负责各渠道的实际发送。同一渠道可配置多个服务商，按优先级（数字小者优先）自动切换。没有服务商的渠道，消息进入沙箱发件箱。",
    add: "添加服务商",
    id: "ID",
    kind: "类型",
    priority: "优先级",
    enabled: "已启用",
    disabled: "已停用",
    health: "健康状况",
    callback: "回调地址",
    copy: "复制",
    copied: "已复制",
    edit: "编辑",
    delete: "删除",
    enable: "启用",
    disable: "停用",
    noProvider: "未配置服务商：{c}消息将进入沙箱发件箱。",
    emptyTitle: "还没有配置服务商",
    emptyHint: "在添加服务商之前，所有消息都会进入沙箱发件箱供查看。可以添加邮件 SMTP 服务器、短信网关、推送凭证等。",
    circuit_closed: "正常",
    circuit_open: "已熔断",
    circuit_half_open: "试探恢复中",
    circuit_isolated: "已隔离",
    circuit_disabled: "已停用",
    withoutProvider: "未配置服务商的渠道",
    withoutProviderHint: "这些渠道的消息会进入沙箱发件箱，可在那里查看。",
    notLoaded: "尚未使用",
    attempts: "调用",
    accepted: "已受理",
    delivered: "已送达",
    failures: "失败",
    down: "服务不可用",
    skipped: "跳过",
    latency: "平均 {ms} 毫秒",
    lastError: "最近错误（{at}）",
    openUntil: "{at} 前跳过",
    newTitle: "添加服务商",
    editTitle: "编辑服务商 {id}",
    idTaken: "已存在使用此 ID 的服务商，请在列表中编辑它。",
    idBad: "只能使用字母、数字、“-”和“_”。",
    idHint: "仅限字母、数字、“-”和“_”，例如 smtp-main，创建后不可修改。",
    channel: "渠道",
    priorityHint: "0–1000，数字越小越优先。",
    rate: "速率上限（每秒）",
    concurrency: "最大并发",
    unlimited: "不限",
    config: "配置",
    form: "表单",
    rawJson: "JSON",
    secretStored: "已保存，输入新值以替换",
    secretHint: "只写字段：保存后不再显示。",
    secretShort: "密钥，只写",
    requiredField: "必填",
    defaultIs: "默认 {v}",
    jsonBad: "{k}：JSON 格式错误（{m}）",
    cancel: "取消",
    save: "保存服务商",
    saving: "保存中…",
    confirmDelete: "删除服务商 {id}？",
    confirmDeleteHint: "{c}消息将使用其余服务商；若没有其他服务商，则进入沙箱发件箱。",
    vapid: "生成 VAPID 密钥",
    vapidDone: "已填入新的密钥对，保存后生效；使用旧公钥订阅的浏览器需要重新订阅。",
    noConfig: "此类型无需配置。",
    listHint: "每行一个",
    any: "—",
  },
};

type T = ReturnType<typeof useT<typeof L.en>>;

export function Providers() {
  const t = useT(L);
  const channelLabel = useChannelLabel();
  const [editing, setEditing] = useState<ProviderView | "new" | null>(null);
  const [deleting, setDeleting] = useState<ProviderView | null>(null);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const list = useAsync((signal) => api.get<ProviderView[]>("/api/v1/providers", { signal }), []);
  useInterval(list.reload, 10_000);

  const remove = async (p: ProviderView) => {
    try {
      await api.del(`/api/v1/providers/${encodeURIComponent(p.id)}`);
      setDeleting(null);
      list.reload();
    } catch (e) {
      setDeleteError(e);
    }
  };

  // Enable / disable keeps everything else; secrets are left out, so the stored ones stay.
  const toggle = async (p: ProviderView) => {
    setDeleteError(null);
    try {
      const config = Object.fromEntries(Object.entries(p.config).filter(([, v]) => v !== SECRET_MASK));
      const body: Record<string, unknown> = { channel: p.channel, kind: p.kind, priority: p.priority, enabled: !p.enabled, config, ratePerSecond: p.ratePerSecond };
      if (p.maxConcurrency !== null) body.maxConcurrency = p.maxConcurrency;
      await api.put(`/api/v1/providers/${encodeURIComponent(p.id)}`, body);
      list.reload();
    } catch (e) {
      setDeleteError(e);
    }
  };

  const byChannel = new Map<string, ProviderView[]>();
  for (const p of list.data ?? []) byChannel.set(p.channel, [...(byChannel.get(p.channel) ?? []), p]);

  return (
    <div>
      <div className="row dl-intro">
        <p className="muted">{t("intro")}</p>
        <span className="spacer" />
        <button className="btn primary" onClick={() => setEditing("new")} data-testid="add-provider">
          {t("add")}
        </button>
      </div>
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {deleteError && !deleting ? <ErrorBox error={deleteError} /> : null}
      {!list.data ? (
        list.error ? null : <Loading />
      ) : list.data.length === 0 ? (
        <Empty
          title={t("emptyTitle")}
          hint={t("emptyHint")}
          action={
            <button className="btn primary" onClick={() => setEditing("new")}>
              {t("add")}
            </button>
          }
        />
      ) : (
        <>
          {ALL_CHANNELS.filter((c) => byChannel.has(c)).map((c) => {
            const providers = byChannel.get(c)!.sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));
            return (
              <section key={c} className="panel dl-channel" data-testid={`provider-channel-${c}`}>
                <h3>{channelLabel(c)}</h3>
                <div className="table-wrap">
                  <table>
                    <thead>
                      <tr>
                        <th>{t("id")}</th>
                        <th>{t("kind")}</th>
                        <th>{t("priority")}</th>
                        <th>{t("health")}</th>
                        <th>{t("callback")}</th>
                        <th />
                      </tr>
                    </thead>
                    <tbody>
                      {providers.map((p) => (
                        <ProviderRow key={p.id} p={p} onEdit={() => setEditing(p)} onDelete={() => (setDeleteError(null), setDeleting(p))} onToggle={() => toggle(p)} t={t} />
                      ))}
                    </tbody>
                  </table>
                </div>
              </section>
            );
          })}
          {ALL_CHANNELS.some((c) => !byChannel.has(c)) && (
            <section className="panel dl-channel" data-testid="provider-channels-without">
              <h3>{t("withoutProvider")}</h3>
              <div className="row">
                {ALL_CHANNELS.filter((c) => !byChannel.has(c)).map((c) => (
                  <span key={c} className="badge muted">
                    {channelLabel(c)}
                  </span>
                ))}
                <span className="muted">{t("withoutProviderHint")}</span>
              </div>
            </section>
          )}
        </>
      )}
      {editing && (
        <ProviderForm
          existing={editing === "new" ? null : editing}
          ids={(list.data ?? []).map((p) => p.id)}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            list.reload();
          }}
          t={t}
        />
      )}
      {deleting && (
        <Modal title={t("confirmDelete", { id: deleting.id })} onClose={() => setDeleting(null)}>
          <p>{t("confirmDeleteHint", { c: channelLabel(deleting.channel) })}</p>
          {deleteError ? <ErrorBox error={deleteError} /> : null}
          <div className="row">
            <span className="spacer" />
            <button className="btn" onClick={() => setDeleting(null)}>
              {t("cancel")}
            </button>
            <button className="btn primary" onClick={() => remove(deleting)} data-testid="provider-delete-confirm">
              {t("delete")}
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}

function ProviderRow({ p, onEdit, onDelete, onToggle, t }: { p: ProviderView; onEdit: () => void; onDelete: () => void; onToggle: () => void; t: T }) {
  const f = useFormat();
  const [copied, setCopied] = useState(false);
  const h = p.health;
  const tone = !h ? "muted" : h.circuit === "closed" ? "ok" : h.circuit === "open" ? "bad" : h.circuit === "disabled" ? "muted" : "warn";
  const circuit = h?.circuit ?? "closed";
  const circuitLabel = ["closed", "open", "half_open", "isolated", "disabled"].includes(circuit) ? t(`circuit_${circuit}` as "circuit_closed") : circuit;
  return (
    <tr data-testid="provider-row" data-provider-id={p.id}>
      <td className="mono">
        {p.id}
        <div>{p.enabled ? <Badge tone="ok">{t("enabled")}</Badge> : <Badge>{t("disabled")}</Badge>}</div>
      </td>
      <td className="mono">{p.kind}</td>
      <td>{p.priority}</td>
      <td className="dl-health">
        {h ? <Badge tone={tone}>{circuitLabel}</Badge> : <Badge>{t("notLoaded")}</Badge>}
        {h && (
          <div className="dl-counters muted">
            {f.number(h.attempts)} {t("attempts")} · {f.number(h.accepted)} {t("accepted")} · {f.number(h.delivered)} {t("delivered")} ·{" "}
            {f.number(h.transientFailures + h.permanentFailures)} {t("failures")} · {f.number(h.providerDown)} {t("down")}
            {h.skipped > 0 && ` · ${f.number(h.skipped)} ${t("skipped")}`}
            {h.averageLatencyMs !== null && ` · ${t("latency", { ms: Math.round(h.averageLatencyMs) })}`}
          </div>
        )}
        {h?.openUntil && h.circuit === "open" && <div className="muted">{t("openUntil", { at: f.dateTime(h.openUntil) })}</div>}
        {h?.lastError && (
          <div className="dl-last-error" data-testid="provider-last-error">
            {t("lastError", { at: f.dateTime(h.lastErrorAt) })}: {h.lastError}
          </div>
        )}
      </td>
      <td>
        <div className="dl-callback">
          <code className="mono">{p.callbackUrl}</code>
          <button
            className="btn small ghost"
            onClick={() => {
              void navigator.clipboard?.writeText(p.callbackUrl).then(() => {
                setCopied(true);
                setTimeout(() => setCopied(false), 1500);
              });
            }}
            data-testid="provider-copy-callback"
          >
            {copied ? t("copied") : t("copy")}
          </button>
        </div>
      </td>
      <td>
        <div className="row dl-actions">
          <button className="btn small" onClick={onToggle} data-testid="provider-toggle">
            {p.enabled ? t("disable") : t("enable")}
          </button>
          <button className="btn small" onClick={onEdit} data-testid="provider-edit">
            {t("edit")}
          </button>
          <button className="btn small danger" onClick={onDelete} data-testid="provider-delete">
            {t("delete")}
          </button>
        </div>
      </td>
    </tr>
  );
}

const ID_RE = /^[A-Za-z0-9_-]{1,100}$/;

function ProviderForm({
  existing,
  ids,
  onClose,
  onSaved,
  t,
}: {
  existing: ProviderView | null;
  ids: string[];
  onClose: () => void;
  onSaved: () => void;
  t: T;
}) {
  const channelLabel = useChannelLabel();
  const [id, setId] = useState(existing?.id ?? "");
  const [channel, setChannel] = useState(existing?.channel ?? "email");
  const [kind, setKind] = useState(existing?.kind ?? "smtp");
  const [priority, setPriority] = useState(String(existing?.priority ?? 0));
  const [enabled, setEnabled] = useState(existing?.enabled ?? true);
  const [rate, setRate] = useState(existing?.ratePerSecond === null || existing?.ratePerSecond === undefined ? "" : String(existing.ratePerSecond));
  const [concurrency, setConcurrency] = useState(
    existing?.maxConcurrency === null || existing?.maxConcurrency === undefined ? "" : String(existing.maxConcurrency),
  );
  // Secrets come back as "***": they are kept out of the edited config (left out = unchanged on the server).
  const [storedSecrets] = useState<Set<string>>(
    () => new Set(Object.entries(existing?.config ?? {}).filter(([, v]) => v === SECRET_MASK).map(([k]) => k)),
  );
  const [config, setConfig] = useState<Record<string, unknown>>(() =>
    Object.fromEntries(Object.entries(existing?.config ?? {}).filter(([, v]) => v !== SECRET_MASK)),
  );
  const [mode, setMode] = useState<"form" | "json">(existing && !kindSpec(existing.kind) ? "json" : "form");
  const [jsonText, setJsonText] = useState("");
  const [jsonDrafts, setJsonDrafts] = useState<Record<string, string>>({});
  const [localError, setLocalError] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [vapidNote, setVapidNote] = useState(false);
  const spec = kindSpec(kind);
  const kindsForChannel = KINDS.filter((k) => k.channels.includes(channel));

  const fieldErrors = new Map<string, string[]>();
  if (error instanceof ApiError && Array.isArray(error.errors)) {
    for (const e of error.errors as { field?: string; message?: string }[]) {
      const key = (e.field ?? "").replace(/^\$\./, "").replace(/^config\./, "config:");
      fieldErrors.set(key, [...(fieldErrors.get(key) ?? []), e.message ?? ""]);
    }
  }
  const errFor = (key: string) => {
    const out: string[] = [];
    for (const [k, v] of fieldErrors) if (k === key || k.startsWith(key + ".") || k.startsWith(key + "[")) out.push(...v);
    return out;
  };

  const setValue = (key: string, value: unknown) =>
    setConfig((c) => {
      const copy = { ...c };
      if (value === "" || value === undefined || value === null || (Array.isArray(value) && value.length === 0)) delete copy[key];
      else copy[key] = value;
      return copy;
    });

  const switchMode = (m: "form" | "json") => {
    setLocalError(null);
    if (m === "json") {
      const merged: Record<string, unknown> = { ...config };
      for (const [k, text] of Object.entries(jsonDrafts)) {
        if (!text.trim()) delete merged[k];
        else
          try {
            merged[k] = JSON.parse(text);
          } catch {
            merged[k] = text;
          }
      }
      setJsonDrafts({});
      setJsonText(JSON.stringify(merged, null, 2));
    }
    else {
      try {
        const v = JSON.parse(jsonText || "{}");
        if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("{…}");
        setConfig(v);
      } catch (e) {
        setLocalError(t("jsonBad", { k: t("config"), m: (e as Error).message }));
        return;
      }
    }
    setMode(m);
  };

  const vapid = async () => {
    try {
      const keys = await api.post<{ publicKey: string; privateKey: string }>("/api/v1/providers/vapid-keys");
      setConfig((c) => ({ ...c, vapidPublicKey: keys.publicKey, vapidPrivateKey: keys.privateKey }));
      setVapidNote(true);
    } catch (e) {
      setError(e);
    }
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setLocalError(null);
    setError(null);
    let cfg = config;
    if (mode === "json") {
      try {
        cfg = JSON.parse(jsonText || "{}");
        if (!cfg || typeof cfg !== "object" || Array.isArray(cfg)) throw new Error("{…}");
      } catch (err) {
        setLocalError(t("jsonBad", { k: t("config"), m: (err as Error).message }));
        return;
      }
    } else {
      // JSON-valued fields are typed as text; parse them now.
      cfg = { ...config };
      for (const [k, text] of Object.entries(jsonDrafts)) {
        if (!text.trim()) {
          delete cfg[k];
          continue;
        }
        try {
          cfg[k] = JSON.parse(text);
        } catch (err) {
          const f = spec?.fields.find((x) => x.key === k);
          if (f?.type === "secretText") cfg[k] = text; // a PEM key or a key file given as a string
          else {
            setLocalError(t("jsonBad", { k, m: (err as Error).message }));
            return;
          }
        }
      }
    }
    // Never send the mask back: a secret left out keeps its stored value.
    cfg = Object.fromEntries(Object.entries(cfg).filter(([, v]) => v !== SECRET_MASK));
    const body: Record<string, unknown> = {
      channel,
      kind,
      priority: Number(priority) || 0,
      enabled,
      config: cfg,
      ratePerSecond: rate === "" ? null : Number(rate),
    };
    if (concurrency !== "") body.maxConcurrency = Number(concurrency);
    setSaving(true);
    try {
      await api.put(`/api/v1/providers/${encodeURIComponent(id)}`, body);
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  const idBad = !existing && (!ID_RE.test(id) || ids.includes(id));

  const renderField = (f: ConfigField) => {
    const value = config[f.key];
    const errs = errFor(`config:${f.key}`);
    const hint = [f.required ? t("requiredField") : "", f.def ? t("defaultIs", { v: f.def }) : ""].filter(Boolean).join(" · ");
    const testId = `provider-config-${f.key}`;
    let input: React.ReactNode;
    switch (f.type) {
      case "bool":
        input = (
          <select
            value={value === undefined ? "" : String(value)}
            onChange={(e) => setValue(f.key, e.target.value === "" ? undefined : e.target.value === "true")}
            data-testid={testId}
          >
            <option value="">{t("any")}</option>
            <option value="true">true</option>
            <option value="false">false</option>
          </select>
        );
        break;
      case "enum":
        input = (
          <select value={String(value ?? "")} onChange={(e) => setValue(f.key, e.target.value)} data-testid={testId}>
            <option value="">{f.def ? t("defaultIs", { v: f.def }) : t("any")}</option>
            {f.options!.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        );
        break;
      case "number":
        input = (
          <input
            type="number"
            value={value === undefined ? "" : String(value)}
            placeholder={f.def}
            onChange={(e) => setValue(f.key, e.target.value === "" ? undefined : Number(e.target.value))}
            data-testid={testId}
          />
        );
        break;
      case "secret":
        input = (
          <input
            type="password"
            autoComplete="new-password"
            value={String(value ?? "")}
            placeholder={storedSecrets.has(f.key) ? `${SECRET_MASK} ${t("secretStored")}` : f.placeholder}
            onChange={(e) => setValue(f.key, e.target.value)}
            data-testid={testId}
          />
        );
        break;
      case "multi": {
        const arr = Array.isArray(value) ? (value as string[]) : [];
        input = (
          <div className="row">
            {f.options!.map((o) => (
              <label key={o} className="row dl-check">
                <input
                  type="checkbox"
                  checked={arr.includes(o)}
                  onChange={(e) => setValue(f.key, e.target.checked ? [...arr, o] : arr.filter((x) => x !== o))}
                  data-testid={`${testId}-${o}`}
                />
                {o}
              </label>
            ))}
          </div>
        );
        break;
      }
      case "list":
        input = (
          <textarea
            rows={2}
            className="mono"
            value={Array.isArray(value) ? (value as string[]).join("\n") : ""}
            placeholder={f.placeholder}
            onChange={(e) =>
              setValue(
                f.key,
                e.target.value.split("\n").map((s) => s.trim()).filter(Boolean),
              )
            }
            data-testid={testId}
          />
        );
        break;
      case "text":
        input = (
          <textarea rows={3} className="mono" value={String(value ?? "")} placeholder={f.placeholder} onChange={(e) => setValue(f.key, e.target.value)} data-testid={testId} />
        );
        break;
      default: {
        if (f.type === "json" || f.type === "secretText") {
          const draft =
            jsonDrafts[f.key] ?? (value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value, null, 2));
          input = (
            <textarea
              rows={3}
              className="mono"
              value={draft}
              placeholder={f.type === "secretText" && storedSecrets.has(f.key) ? `${SECRET_MASK} ${t("secretStored")}` : f.placeholder}
              onChange={(e) => setJsonDrafts((d) => ({ ...d, [f.key]: e.target.value }))}
              data-testid={testId}
            />
          );
        } else
          input = (
            <input value={String(value ?? "")} placeholder={f.placeholder ?? f.def} onChange={(e) => setValue(f.key, e.target.value)} data-testid={testId} />
          );
      }
    }
    const secret = f.type === "secret" || f.type === "secretText";
    return (
      <div className="field" key={f.key}>
        <span className="field-label">
          <span className="mono">{f.key}</span>
          {hint && <span className="field-hint"> · {hint}</span>}
          {secret && (
            <span className="field-hint" title={t("secretHint")}>
              {" "}
              · {t("secretShort")}
            </span>
          )}
        </span>
        {input}
        {errs.map((m, i) => (
          <span key={i} className="tpl-field-error">
            {m}
          </span>
        ))}
      </div>
    );
  };

  return (
    <Modal title={existing ? t("editTitle", { id: existing.id }) : t("newTitle")} onClose={onClose}>
      <form onSubmit={submit} className="dl-form" data-testid="provider-form">
        <div className="grid cols-3">
          <Field label={t("id")} hint={existing ? undefined : t("idHint")}>
            <input value={id} disabled={!!existing} onChange={(e) => setId(e.target.value.trim())} placeholder="smtp-main" data-testid="provider-id" />
            {!existing && id && ids.includes(id) && <span className="tpl-field-error">{t("idTaken")}</span>}
            {!existing && id && !ID_RE.test(id) && <span className="tpl-field-error">{t("idBad")}</span>}
          </Field>
          <Field label={t("channel")}>
            <select
              value={channel}
              onChange={(e) => {
                const c = e.target.value;
                setChannel(c);
                if (!kindSpec(kind)?.channels.includes(c)) setKind(KINDS.find((k) => k.channels.includes(c) && k.kind !== "sandbox")?.kind ?? "sandbox");
              }}
              data-testid="provider-channel"
            >
              {ALL_CHANNELS.map((c) => (
                <option key={c} value={c}>
                  {channelLabel(c)}
                </option>
              ))}
            </select>
            {errFor("channel").map((m, i) => (
              <span key={i} className="tpl-field-error">
                {m}
              </span>
            ))}
          </Field>
          <Field label={t("kind")}>
            <select value={kind} onChange={(e) => setKind(e.target.value)} data-testid="provider-kind">
              {kindsForChannel.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.kind}
                </option>
              ))}
              {!spec && <option value={kind}>{kind}</option>}
            </select>
            {errFor("kind").map((m, i) => (
              <span key={i} className="tpl-field-error">
                {m}
              </span>
            ))}
          </Field>
        </div>
        <div className="grid cols-4">
          <Field label={t("priority")} hint={t("priorityHint")}>
            <input type="number" min={0} max={1000} value={priority} onChange={(e) => setPriority(e.target.value)} data-testid="provider-priority" />
          </Field>
          <Field label={t("rate")}>
            <input type="number" min={0} step="any" value={rate} placeholder={t("unlimited")} onChange={(e) => setRate(e.target.value)} />
          </Field>
          <Field label={t("concurrency")}>
            <input type="number" min={1} max={1000} value={concurrency} placeholder={t("unlimited")} onChange={(e) => setConcurrency(e.target.value)} />
          </Field>
          <label className="field">
            <span className="field-label">{t("enabled")}</span>
            <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} data-testid="provider-enabled" className="dl-checkbox" />
          </label>
        </div>

        <div className="row">
          <h3>{t("config")}</h3>
          <span className="spacer" />
          {kind === "webpush" && (
            <button type="button" className="btn small" onClick={vapid} data-testid="vapid-generate">
              {t("vapid")}
            </button>
          )}
          <div className="dl-seg">
            <button type="button" className={mode === "form" ? "active" : ""} onClick={() => switchMode("form")} disabled={!spec}>
              {t("form")}
            </button>
            <button type="button" className={mode === "json" ? "active" : ""} onClick={() => switchMode("json")} data-testid="provider-json-mode">
              {t("rawJson")}
            </button>
          </div>
        </div>
        {vapidNote && <div className="tpl-note">{t("vapidDone")}</div>}
        {mode === "json" ? (
          <textarea className="mono" rows={12} value={jsonText} onChange={(e) => setJsonText(e.target.value)} data-testid="provider-config-json" />
        ) : spec && spec.fields.length > 0 ? (
          <div className="grid cols-2 dl-config">{spec.fields.map(renderField)}</div>
        ) : (
          <p className="muted">{t("noConfig")}</p>
        )}
        {localError && <div className="tpl-field-error">{localError}</div>}
        {error ? (
          <div className="error-box" role="alert" data-testid="error">
            <ul>
              {problemLines(error).map((l, i) => (
                <li key={i}>{l}</li>
              ))}
            </ul>
          </div>
        ) : null}
        <div className="row">
          <span className="spacer" />
          <button type="button" className="btn" onClick={onClose}>
            {t("cancel")}
          </button>
          <button type="submit" className="btn primary" disabled={saving || idBad || !id} data-testid="provider-save">
            {saving ? t("saving") : t("save")}
          </button>
        </div>
      </form>
    </Modal>
  );
}
