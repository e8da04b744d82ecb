import { useState } from "react";
import { api } from "../../api";
import { useFormat, useT } from "../../i18n";
import { linkProps, navigate } from "../../router";
import { Badge, Empty, ErrorBox, Field, Loading, Modal, PageHeader, useAsync } from "../../ui";
import { channelsOf, type TemplateView } from "./model";
import { useChannelLabel } from "./strings";

const L = {
  en: {
    title: "Templates",
    subtitle: "Message content per channel and language, rendered for each person with Handlebars.",
    newTemplate: "New template",
    id: "ID",
    name: "Name",
    channels: "Channels",
    category: "Category",
    latest: "Latest version",
    approved: "Approved version",
    updated: "Updated",
    none: "none",
    emptyTitle: "No templates yet",
    emptyHint: "A template holds the subject, text and links of one message for every channel and language. Journeys' send steps and the send API use it by its ID.",
    idLabel: "Template ID",
    idHint: "Letters, digits, '-' and '_'; journeys and the send API refer to the template by it, e.g. cart-reminder. It cannot be changed later.",
    idBad: "Use letters, digits, '-' and '_' only (at most 100 characters).",
    idTaken: "A template with this ID exists already.",
    create: "Create",
    cancel: "Cancel",
    notApproved: "not approved",
    search: "Search by ID or name",
    noMatch: "No template matches “{q}”.",
  },
  zh: {
    title: "消息模板",
    subtitle: "按渠道和语言维护消息内容，发送时用 Handlebars 为每个用户渲染。",
    newTemplate: "新建模板",
    id: "ID",
    name: "名称",
    channels: "渠道",
    category: "类别",
    latest: "最新版本",
    approved: "已审批版本",
    updated: "更新时间",
    none: "无",
    emptyTitle: "还没有模板",
    emptyHint: "模板保存一条消息在各渠道、各语言下的标题、正文和链接。旅程的发送节点和发送接口通过模板 ID 引用它。",
    idLabel: "模板 ID",
    idHint: "仅限字母、数字、“-”和“_”，例如 cart-reminder；旅程和发送接口通过它引用模板，创建后不可修改。",
    idBad: "只能使用字母、数字、“-”和“_”（最多 100 个字符）。",
    idTaken: "已存在使用此 ID 的模板。",
    create: "创建",
    cancel: "取消",
    notApproved: "未审批",
    search: "按 ID 或名称搜索",
    noMatch: "没有匹配“{q}”的模板。",
  },
};

const ID_RE = /^[A-Za-z0-9_-]{1,100}$/;

export function TemplatesPage() {
  const t = useT(L);
  const f = useFormat();
  const channelLabel = useChannelLabel();
  const [creating, setCreating] = useState(false);
  const [search, setSearch] = useState("");
  const list = useAsync(async (signal) => {
    const templates = await api.get<TemplateView[]>("/api/v1/templates", { signal });
    // The list has no definitions: read each template for its name and channels.
    const full = await Promise.all(
      templates.map((tpl) => api.get<TemplateView>(`/api/v1/templates/${encodeURIComponent(tpl.id)}`, { signal }).catch(() => tpl)),
    );
    return full.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  }, []);

  const q = search.trim().toLowerCase();
  const shown = (list.data ?? []).filter((x) => !q || x.id.toLowerCase().includes(q) || (x.definition?.name ?? "").toLowerCase().includes(q));

  return (
    <div className="tpl-page">
      <PageHeader
        title={t("title")}
        subtitle={t("subtitle")}
        actions={
          <>
            {list.data && list.data.length > 0 && (
              <input value={search} onChange={(e) => setSearch(e.target.value)} placeholder={t("search")} data-testid="template-search" />
            )}
            <button className="btn primary" onClick={() => setCreating(true)} data-testid="new-template">
              {t("newTemplate")}
            </button>
          </>
        }
      />
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data && list.data.length === 0 ? (
        <Empty
          title={t("emptyTitle")}
          hint={t("emptyHint")}
          action={
            <button className="btn primary" onClick={() => setCreating(true)}>
              {t("newTemplate")}
            </button>
          }
        />
      ) : list.data && shown.length === 0 ? (
        <p className="muted">{t("noMatch", { q: search })}</p>
      ) : list.data ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("id")}</th>
                <th>{t("name")}</th>
                <th>{t("channels")}</th>
                <th>{t("category")}</th>
                <th>{t("latest")}</th>
                <th>{t("approved")}</th>
                <th>{t("updated")}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((tpl) => (
                <tr
                  key={tpl.id}
                  className="clickable"
                  data-testid="template-row"
                  data-template-id={tpl.id}
                  onClick={() => navigate(`/templates/${encodeURIComponent(tpl.id)}`)}
                >
                  <td className="mono">
                    <a {...linkProps(`/templates/${encodeURIComponent(tpl.id)}`)} onClick={(e) => e.preventDefault()}>
                      {tpl.id}
                    </a>
                  </td>
                  <td>{tpl.definition?.name ?? "—"}</td>
                  <td>
                    <div className="row tpl-chips">
                      {channelsOf(tpl.definition).map((c) => (
                        <Badge key={c} tone="info">
                          {channelLabel(c)}
                        </Badge>
                      ))}
                    </div>
                  </td>
                  <td>{tpl.definition?.category ?? <span className="muted">—</span>}</td>
                  <td>v{tpl.latestVersion}</td>
                  <td>
                    {tpl.approvedVersion ? (
                      <Badge tone={tpl.approvedVersion === tpl.latestVersion ? "ok" : "warn"}>v{tpl.approvedVersion}</Badge>
                    ) : (
                      <span className="muted">{t("notApproved")}</span>
                    )}
                  </td>
                  <td>{f.dateTime(tpl.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {creating && <NewTemplateModal existing={list.data?.map((x) => x.id) ?? []} onClose={() => setCreating(false)} />}
    </div>
  );
}

function NewTemplateModal({ existing, onClose }: { existing: string[]; onClose: () => void }) {
  const t = useT(L);
  const [id, setId] = useState("");
  const [touched, setTouched] = useState(false);
  const bad = !ID_RE.test(id);
  const taken = existing.includes(id);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (bad || taken) return;
    navigate(`/templates/${encodeURIComponent(id)}`);
  };
  return (
    <Modal title={t("newTemplate")} onClose={onClose}>
      <form onSubmit={submit}>
        <Field label={t("idLabel")} hint={t("idHint")}>
          <input
            autoFocus
            value={id}
            onChange={(e) => setId(e.target.value.trim())}
            placeholder="cart-reminder"
            data-testid="new-template-id"
          />
        </Field>
        {touched && bad && <div className="tpl-field-error">{t("idBad")}</div>}
        {touched && !bad && taken && <div className="tpl-field-error">{t("idTaken")}</div>}
        <div className="row">
          <span className="spacer" />
          <button type="button" className="btn" onClick={onClose}>
            {t("cancel")}
          </button>
          <button type="submit" className="btn primary" data-testid="new-template-create">
            {t("create")}
          </button>
        </div>
      </form>
    </Modal>
  );
}
