import { useEffect, useRef, useState } from "react";
import { api, ApiError, problemLines, qs } from "../../api";
import { useFormat, useT } from "../../i18n";
import { linkProps } from "../../router";
import { Badge, Empty, ErrorBox, Field, Json, Loading, Modal, PageHeader, useAsync, useInterval } from "../../ui";

// Approvals waiting (journey publishes, template versions) and the workspace's audit log (docs/api.md "Audit", "Approvals").

interface JourneySummary {
  id: string;
  name: string;
  status: string;
  latestVersion: number;
  liveVersion: number | null;
  pendingVersion: number | null;
  updatedAt: string;
}

interface JourneyView extends JourneySummary {
  pendingBy: string | null;
}

interface TemplateSummary {
  id: string;
  latestVersion: number;
  approvedVersion: number | null;
  updatedAt: string;
}

interface TemplateVersion {
  version: number;
  createdAt: string;
  createdBy: string | null;
  approvedAt: string | null;
}

interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  detail: unknown;
}

interface AuditPage {
  entries: AuditEntry[];
  next: number;
}

interface Approval {
  kind: "journey" | "template";
  id: string;
  name?: string;
  version: number;
  live: number | null;
  requestedBy: string | null;
  at: string;
}

const L = {
  en: {
    title: "Audit & approvals",
    subtitle: "What waits for a second admin's approval, and who did what in this workspace.",
    approvals: "Waiting for approval",
    approvalsHint: "A change asked for by one admin key is approved or rejected by another.",
    noApprovals: "Nothing waits for approval.",
    noApprovalsHint: "With journey or template approvals on (Delivery settings → Workspace settings), publishes and new template versions wait here.",
    approvalsOff: "Journey and template approvals are both off: publishes and template versions take effect at once. Turn them on under Delivery settings → Workspace settings.",
    journey: "Journey",
    template: "Template",
    version: "Version",
    live: "live now: v{n}",
    notLive: "not live yet",
    requestedBy: "Asked by",
    approve: "Approve",
    reject: "Reject",
    migrate: "Move people already in the journey to the new version (where their current step exists in it)",
    rejectTitle: "Reject {what}",
    reason: "Reason",
    reasonHint: "Shown in the audit log, e.g. \"copy not final\".",
    cancel: "Cancel",
    sameKey: "You cannot approve your own request: the key that asked for it must not approve it. Sign in with another admin key (for example a team lead's) to approve.",
    approved: "{what} approved.",
    rejected: "{what} rejected.",
    log: "Audit log",
    logHint: "Newest first. Actors are admin key ids (key_…); the keys themselves are never stored.",
    filter: "Filter by action, actor or target",
    when: "When",
    who: "Who",
    what: "Action",
    target: "Target",
    details: "Details",
    noEntries: "No audit entries yet",
    noEntriesHint: "Publishing journeys, changing settings, issuing keys and completing tasks are recorded here.",
    noMatch: "No entry matches the filter.",
    loadingAll: "Reading the log… {n} entries",
    entries: "{n} entries",
    show: "Show",
    hide: "Hide",
    live_badge: "live",
  },
  zh: {
    title: "审计与审批",
    subtitle: "等待第二位管理员审批的变更，以及工作区内的全部操作记录。",
    approvals: "待审批",
    approvalsHint: "由一个管理员密钥发起的变更，需由另一个管理员密钥审批通过或驳回。",
    noApprovals: "没有待审批的变更。",
    noApprovalsHint: "开启旅程或模板审批后（触达设置 → 工作区设置），发布请求和新的模板版本会在这里等待审批。",
    approvalsOff: "旅程审批和模板审批均未开启：发布和模板版本会立即生效。可在“触达设置 → 工作区设置”中开启。",
    journey: "旅程",
    template: "模板",
    version: "版本",
    live: "当前生效：v{n}",
    notLive: "尚未生效",
    requestedBy: "发起者",
    approve: "审批通过",
    reject: "驳回",
    migrate: "将已在旅程中的用户迁移到新版本（其当前节点在新版本中存在时）",
    rejectTitle: "驳回 {what}",
    reason: "原因",
    reasonHint: "会记录在审计日志中，例如“文案未定稿”。",
    cancel: "取消",
    sameKey: "不能审批自己发起的请求：发起请求的密钥不能审批。请使用另一个管理员密钥（例如团队负责人的）登录后审批。",
    approved: "{what} 已审批通过。",
    rejected: "{what} 已驳回。",
    log: "审计日志",
    logHint: "最新的在前。操作者为管理员密钥 ID（key_…），密钥本身从不保存。",
    filter: "按操作、操作者或对象筛选",
    when: "时间",
    who: "操作者",
    what: "操作",
    target: "对象",
    details: "详情",
    noEntries: "还没有审计记录",
    noEntriesHint: "发布旅程、修改设置、签发密钥、完成任务等操作都会记录在这里。",
    noMatch: "没有符合筛选条件的记录。",
    loadingAll: "正在读取日志… 已读取 {n} 条",
    entries: "共 {n} 条",
    show: "展开",
    hide: "收起",
    live_badge: "生效中",
  },
};

type T = ReturnType<typeof useT<typeof L.en>>;

export function AuditPage() {
  const t = useT(L);
  const [changed, setChanged] = useState(0);
  return (
    <div className="au-page">
      <PageHeader title={t("title")} subtitle={t("subtitle")} />
      <Approvals t={t} onChanged={() => setChanged((n) => n + 1)} />
      <AuditLog t={t} changed={changed} />
    </div>
  );
}

function Approvals({ t, onChanged }: { t: T; onChanged: () => void }) {
  const f = useFormat();
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<{ key: string; error: unknown } | null>(null);
  const [rejecting, setRejecting] = useState<Approval | null>(null);
  const [migrate, setMigrate] = useState<Record<string, boolean>>({});
  const data = useAsync(async (signal) => {
    const [journeys, settings, templates] = await Promise.all([
      api.get<{ journeys: JourneySummary[] }>("/api/v1/journeys", { signal }),
      api.get<{ journeyApprovals: boolean; templateApprovals: boolean }>("/api/v1/settings", { signal }),
      api.get<TemplateSummary[]>("/api/v1/templates", { signal }),
    ]);
    const items: Approval[] = [];
    for (const j of journeys.journeys.filter((x) => x.pendingVersion !== null)) {
      const full = await api.get<JourneyView>(`/api/v1/journeys/${encodeURIComponent(j.id)}`, { signal }).catch(() => null);
      items.push({
        kind: "journey",
        id: j.id,
        name: j.name,
        version: j.pendingVersion!,
        live: j.liveVersion,
        requestedBy: full?.pendingBy ?? null,
        at: j.updatedAt,
      });
    }
    if (settings.templateApprovals) {
      for (const tpl of templates.filter((x) => x.approvedVersion !== x.latestVersion)) {
        const versions = await api
          .get<TemplateVersion[]>(`/api/v1/templates/${encodeURIComponent(tpl.id)}/versions`, { signal })
          .catch(() => [] as TemplateVersion[]);
        const latest = versions.find((v) => v.version === tpl.latestVersion);
        items.push({
          kind: "template",
          id: tpl.id,
          version: tpl.latestVersion,
          live: tpl.approvedVersion,
          requestedBy: latest?.createdBy ?? null,
          at: latest?.createdAt ?? tpl.updatedAt,
        });
      }
    }
    return { items, settings };
  }, []);
  useInterval(data.reload, 15_000);

  const label = (a: Approval) => `${a.kind === "journey" ? t("journey") : t("template")} ${a.id} v${a.version}`;
  const key = (a: Approval) => `${a.kind}:${a.id}`;

  const approve = async (a: Approval) => {
    setActionError(null);
    setNotice(null);
    try {
      if (a.kind === "journey") await api.post(`/api/v1/journeys/${encodeURIComponent(a.id)}/approve`, { migrate: !!migrate[key(a)] });
      else await api.post(`/api/v1/templates/${encodeURIComponent(a.id)}/versions/${a.version}/approve`);
      setNotice(t("approved", { what: label(a) }));
      data.reload();
      onChanged();
    } catch (e) {
      setActionError({ key: key(a), error: e });
    }
  };

  return (
    <section className="panel" data-testid="approvals">
      <h2>{t("approvals")}</h2>
      <p className="field-hint">{t("approvalsHint")}</p>
      {notice && (
        <div className="tpl-note" role="status">
          {notice}
        </div>
      )}
      {data.error ? <ErrorBox error={data.error} onRetry={data.reload} /> : null}
      {!data.data ? (
        data.error ? null : <Loading />
      ) : data.data.items.length === 0 ? (
        <Empty
          title={t("noApprovals")}
          hint={!data.data.settings.journeyApprovals && !data.data.settings.templateApprovals ? t("approvalsOff") : t("noApprovalsHint")}
        />
      ) : (
        <div className="au-approvals">
          {data.data.items.map((a) => (
            <div key={key(a)} className="au-approval" data-testid="approval-row" data-kind={a.kind} data-id={a.id}>
              <div className="row">
                <Badge tone="info">{a.kind === "journey" ? t("journey") : t("template")}</Badge>
                <a {...linkProps(a.kind === "journey" ? `/journeys/${encodeURIComponent(a.id)}` : `/templates/${encodeURIComponent(a.id)}`)}>
                  <strong>{a.name ?? a.id}</strong>
                </a>
                {a.name && <span className="mono muted">{a.id}</span>}
                <Badge tone="warn">
                  {t("version")} v{a.version}
                </Badge>
                <span className="muted">{a.live !== null ? t("live", { n: a.live }) : t("notLive")}</span>
                <span className="spacer" />
                <span className="muted">
                  {t("requestedBy")}: <span className="mono">{a.requestedBy ?? "—"}</span> · {f.dateTime(a.at)}
                </span>
              </div>
              {a.kind === "journey" && a.live !== null && (
                <label className="row dl-check au-migrate">
                  <input type="checkbox" checked={!!migrate[key(a)]} onChange={(e) => setMigrate((m) => ({ ...m, [key(a)]: e.target.checked }))} />
                  {t("migrate")}
                </label>
              )}
              {actionError?.key === key(a) &&
                (actionError.error instanceof ApiError && actionError.error.status === 403 ? (
                  <div className="error-box" role="alert" data-testid="approve-forbidden">
                    {t("sameKey")}
                    <div className="muted">{actionError.error.detail}</div>
                  </div>
                ) : (
                  <ErrorBox error={actionError.error} />
                ))}
              <div className="row">
                <span className="spacer" />
                {a.kind === "journey" && (
                  <button className="btn danger" onClick={() => setRejecting(a)} data-testid="reject">
                    {t("reject")}
                  </button>
                )}
                <button className="btn primary" onClick={() => approve(a)} data-testid="approve">
                  {t("approve")}
                </button>
              </div>
            </div>
          ))}
        </div>
      )}
      {rejecting && (
        <RejectModal
          what={label(rejecting)}
          onClose={() => setRejecting(null)}
          onReject={async (reason) => {
            await api.post(`/api/v1/journeys/${encodeURIComponent(rejecting.id)}/reject`, { reason: reason || undefined });
            setNotice(t("rejected", { what: label(rejecting) }));
            setRejecting(null);
            data.reload();
            onChanged();
          }}
          t={t}
        />
      )}
    </section>
  );
}

function RejectModal({ what, onClose, onReject, t }: { what: string; onClose: () => void; onReject: (reason: string) => Promise<void>; t: T }) {
  const [reason, setReason] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Modal title={t("rejectTitle", { what })} onClose={onClose}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await onReject(reason.trim());
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <Field label={t("reason")} hint={t("reasonHint")}>
          <textarea autoFocus rows={3} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="reject-reason" />
        </Field>
        {error ? (
          error instanceof ApiError && error.status === 403 ? (
            <div className="error-box">{t("sameKey")}</div>
          ) : (
            <div className="error-box" role="alert">
              {problemLines(error).join("; ")}
            </div>
          )
        ) : null}
        <div className="row">
          <span className="spacer" />
          <button type="button" className="btn" onClick={onClose}>
            {t("cancel")}
          </button>
          <button className="btn danger" disabled={busy} data-testid="reject-confirm">
            {t("reject")}
          </button>
        </div>
      </form>
    </Modal>
  );
}

const PAGE = 500;

function AuditLog({ t, changed }: { t: T; changed: number }) {
  const f = useFormat();
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [filter, setFilter] = useState("");
  const [open, setOpen] = useState<Set<number>>(new Set());
  const cursor = useRef(0);
  const busy = useRef(false);

  // Read every page (the API pages oldest first), then poll for new entries from the last cursor.
  const pull = async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      for (;;) {
        const page = await api.get<AuditPage>(`/api/v1/audit${qs({ after: cursor.current, limit: PAGE })}`);
        if (page.entries.length > 0) setEntries((e) => [...e, ...page.entries]);
        const moved = page.next !== cursor.current;
        cursor.current = page.next;
        if (page.entries.length < PAGE || !moved) break;
      }
      setError(null);
      setDone(true);
    } catch (e) {
      setError(e);
    } finally {
      busy.current = false;
    }
  };
  useEffect(() => {
    void pull();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  useInterval(() => void pull(), done ? 5000 : null);
  useEffect(() => {
    if (changed > 0) void pull();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [changed]);

  const q = filter.trim().toLowerCase();
  const shown = [...entries]
    .reverse()
    .filter((e) => !q || `${e.action} ${e.actor} ${e.targetType} ${e.targetId}`.toLowerCase().includes(q));

  const targetLink = (e: AuditEntry) => {
    if (e.targetType === "journey") return `/journeys/${encodeURIComponent(e.targetId)}`;
    if (e.targetType === "template") return `/templates/${encodeURIComponent(e.targetId)}`;
    if (e.targetType === "task") return "/tasks?status=all";
    if (e.targetType === "provider" || e.targetType === "policy") return "/delivery";
    if (e.targetType === "settings") return "/delivery?tab=settings";
    return null;
  };
  const tone = (a: string) =>
    /rejected|deleted|archived|paused/.test(a) ? "bad" : /approved|published|done|resumed/.test(a) ? "ok" : /requested/.test(a) ? "warn" : "info";

  return (
    <section className="panel" data-testid="audit-log">
      <div className="row">
        <h2>{t("log")}</h2>
        <span className="spacer" />
        <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder={t("filter")} className="au-filter" data-testid="audit-filter" />
      </div>
      <p className="field-hint">{t("logHint")}</p>
      {error ? <ErrorBox error={error} onRetry={() => void pull()} /> : null}
      {!done && !error ? (
        entries.length ? <div className="loading">{t("loadingAll", { n: entries.length })}</div> : <Loading />
      ) : null}
      {done && entries.length === 0 ? (
        <Empty title={t("noEntries")} hint={t("noEntriesHint")} />
      ) : done && shown.length === 0 ? (
        <p className="muted">{t("noMatch")}</p>
      ) : shown.length > 0 ? (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>#</th>
                  <th>{t("when")}</th>
                  <th>{t("who")}</th>
                  <th>{t("what")}</th>
                  <th>{t("target")}</th>
                  <th>{t("details")}</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((e) => {
                  const link = targetLink(e);
                  const isOpen = open.has(e.seq);
                  const hasDetail = e.detail !== null && e.detail !== undefined;
                  return (
                    <tr key={e.seq} data-testid="audit-row" data-action={e.action}>
                      <td className="muted">{e.seq}</td>
                      <td className="au-when">{f.dateTime(e.at)}</td>
                      <td className="mono">{e.actor || "—"}</td>
                      <td>
                        <Badge tone={tone(e.action)}>{e.action}</Badge>
                      </td>
                      <td>
                        <span className="muted">{e.targetType}</span>{" "}
                        {link ? (
                          <a {...linkProps(link)} className="mono">
                            {e.targetId}
                          </a>
                        ) : (
                          <span className="mono">{e.targetId}</span>
                        )}
                      </td>
                      <td className="au-detail">
                        {hasDetail ? (
                          <>
                            <button
                              className="btn small ghost"
                              onClick={() =>
                                setOpen((s) => {
                                  const n = new Set(s);
                                  if (n.has(e.seq)) n.delete(e.seq);
                                  else n.add(e.seq);
                                  return n;
                                })
                              }
                              data-testid="audit-detail-toggle"
                            >
                              {isOpen ? t("hide") : t("show")}
                            </button>
                            {isOpen ? <Json value={e.detail} /> : <span className="muted mono au-inline">{summary(e.detail)}</span>}
                          </>
                        ) : (
                          <span className="muted">—</span>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <p className="muted">{t("entries", { n: entries.length })}</p>
        </>
      ) : null}
    </section>
  );
}

function summary(detail: unknown): string {
  const s = JSON.stringify(detail);
  return s.length > 80 ? s.slice(0, 79) + "…" : s;
}
