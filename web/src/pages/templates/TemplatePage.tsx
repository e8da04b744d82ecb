import { useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError, problemLines } from "../../api";
import { useFormat, useT } from "../../i18n";
import { linkProps, navigate } from "../../router";
import { Badge, ErrorBox, Field, Loading, Modal, PageHeader, useAsync, useLeaveGuard } from "../../ui";
import {
  CHANNEL_FIELDS,
  CHANNELS,
  LOCALE_RE,
  channelsOf,
  emptyContent,
  getPath,
  pathParts,
  setPath,
  type Channel,
  type ChannelContent,
  type FieldSpec,
  type TemplateDefinition,
  type TemplateView,
  type TemplateVersionView,
} from "./model";
import { useChannelLabel, useFieldLabel } from "./strings";
import { TemplatePreviewPanel } from "./TemplatePreview";
import { measureSms } from "./sms";

const L = {
  en: {
    back: "Templates",
    newTitle: "New template",
    unsaved: "Unsaved changes",
    saved: "Saved as v{n}",
    save: "Save",
    saving: "Saving…",
    delete: "Delete",
    name: "Name",
    nameHint: "Shown in the console and in journeys' send steps.",
    category: "Category",
    categoryHint: "A hint such as marketing or transactional; the send or journey step decides the category that counts.",
    defaultLocale: "Default language",
    defaultLocaleHint: "Used when the recipient's language has no content.",
    required: "Required variables",
    requiredHint: "Comma-separated, e.g. profile.first_name, event.cart_id. A message is not sent when one has no value.",
    locales: "Languages",
    addLocale: "Add language",
    localeTag: "Language tag",
    localeHint: "A canonical tag: en, en-US, zh-Hans, zh-Hant-TW, es-419.",
    localeBad: "Not a canonical language tag (e.g. en, en-US, zh-Hans).",
    localeExists: "This language exists already.",
    copyFrom: "Start from a copy of",
    copyNone: "empty",
    removeLocale: "Remove language {l}",
    default: "default",
    channels: "Channels",
    addChannel: "Add channel",
    removeChannel: "Remove {c} from {l}",
    noChannels: "This language has no channel yet. Add the channels this message goes out on.",
    literal: "literal, not Handlebars",
    requiredField: "required",
    add: "Add",
    cancel: "Cancel",
    key: "key",
    value: "value",
    addEntry: "Add entry",
    remove: "Remove",
    errorsTitle: "The template was not saved",
    conflict: "Someone saved a newer version of this template while you were editing (you had v{n}). Reload to see it — your edits here will be replaced.",
    reloadLatest: "Load the latest version",
    notFoundNew: "This template does not exist yet: fill it in and save to create it.",
    versions: "Versions",
    version: "Version",
    createdAt: "Saved",
    createdBy: "By",
    approvedBy: "Approved",
    approve: "Approve",
    approveForbidden: "You cannot approve a version you saved yourself: another admin key must approve it.",
    notApproved: "not approved",
    live: "sent",
    view: "Load",
    previewVersion: "Preview",
    confirmDelete: "Delete template {id}?",
    confirmDeleteHint: "Every version is deleted. Journeys and sends that use this template will fail until one with the same ID exists again.",
    confirmDeleteBtn: "Delete template",
    editJson: "Edit as JSON",
    json: "Template JSON",
    jsonBad: "Not valid JSON: {m}",
    apply: "Apply",
    approvalsOn: "Template approvals are on: only an approved version is sent.",
    insertVariable: "Insert variable",
    vFirstName: "first name",
    vFirstNameDefault: "first name, or a fallback",
    vEmail: "e-mail address",
    vPhone: "phone number",
    vUserId: "user ID",
    vEvent: "a property of the triggering event (type its name)",
    vDate: "a date from the event, in the person's zone",
    vCurrency: "an amount with currency",
    vUnsubscribe: "one-click unsubscribe link",
    vPreferences: "subscription preferences page",
    vIf: "only for some people",
    leave: "This template has unsaved changes. Leave and discard them?",
    smsEstimate: "As written: {len} characters · {enc} · {n} SMS. Variables change the final length — the preview shows the exact count.",
  },
  zh: {
    back: "消息模板",
    newTitle: "新建模板",
    unsaved: "有未保存的修改",
    saved: "已保存为 v{n}",
    save: "保存",
    saving: "保存中…",
    delete: "删除",
    name: "名称",
    nameHint: "在控制台和旅程发送节点中显示。",
    category: "类别",
    categoryHint: "如 marketing（营销）或 transactional（事务），仅作提示；实际类别由发送请求或旅程节点决定。",
    defaultLocale: "默认语言",
    defaultLocaleHint: "用户的语言没有对应内容时使用。",
    required: "必填变量",
    requiredHint: "用逗号分隔，如 profile.first_name, event.cart_id。任一变量无值时不发送。",
    locales: "语言",
    addLocale: "添加语言",
    localeTag: "语言代码",
    localeHint: "规范写法：en、en-US、zh-Hans、zh-Hant-TW、es-419。",
    localeBad: "不是规范的语言代码（如 en、en-US、zh-Hans）。",
    localeExists: "该语言已存在。",
    copyFrom: "复制内容自",
    copyNone: "空白",
    removeLocale: "删除语言 {l}",
    default: "默认",
    channels: "渠道",
    addChannel: "添加渠道",
    removeChannel: "从 {l} 中删除{c}",
    noChannels: "该语言还没有渠道，请添加这条消息要使用的渠道。",
    literal: "原样发送，不解析 Handlebars",
    requiredField: "必填",
    add: "添加",
    cancel: "取消",
    key: "键",
    value: "值",
    addEntry: "添加一项",
    remove: "删除",
    errorsTitle: "模板未保存",
    conflict: "在你编辑期间，其他人保存了更新的版本（你基于 v{n} 编辑）。重新加载即可查看，当前页面的修改将被覆盖。",
    reloadLatest: "加载最新版本",
    notFoundNew: "该模板尚不存在：填写内容后保存即可创建。",
    versions: "版本记录",
    version: "版本",
    createdAt: "保存时间",
    createdBy: "保存者",
    approvedBy: "审批",
    approve: "审批通过",
    approveForbidden: "不能审批自己保存的版本，需要由另一个管理员密钥审批。",
    notApproved: "未审批",
    live: "发送中",
    view: "载入",
    previewVersion: "预览",
    confirmDelete: "删除模板 {id}？",
    confirmDeleteHint: "所有版本都会被删除。使用该模板的旅程和发送请求将失败，直到重新创建同 ID 的模板。",
    confirmDeleteBtn: "删除模板",
    editJson: "以 JSON 编辑",
    json: "模板 JSON",
    jsonBad: "JSON 格式错误：{m}",
    apply: "应用",
    approvalsOn: "已开启模板审批：只有审批通过的版本会被发送。",
    insertVariable: "插入变量",
    vFirstName: "名字",
    vFirstNameDefault: "名字（无值时使用默认称呼）",
    vEmail: "邮箱地址",
    vPhone: "手机号",
    vUserId: "用户 ID",
    vEvent: "触发事件的属性（补全属性名）",
    vDate: "事件中的时间（按用户时区）",
    vCurrency: "带币种的金额",
    vUnsubscribe: "一键退订链接",
    vPreferences: "订阅偏好设置页",
    vIf: "仅对部分用户显示",
    leave: "模板有未保存的修改，确定离开并放弃这些修改吗？",
    smsEstimate: "按当前文本：{len} 个字符 · {enc} · {n} 条短信。变量替换后长度会变化，准确条数以预览为准。",
  },
};

interface Loaded {
  template: TemplateView | null;
  approvals: boolean;
}

function newDefinition(id: string): TemplateDefinition {
  return { name: id, defaultLocale: "en", locales: { en: {} } };
}

/** Field errors of a 400 by where they belong: "locale|channel|path" or "top|name". */
function groupErrors(error: unknown): { byField: Map<string, string[]>; lines: string[] } {
  const byField = new Map<string, string[]>();
  const lines = problemLines(error);
  const list = error instanceof ApiError && Array.isArray(error.errors) ? (error.errors as { field?: string; message?: string }[]) : [];
  for (const e of list) {
    if (!e.field || !e.message) continue;
    const parts = pathParts(e.field);
    let key: string;
    if (parts[0] === "locales" && parts.length >= 3) {
      const channel = parts[2];
      const fields = CHANNEL_FIELDS[channel as Channel] ?? [];
      const rest = parts.slice(3);
      // The longest known field path that prefixes the error's path ("data.k" → "data").
      let field = rest.join(".");
      for (let n = rest.length; n > 0; n--) {
        const candidate = rest.slice(0, n).join(".");
        if (fields.some((f) => f.path === candidate)) {
          field = candidate;
          break;
        }
      }
      key = `${parts[1]}|${channel}|${field}`;
    } else key = `top|${parts[0] ?? ""}`;
    byField.set(key, [...(byField.get(key) ?? []), e.message]);
  }
  return { byField, lines };
}

export function TemplatePage({ id }: { id: string }) {
  const t = useT(L);
  const loaded = useAsync<Loaded>(async (signal) => {
    const settings = await api
      .get<{ templateApprovals: boolean }>("/api/v1/settings", { signal })
      .catch(() => ({ templateApprovals: false }));
    try {
      const template = await api.get<TemplateView>(`/api/v1/templates/${encodeURIComponent(id)}`, { signal });
      return { template, approvals: settings.templateApprovals };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return { template: null, approvals: settings.templateApprovals };
      throw e;
    }
  }, [id]);

  if (loaded.error && !loaded.data) return <ErrorBox error={loaded.error} onRetry={loaded.reload} />;
  if (!loaded.data) return <Loading />;
  return <Editor key={`${loaded.data.template?.latestVersion ?? 0}`} id={id} loaded={loaded.data} reload={loaded.reload} t={t} />;
}

function Editor({ id, loaded, reload, t }: { id: string; loaded: Loaded; reload: () => void; t: ReturnType<typeof useT<typeof L.en>> }) {
  const f = useFormat();
  const channelLabel = useChannelLabel();
  const fieldLabel = useFieldLabel();
  const [saved, setSaved] = useState<TemplateView | null>(loaded.template);
  const initial = useMemo(() => loaded.template?.definition ?? newDefinition(id), [loaded.template, id]);
  const [def, setDef] = useState<TemplateDefinition>(initial);
  const [savedJson, setSavedJson] = useState(loaded.template ? JSON.stringify(initial) : "");
  const [locale, setLocale] = useState(initial.defaultLocale in initial.locales ? initial.defaultLocale : Object.keys(initial.locales)[0] ?? "en");
  const localeChannels = Object.keys(def.locales[locale] ?? {});
  const [channel, setChannel] = useState<string>(localeChannels[0] ?? "");
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [justSaved, setJustSaved] = useState<number | null>(null);
  const [addingLocale, setAddingLocale] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [editingJson, setEditingJson] = useState(false);
  const [versionsTick, setVersionsTick] = useState(0);
  const [pinned, setPinned] = useState<TemplateVersionView | null>(null);
  // The text field last focused, so "Insert variable" puts the variable at its cursor.
  const focused = useRef<{ path: string; el: HTMLInputElement | HTMLTextAreaElement } | null>(null);
  const dirty = JSON.stringify(def) !== savedJson;
  const errors = useMemo(() => groupErrors(saveError), [saveError]);

  // Keep a valid channel tab selected when the language or its channels change.
  useEffect(() => {
    const chs = Object.keys(def.locales[locale] ?? {});
    if (!chs.includes(channel)) setChannel(chs[0] ?? "");
  }, [def, locale, channel]);

  // Warn before leaving with unsaved changes: reload / close tab, and in-app links.
  useLeaveGuard(dirty, t("leave"));

  const update = (fn: (d: TemplateDefinition) => TemplateDefinition) => {
    setDef((d) => fn(d));
    setJustSaved(null);
  };
  const setContent = (loc: string, ch: string, content: ChannelContent) =>
    update((d) => ({ ...d, locales: { ...d.locales, [loc]: { ...d.locales[loc], [ch]: content } } }));

  const save = async () => {
    setSaving(true);
    setSaveError(null);
    try {
      const body: TemplateDefinition = { ...def };
      if (!body.category) delete body.category;
      if (!body.required || body.required.length === 0) delete body.required;
      const result = await api.put<TemplateView>(`/api/v1/templates/${encodeURIComponent(id)}`, body, {
        headers: { "If-Match": `"${saved?.latestVersion ?? 0}"` },
      });
      setSaved(result);
      const json = JSON.stringify(def);
      setSavedJson(json);
      setJustSaved(result.latestVersion);
      setPinned(null);
      setVersionsTick((x) => x + 1);
    } catch (e) {
      setSaveError(e);
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    try {
      await api.del(`/api/v1/templates/${encodeURIComponent(id)}`);
      navigate("/templates");
    } catch (e) {
      setDeleting(false);
      setSaveError(e);
    }
  };

  const addChannel = (ch: Channel) => {
    setContent(locale, ch, emptyContent(ch));
    setChannel(ch);
  };
  const removeChannel = (ch: string) =>
    update((d) => {
      const loc = { ...d.locales[locale] };
      delete loc[ch];
      return { ...d, locales: { ...d.locales, [locale]: loc } };
    });
  const removeLocale = (loc: string) =>
    update((d) => {
      const locales = { ...d.locales };
      delete locales[loc];
      const rest = Object.keys(locales);
      if (loc === locale) setLocale(rest[0] ?? "");
      return { ...d, locales, defaultLocale: d.defaultLocale === loc ? rest[0] ?? "" : d.defaultLocale };
    });

  const conflict = saveError instanceof ApiError && saveError.status === 412;
  const topErr = (name: string) => errors.byField.get(`top|${name}`);
  const missing = CHANNELS.filter((c) => !localeChannels.includes(c));
  const content = (def.locales[locale]?.[channel] ?? {}) as ChannelContent;

  return (
    <div className="tpl-editor">
      <PageHeader
        title={
          <span className="row">
            <a {...linkProps("/templates")} className="muted tpl-back">
              {t("back")} /
            </a>
            <span>{def.name || id}</span>
            {def.name && def.name !== id && <span className="mono muted tpl-id">{id}</span>}
          </span>
        }
        subtitle={
          <span className="row">
            {saved ? <Badge tone="info">v{saved.latestVersion}</Badge> : <Badge tone="warn">{t("newTitle")}</Badge>}
            {saved?.approvedVersion ? <Badge tone="ok">{t("approvedBy")} v{saved.approvedVersion}</Badge> : null}
            {dirty && saved && <Badge tone="warn">{t("unsaved")}</Badge>}
            {justSaved !== null && !dirty && <Badge tone="ok">{t("saved", { n: justSaved })}</Badge>}
            {loaded.approvals && <span className="muted">{t("approvalsOn")}</span>}
          </span>
        }
        actions={
          <>
            <button className="btn" onClick={() => setEditingJson(true)} data-testid="template-edit-json">
              {t("editJson")}
            </button>
            {saved && (
              <button className="btn danger" onClick={() => setDeleting(true)} data-testid="template-delete">
                {t("delete")}
              </button>
            )}
            <button className="btn primary" onClick={save} disabled={saving || (!dirty && !!saved)} data-testid="template-save">
              {saving ? t("saving") : t("save")}
            </button>
          </>
        }
      />
      {!saved && <div className="tpl-note">{t("notFoundNew")}</div>}
      {conflict ? (
        <div className="error-box" role="alert" data-testid="template-conflict">
          <p>{t("conflict", { n: saved?.latestVersion ?? 0 })}</p>
          <button className="btn" onClick={reload}>
            {t("reloadLatest")}
          </button>
        </div>
      ) : saveError ? (
        <div className="error-box" role="alert" data-testid="error">
          <strong>{t("errorsTitle")}</strong>
          <ul>
            {errors.lines.map((l, i) => (
              <li key={i}>{l}</li>
            ))}
          </ul>
        </div>
      ) : null}

      <div className="tpl-layout">
        <div className="tpl-main">
          <section className="panel">
            <div className="grid cols-3">
              <Field label={t("name")} hint={t("nameHint")}>
                <input value={def.name ?? ""} onChange={(e) => update((d) => ({ ...d, name: e.target.value }))} data-testid="template-field-name" />
                <FieldErrors messages={topErr("name")} />
              </Field>
              <Field label={t("category")} hint={t("categoryHint")}>
                <input
                  value={def.category ?? ""}
                  list="tpl-categories"
                  onChange={(e) => update((d) => ({ ...d, category: e.target.value }))}
                  data-testid="template-field-category"
                />
                <datalist id="tpl-categories">
                  <option value="marketing" />
                  <option value="transactional" />
                </datalist>
                <FieldErrors messages={topErr("category")} />
              </Field>
              <Field label={t("defaultLocale")} hint={t("defaultLocaleHint")}>
                <select
                  value={def.defaultLocale}
                  onChange={(e) => update((d) => ({ ...d, defaultLocale: e.target.value }))}
                  data-testid="template-field-defaultLocale"
                >
                  {Object.keys(def.locales).map((l) => (
                    <option key={l} value={l}>
                      {l}
                    </option>
                  ))}
                </select>
                <FieldErrors messages={topErr("defaultLocale")} />
              </Field>
            </div>
            <Field label={t("required")} hint={t("requiredHint")}>
              <RequiredInput value={def.required ?? []} onChange={(required) => update((d) => ({ ...d, required }))} />
              <FieldErrors messages={topErr("required")} />
            </Field>
          </section>

          <section className="panel">
            <div className="row tpl-locales">
              <span className="field-label">{t("locales")}</span>
              {Object.keys(def.locales).map((l) => (
                <button
                  key={l}
                  className={l === locale ? "tpl-locale active" : "tpl-locale"}
                  onClick={() => setLocale(l)}
                  data-testid={`template-locale-${l}`}
                >
                  {l}
                  {l === def.defaultLocale && <span className="tpl-default"> · {t("default")}</span>}
                </button>
              ))}
              <button className="btn small" onClick={() => setAddingLocale(true)} data-testid="template-add-locale">
                + {t("addLocale")}
              </button>
              <span className="spacer" />
              {Object.keys(def.locales).length > 1 && locale && (
                <button className="btn small ghost" onClick={() => removeLocale(locale)} data-testid="template-remove-locale">
                  {t("removeLocale", { l: locale })}
                </button>
              )}
            </div>
            <FieldErrors messages={topErr("locales")} />

            <div className="tabs tpl-channel-tabs" role="tablist">
              {localeChannels.map((c) => (
                <button
                  key={c}
                  role="tab"
                  aria-selected={c === channel}
                  className={c === channel ? "tab active" : "tab"}
                  onClick={() => setChannel(c)}
                  data-testid={`template-channel-tab-${c}`}
                >
                  {channelLabel(c)}
                  {[...errors.byField.keys()].some((k) => k.startsWith(`${locale}|${c}|`)) && <span className="tpl-dot" />}
                </button>
              ))}
              {missing.length > 0 && (
                <span className="tpl-add-channel">
                  <span className="muted">{t("addChannel")}:</span>
                  {missing.map((c) => (
                    <button key={c} className="btn small" onClick={() => addChannel(c)} data-testid={`template-add-channel-${c}`}>
                      + {channelLabel(c)}
                    </button>
                  ))}
                </span>
              )}
            </div>

            {localeChannels.length === 0 ? (
              <div className="empty">{t("noChannels")}</div>
            ) : channel ? (
              <div data-testid={`template-channel-${channel}`}>
                {(CHANNEL_FIELDS[channel as Channel] ?? []).map((spec) => (
                  <ChannelField
                    key={`${locale}-${channel}-${spec.path}`}
                    channel={channel}
                    spec={spec}
                    label={fieldLabel(channel, spec.path)}
                    value={getPath(content, spec.path)}
                    errors={errors.byField.get(`${locale}|${channel}|${spec.path}`)}
                    onChange={(v) => setContent(locale, channel, setPath(content, spec.path, v))}
                    onFocus={(el) => (focused.current = { path: spec.path, el })}
                    t={t}
                  />
                ))}
                <FieldErrors messages={errors.byField.get(`${locale}|${channel}|`)} />
                <div className="row tpl-channel-foot">
                  <VariablePicker
                    t={t}
                    onInsert={(token) => {
                      const f = focused.current;
                      const fields = CHANNEL_FIELDS[channel as Channel] ?? [];
                      const spec = (f && fields.find((x) => x.path === f.path && x.kind !== "map" && x.kind !== "number" && !x.literal)) ??
                        fields.find((x) => x.kind === "text" || x.kind === "html" || x.kind === "line");
                      if (!spec) return;
                      const current = String(getPath(content, spec.path) ?? "");
                      const el = f && f.path === spec.path && document.body.contains(f.el) ? f.el : null;
                      const start = el?.selectionStart ?? current.length;
                      const end = el?.selectionEnd ?? current.length;
                      const next = current.slice(0, start) + token + current.slice(end);
                      setContent(locale, channel, setPath(content, spec.path, next));
                      // "{{event.}}" leaves the caret before "}}" to type the property's name.
                      const caret = start + (token.endsWith(".}}") ? token.length - 2 : token.length);
                      if (el)
                        requestAnimationFrame(() => {
                          el.focus();
                          el.setSelectionRange(caret, caret);
                        });
                    }}
                  />
                  <span className="spacer" />
                  <button className="btn small danger" onClick={() => removeChannel(channel)} data-testid="template-remove-channel">
                    {t("removeChannel", { c: channelLabel(channel), l: locale })}
                  </button>
                </div>
              </div>
            ) : null}
          </section>

          {saved && (
            <Versions
              id={id}
              tick={versionsTick}
              approvals={loaded.approvals}
              onLoad={(v) => update(() => v.definition)}
              onPreview={(v) => setPinned(v.version === saved.latestVersion ? null : v)}
              onApproved={(v) => {
                setSaved((s) => (s ? { ...s, approvedVersion: v } : s));
              }}
              t={t}
              f={f}
            />
          )}
        </div>

        <aside className="tpl-side">
          <TemplatePreviewPanel
            id={id}
            savedVersion={saved?.latestVersion ?? null}
            dirty={dirty}
            channels={channelsOf(pinned?.definition ?? def)}
            locales={Object.keys((pinned?.definition ?? def).locales ?? {})}
            currentChannel={channel}
            onSave={save}
            saving={saving}
            pinnedVersion={pinned?.version ?? null}
            onUnpin={() => setPinned(null)}
          />
        </aside>
      </div>

      {addingLocale && (
        <AddLocaleModal
          existing={Object.keys(def.locales)}
          onClose={() => setAddingLocale(false)}
          onAdd={(tag, from) => {
            update((d) => ({
              ...d,
              locales: { ...d.locales, [tag]: from ? structuredClone(d.locales[from]) : {} },
            }));
            setLocale(tag);
            setAddingLocale(false);
          }}
          t={t}
        />
      )}
      {deleting && (
        <Modal title={t("confirmDelete", { id })} onClose={() => setDeleting(false)}>
          <p>{t("confirmDeleteHint")}</p>
          <div className="row">
            <span className="spacer" />
            <button className="btn" onClick={() => setDeleting(false)}>
              {t("cancel")}
            </button>
            <button className="btn primary" onClick={remove} data-testid="template-delete-confirm">
              {t("confirmDeleteBtn")}
            </button>
          </div>
        </Modal>
      )}
      {editingJson && (
        <JsonModal
          value={def}
          onClose={() => setEditingJson(false)}
          onApply={(v) => {
            update(() => v);
            const locs = Object.keys(v.locales ?? {});
            if (!locs.includes(locale)) setLocale(locs[0] ?? "");
            setEditingJson(false);
          }}
          t={t}
        />
      )}
    </div>
  );
}

const VARIABLES: { token: string; key: string }[] = [
  { token: "{{profile.first_name}}", key: "vFirstName" },
  { token: '{{default profile.first_name "there"}}', key: "vFirstNameDefault" },
  { token: "{{profile.email}}", key: "vEmail" },
  { token: "{{profile.phone}}", key: "vPhone" },
  { token: "{{profile.user_id}}", key: "vUserId" },
  { token: "{{event.}}", key: "vEvent" },
  { token: '{{formatDate event.at "short"}}', key: "vDate" },
  { token: '{{formatCurrency event.total "CNY"}}', key: "vCurrency" },
  { token: "{{message.unsubscribe_url}}", key: "vUnsubscribe" },
  { token: "{{message.preferences_url}}", key: "vPreferences" },
  { token: "{{#if profile.vip}}…{{else}}…{{/if}}", key: "vIf" },
];

function VariablePicker({ onInsert, t }: { onInsert: (token: string) => void; t: ReturnType<typeof useT<typeof L.en>> }) {
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => !box.current?.contains(e.target as Node) && setOpen(false);
    const esc = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", esc);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", esc);
    };
  }, [open]);
  return (
    <div className="tpl-vars" ref={box}>
      <button className="btn small" onClick={() => setOpen(!open)} data-testid="template-insert-variable" aria-expanded={open}>
        {"{{ }}"} {t("insertVariable")}
      </button>
      {open && (
        <div className="tpl-vars-list" role="menu">
          {VARIABLES.map((v) => (
            <button
              key={v.token}
              role="menuitem"
              className="tpl-var"
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => {
                onInsert(v.token);
                setOpen(false);
              }}
            >
              <code>{v.token}</code>
              <span className="muted">{t(v.key as "vEmail")}</span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

function FieldErrors({ messages }: { messages?: string[] }) {
  if (!messages || messages.length === 0) return null;
  return (
    <div className="tpl-field-error" role="alert" data-testid="field-error">
      {messages.map((m, i) => (
        <div key={i}>{m}</div>
      ))}
    </div>
  );
}

function RequiredInput({ value, onChange }: { value: string[]; onChange: (v: string[]) => void }) {
  const [text, setText] = useState(value.join(", "));
  useEffect(() => {
    setText((cur) => (cur.split(",").map((s) => s.trim()).filter(Boolean).join(",") === value.join(",") ? cur : value.join(", ")));
  }, [value]);
  return (
    <input
      value={text}
      placeholder="profile.first_name, event.cart_id"
      onChange={(e) => {
        setText(e.target.value);
        onChange(e.target.value.split(",").map((s) => s.trim()).filter(Boolean));
      }}
      data-testid="template-field-required"
    />
  );
}

function ChannelField({
  channel,
  spec,
  label,
  value,
  errors,
  onChange,
  onFocus,
  t,
}: {
  channel: string;
  spec: FieldSpec;
  label: string;
  value: unknown;
  errors?: string[];
  onChange: (v: unknown) => void;
  onFocus: (el: HTMLInputElement | HTMLTextAreaElement) => void;
  t: ReturnType<typeof useT<typeof L.en>>;
}) {
  const testId = `template-field-${channel}-${spec.path.replace(/\./g, "-")}`;
  const hint = [spec.required ? t("requiredField") : "", spec.literal ? t("literal") : ""].filter(Boolean).join(" · ");
  let input: React.ReactNode;
  switch (spec.kind) {
    case "line":
      input = (
        <input
          value={String(value ?? "")}
          onChange={(e) => onChange(e.target.value)}
          onFocus={(e) => onFocus(e.currentTarget)}
          data-testid={testId}
          className={errors ? "invalid" : ""}
        />
      );
      break;
    case "number":
      input = (
        <input
          type="number"
          min={1}
          max={3}
          value={value === undefined ? "" : String(value)}
          onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))}
          data-testid={testId}
        />
      );
      break;
    case "map":
      input = <MapEditor value={(value as Record<string, string>) ?? {}} onChange={onChange} testId={testId} t={t} />;
      break;
    default:
      input = (
        <textarea
          className={`${spec.kind === "text" ? "" : "mono"} ${errors ? "invalid" : ""}`}
          rows={spec.kind === "html" ? 12 : spec.kind === "json" ? 8 : 4}
          value={String(value ?? "")}
          onChange={(e) => onChange(e.target.value)}
          onFocus={(e) => onFocus(e.currentTarget)}
          data-testid={testId}
          spellCheck={spec.kind === "text"}
        />
      );
  }
  return (
    <div className="field">
      <span className="field-label">
        {label}
        {hint && <span className="field-hint tpl-inline-hint"> · {hint}</span>}
      </span>
      {input}
      {channel === "sms" && spec.path === "text" && <SmsEstimate text={String(value ?? "")} t={t} />}
      <FieldErrors messages={errors} />
    </div>
  );
}

function SmsEstimate({ text, t }: { text: string; t: ReturnType<typeof useT<typeof L.en>> }) {
  const m = measureSms(text);
  return (
    <span className="field-hint" data-testid="sms-estimate" data-segments={m.segments}>
      {t("smsEstimate", { len: m.length, enc: m.encoding, n: m.segments })}
    </span>
  );
}

function MapEditor({
  value,
  onChange,
  testId,
  t,
}: {
  value: Record<string, string>;
  onChange: (v: Record<string, string> | undefined) => void;
  testId: string;
  t: ReturnType<typeof useT<typeof L.en>>;
}) {
  // Rows keep their order and allow a half-typed (empty) key while editing.
  const [rows, setRows] = useState<[string, string][]>(() => Object.entries(value));
  const emit = (next: [string, string][]) => {
    setRows(next);
    const obj: Record<string, string> = {};
    for (const [k, v] of next) if (k) obj[k] = v;
    onChange(Object.keys(obj).length ? obj : undefined);
  };
  return (
    <div className="tpl-map" data-testid={testId}>
      {rows.map(([k, v], i) => (
        <div className="row tpl-map-row" key={i}>
          <input
            className="mono"
            placeholder={t("key")}
            value={k}
            onChange={(e) => emit(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))}
            data-testid={`${testId}-key-${i}`}
          />
          <input
            placeholder={t("value")}
            value={v}
            onChange={(e) => emit(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))}
            data-testid={`${testId}-value-${i}`}
          />
          <button className="btn small ghost" onClick={() => emit(rows.filter((_, j) => j !== i))} aria-label={t("remove")}>
            ×
          </button>
        </div>
      ))}
      <button className="btn small" onClick={() => setRows([...rows, ["", ""]])} data-testid={`${testId}-add`}>
        + {t("addEntry")}
      </button>
    </div>
  );
}

function AddLocaleModal({
  existing,
  onClose,
  onAdd,
  t,
}: {
  existing: string[];
  onClose: () => void;
  onAdd: (tag: string, from: string | null) => void;
  t: ReturnType<typeof useT<typeof L.en>>;
}) {
  const [tag, setTag] = useState("");
  const [from, setFrom] = useState<string>(existing[0] ?? "");
  const bad = tag !== "" && !LOCALE_RE.test(tag);
  const exists = existing.includes(tag);
  return (
    <Modal title={t("addLocale")} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (tag && !bad && !exists) onAdd(tag, from || null);
        }}
      >
        <Field label={t("localeTag")} hint={t("localeHint")}>
          <input autoFocus value={tag} onChange={(e) => setTag(e.target.value.trim())} placeholder="zh-Hans" data-testid="template-locale-tag" list="tpl-locale-tags" />
          <datalist id="tpl-locale-tags">
            {["en", "en-US", "en-GB", "zh-Hans", "zh-Hant", "zh-Hant-TW", "ja", "ko", "de", "fr", "es", "es-419", "pt-BR"].map((l) => (
              <option key={l} value={l} />
            ))}
          </datalist>
        </Field>
        {bad && <div className="tpl-field-error">{t("localeBad")}</div>}
        {exists && <div className="tpl-field-error">{t("localeExists")}</div>}
        <Field label={t("copyFrom")}>
          <select value={from} onChange={(e) => setFrom(e.target.value)}>
            <option value="">{t("copyNone")}</option>
            {existing.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        <div className="row">
          <span className="spacer" />
          <button type="button" className="btn" onClick={onClose}>
            {t("cancel")}
          </button>
          <button type="submit" className="btn primary" disabled={!tag || bad || exists} data-testid="template-locale-add">
            {t("add")}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function JsonModal({
  value,
  onClose,
  onApply,
  t,
}: {
  value: TemplateDefinition;
  onClose: () => void;
  onApply: (v: TemplateDefinition) => void;
  t: ReturnType<typeof useT<typeof L.en>>;
}) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [error, setError] = useState<string | null>(null);
  return (
    <Modal title={t("json")} onClose={onClose}>
      <textarea className="mono tpl-json" rows={22} value={text} onChange={(e) => setText(e.target.value)} data-testid="template-json" />
      {error && <div className="tpl-field-error">{error}</div>}
      <div className="row">
        <span className="spacer" />
        <button className="btn" onClick={onClose}>
          {t("cancel")}
        </button>
        <button
          className="btn primary"
          onClick={() => {
            try {
              const v = JSON.parse(text);
              if (!v || typeof v !== "object" || Array.isArray(v) || typeof v.locales !== "object" || v.locales === null) throw new Error("locales");
              onApply(v as TemplateDefinition);
            } catch (e) {
              setError(t("jsonBad", { m: (e as Error).message }));
            }
          }}
          data-testid="template-json-apply"
        >
          {t("apply")}
        </button>
      </div>
    </Modal>
  );
}

function Versions({
  id,
  tick,
  approvals,
  onLoad,
  onPreview,
  onApproved,
  t,
  f,
}: {
  id: string;
  tick: number;
  approvals: boolean;
  onLoad: (v: TemplateVersionView) => void;
  onPreview: (version: TemplateVersionView) => void;
  onApproved: (version: number) => void;
  t: ReturnType<typeof useT<typeof L.en>>;
  f: ReturnType<typeof useFormat>;
}) {
  const versions = useAsync(
    (signal) => api.get<TemplateVersionView[]>(`/api/v1/templates/${encodeURIComponent(id)}/versions`, { signal }),
    [id, tick],
  );
  const [approveError, setApproveError] = useState<unknown>(null);
  const approvedMax = useRef(0);
  const approve = async (v: number) => {
    setApproveError(null);
    try {
      await api.post(`/api/v1/templates/${encodeURIComponent(id)}/versions/${v}/approve`);
      onApproved(v);
      versions.reload();
    } catch (e) {
      setApproveError(e);
    }
  };
  approvedMax.current = Math.max(0, ...(versions.data ?? []).filter((v) => v.approvedAt).map((v) => v.version));
  return (
    <section className="panel" data-testid="template-versions">
      <h2>{t("versions")}</h2>
      {approveError instanceof ApiError && approveError.status === 403 ? (
        <div className="error-box" role="alert" data-testid="approve-forbidden">
          {t("approveForbidden")}
        </div>
      ) : approveError ? (
        <ErrorBox error={approveError} />
      ) : null}
      {versions.error ? <ErrorBox error={versions.error} onRetry={versions.reload} /> : null}
      {!versions.data ? (
        <Loading />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("version")}</th>
                <th>{t("createdAt")}</th>
                <th>{t("createdBy")}</th>
                <th>{t("approvedBy")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {versions.data.map((v) => (
                <tr key={v.version} data-testid="template-version-row">
                  <td>
                    v{v.version} {approvals && v.version === approvedMax.current && <Badge tone="ok">{t("live")}</Badge>}
                  </td>
                  <td>{f.dateTime(v.createdAt)}</td>
                  <td className="mono">{v.createdBy ?? "—"}</td>
                  <td>
                    {v.approvedAt ? (
                      <span>
                        <Badge tone="ok">✓</Badge> <span className="mono">{v.approvedBy}</span> · {f.dateTime(v.approvedAt)}
                      </span>
                    ) : (
                      <span className="muted">{t("notApproved")}</span>
                    )}
                  </td>
                  <td>
                    <div className="row tpl-version-actions">
                    {!v.approvedAt && (
                      <button className="btn small" onClick={() => approve(v.version)} data-testid="approve">
                        {t("approve")}
                      </button>
                    )}
                    <button className="btn small ghost" onClick={() => onPreview(v)} data-testid="template-version-preview">
                      {t("previewVersion")}
                    </button>
                    <button className="btn small ghost" onClick={() => onLoad(v)} data-testid="template-version-load">
                      {t("view")}
                    </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
