import { useEffect, useMemo, useRef, useState } from "react";
import { api, ApiError } from "../../api";
import { Chart, type ChartOption } from "../../Chart";
import { useFormat, useT } from "../../i18n";
import { linkProps, navigate } from "../../router";
import { Badge, Empty, ErrorBox, Field, Loading, PageHeader, Tabs, useAsync, useInterval, useLeaveGuard } from "../../ui";
import { RuleGroup } from "./RuleBuilder";
import { fromRoot, renderedPaths, errorsAt, ruleErrors, toRoot, type FieldError, type Rule } from "./rules";
import type { Segment } from "./SegmentsPage";

const L = {
  en: {
    newTitle: "New segment",
    back: "← Segments",
    name: "Name",
    namePh: "e.g. Viewed pricing 3+ times, no order",
    description: "Description",
    id: "ID (optional)",
    idHint: "a-z, 0-9, _ and -; generated when left empty. Cannot be changed later.",
    rule: "Audience rule",
    builder: "Builder",
    json: "JSON",
    jsonInvalid: "Not valid JSON: {msg}",
    jsonNotObject: "A rule is one JSON object.",
    save: "Save segment",
    saving: "Saving…",
    create: "Create segment",
    delete: "Delete",
    confirmDelete: "Delete segment “{name}”? Its memberships and history are removed.",
    conflict: "Someone else changed this segment (now version {v}) while you were editing. Reload to see their version, then apply your change again.",
    reload: "Reload",
    inUse: "This segment cannot be deleted: another segment's rule uses it (member_of). {detail}",
    saved: "Saved (version {v}).",
    estimate: "Estimated audience",
    exactCount: "Audience",
    profiles: "profiles",
    range: "95% range {low}–{high}, from {evaluated} of {total} profiles",
    exactOf: "of {total} profiles",
    previewing: "Counting…",
    countExactly: "Count exactly (evaluates every profile)",
    addToPreview: "Add a condition to see how many profiles match.",
    sample: "Sample members",
    noSample: "No profile matches this rule yet.",
    anonymous: "anonymous #{id}",
    ruleErrors: "Fix these before saving:",
    previewProblems: "The rule has {n} problem(s); see the highlighted conditions.",
    version: "version {v}",
    ready: "Ready",
    backfilling: "Backfilling {p}",
    members: "Members",
    history: "Membership history",
    settings: "Definition",
    memberCount: "{n} members",
    userId: "User ID",
    profileId: "Profile",
    since: "Member since",
    loadMore: "Load more",
    noMembers: "No members yet.",
    noMembersHint: "Profiles enter as soon as their data matches the rule (events, traits, tags, or time passing).",
    entered: "Entered",
    exited: "Exited",
    noHistory: "No entries or exits in this period.",
    last7: "Last 7 days (hourly)",
    last30: "Last 30 days (daily)",
    unsaved: "Unsaved changes",
  },
  zh: {
    newTitle: "新建分群",
    back: "← 分群",
    name: "名称",
    namePh: "例如：近 7 天浏览定价页 3 次以上且未下单",
    description: "描述",
    id: "ID（可选）",
    idHint: "仅限 a-z、0-9、_ 和 -；留空则自动生成，创建后不可修改。",
    rule: "人群规则",
    builder: "可视化",
    json: "JSON",
    jsonInvalid: "JSON 格式错误：{msg}",
    jsonNotObject: "规则必须是一个 JSON 对象。",
    save: "保存分群",
    saving: "保存中…",
    create: "创建分群",
    delete: "删除",
    confirmDelete: "确定删除分群“{name}”？其成员和变更记录将一并删除。",
    conflict: "在你编辑期间，其他人修改了此分群（当前版本 {v}）。请刷新查看最新版本后重新修改。",
    reload: "刷新",
    inUse: "无法删除：其他分群的规则引用了它（member_of）。{detail}",
    saved: "已保存（版本 {v}）。",
    estimate: "预估人数",
    exactCount: "人数",
    profiles: "人",
    range: "95% 置信区间 {low}–{high}，基于 {total} 人中抽样的 {evaluated} 人",
    exactOf: "共 {total} 人",
    previewing: "计算中…",
    countExactly: "精确计算（遍历全部用户）",
    addToPreview: "添加条件即可查看匹配人数。",
    sample: "样例用户",
    noSample: "暂无符合规则的用户。",
    anonymous: "匿名用户 #{id}",
    ruleErrors: "保存前请修正：",
    previewProblems: "规则有 {n} 处问题，请查看标红的条件。",
    version: "版本 {v}",
    ready: "已就绪",
    backfilling: "回溯计算中 {p}",
    members: "成员",
    history: "成员变化趋势",
    settings: "定义",
    memberCount: "{n} 人",
    userId: "用户 ID",
    profileId: "档案",
    since: "加入时间",
    loadMore: "加载更多",
    noMembers: "暂无成员。",
    noMembersHint: "用户数据（事件、属性、标签或时间推移）满足规则时会自动加入。",
    entered: "进入",
    exited: "退出",
    noHistory: "此时间段内没有进入或退出。",
    last7: "最近 7 天（按小时）",
    last30: "最近 30 天（按天）",
    unsaved: "有未保存的修改",
  },
};

interface Preview {
  estimate: boolean;
  count: number;
  low: number;
  high: number;
  evaluated: number;
  matched: number;
  total: number;
  sample: { userId: string | null; profileId: number; since: string }[];
  tookMs: number;
}

/** Server errors name the saved rule; the builder shows a one-condition rule inside a root group. */
function remap(errors: FieldError[], root: Rule, saved: Rule | null): FieldError[] {
  if (!saved || saved === root) return errors;
  const op = "and" in root ? "and" : "or";
  return errors.map((e) => (e.field === "rule" || e.field.startsWith("rule.") || e.field.startsWith("rule[") ? { ...e, field: `rule.${op}[0]` + e.field.slice(4) } : e));
}

export function SegmentPage({ id }: { id: string | null }) {
  const t = useT(L);
  const [savedVersion, setSavedVersion] = useState<number | null>(null);
  const seg = useAsync((signal) => (id ? api.get<Segment>(`/api/v1/segments/${encodeURIComponent(id)}`, { signal }) : Promise.resolve(null)), [id]);
  useInterval(seg.reload, seg.data && seg.data.status !== "ready" ? 2000 : null);
  if (id && seg.loading && !seg.data) return <Loading />;
  if (id && seg.error && !seg.data)
    return (
      <>
        <PageHeader title={id} subtitle={<a {...linkProps("/segments")}>{t("back")}</a>} />
        <ErrorBox error={seg.error} onRetry={seg.reload} />
      </>
    );
  // A new version (saved here, or reloaded after a conflict) starts the editor over from the server's state.
  return <SegmentEditor key={id ? `${id}@${seg.data?.version}` : "new"} segment={seg.data ?? null} reload={seg.reload} savedVersion={savedVersion} onSaved={setSavedVersion} />;
}

function SegmentEditor({
  segment,
  reload,
  savedVersion,
  onSaved,
}: {
  segment: Segment | null;
  reload: () => void;
  savedVersion: number | null;
  onSaved: (v: number | null) => void;
}) {
  const t = useT(L);
  const fmt = useFormat();
  const [name, setName] = useState(segment?.name ?? "");
  const [description, setDescription] = useState(segment?.description ?? "");
  const [newId, setNewId] = useState("");
  const [root, setRoot] = useState<Rule>(() => toRoot(segment?.rule as Rule));
  const [mode, setMode] = useState<"builder" | "json">("builder");
  const [jsonText, setJsonText] = useState("");
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<FieldError[]>([]);
  const [conflict, setConflict] = useState<number | null>(null);
  const [tab, setTab] = useState<"settings" | "members" | "history">("settings");
  const segments = useAsync((signal) => api.get<{ segments: Segment[] }>("/api/v1/segments", { signal }), []);

  const rule = useMemo(() => fromRoot(root), [root]);
  const ruleText = useMemo(() => JSON.stringify(rule), [rule]);
  const dirty =
    segment === null ? name !== "" || rule !== null : name !== segment.name || (description || null) !== (segment.description || null) || ruleText !== JSON.stringify(segment.rule);

  // Leaving the page (reload, close, an in-app link) with unsaved edits asks first.
  useLeaveGuard(dirty);

  // Keep the JSON view in sync with the builder (unless the text is being edited and does not parse).
  const lastSynced = useRef<string>("");
  useEffect(() => {
    if (ruleText !== lastSynced.current) {
      lastSynced.current = ruleText;
      setJsonText(JSON.stringify(rule ?? {}, null, 2));
      setJsonError(null);
    }
  }, [rule, ruleText]);

  const onJson = (text: string) => {
    setJsonText(text);
    try {
      const parsed = JSON.parse(text);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        setJsonError(t("jsonNotObject"));
        return;
      }
      setJsonError(null);
      const next = toRoot(parsed as Rule);
      lastSynced.current = JSON.stringify(fromRoot(next));
      setRoot(next);
    } catch (e) {
      setJsonError(t("jsonInvalid", { msg: (e as Error).message }));
    }
  };

  // Live preview, debounced.
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [previewErrors, setPreviewErrors] = useState<FieldError[]>([]);
  const [previewing, setPreviewing] = useState(false);
  const [exactTick, setExactTick] = useState(0);
  const exactFor = useRef<{ text: string; tick: number } | null>(null);
  useEffect(() => {
    if (!rule) {
      setPreview(null);
      setPreviewErrors([]);
      setPreviewError(null);
      return;
    }
    const controller = new AbortController();
    // "Count exactly" evaluates every profile once for the rule as it stands; any edit goes back to the fast estimate.
    const exact = exactTick > 0 && exactFor.current?.tick === exactTick && exactFor.current.text === ruleText;
    const timer = setTimeout(() => {
      setPreviewing(true);
      api
        .post<Preview>("/api/v1/segments/preview", exact ? { rule, exact: true } : { rule }, { signal: controller.signal })
        .then((p) => {
          setPreview(p);
          setPreviewErrors([]);
          setPreviewError(null);
        })
        .catch((e) => {
          if ((e as Error).name === "AbortError") return;
          const errs = e instanceof ApiError && e.status === 400 ? ruleErrors(e.body) : [];
          setPreviewErrors(errs);
          setPreviewError(errs.length ? null : e);
          setPreview(null);
        })
        .finally(() => !controller.signal.aborted && setPreviewing(false));
    }, exact ? 0 : 400);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [ruleText, exactTick]); // eslint-disable-line react-hooks/exhaustive-deps
  const countExactly = () => {
    exactFor.current = { text: ruleText, tick: exactTick + 1 };
    setExactTick(exactTick + 1);
  };

  // Errors shown in the builder: those of the last save, else those of the live preview.
  const ruleFieldErrors = remap(
    (fieldErrors.length ? fieldErrors : previewErrors).filter((e) => e.field === "rule" || e.field.startsWith("rule.") || e.field.startsWith("rule[")),
    root,
    rule,
  );
  const placed = renderedPaths(root, "rule");
  const unplaced = ruleFieldErrors.filter((e) => !placed.some((p) => errorsAt([e], p.path, p.leaf).length > 0));
  const otherErrors = fieldErrors.filter((e) => !(e.field === "rule" || e.field.startsWith("rule.") || e.field.startsWith("rule[")));
  const fieldError = (f: string) => otherErrors.filter((e) => e.field === f).map((e) => e.message);
  const unknownOther = otherErrors.filter((e) => !["name", "description", "id"].includes(e.field));

  const save = async () => {
    setSaving(true);
    setSaveError(null);
    setFieldErrors([]);
    setConflict(null);
    onSaved(null);
    const body: Record<string, unknown> = { name, rule: rule ?? {} };
    if (description.trim()) body.description = description;
    try {
      if (segment === null) {
        if (newId.trim()) body.id = newId.trim();
        const created = await api.post<Segment>("/api/v1/segments", body);
        navigate(`/segments/${encodeURIComponent(created.id)}`, { replace: true });
      } else {
        const updated = await api.put<Segment>(`/api/v1/segments/${encodeURIComponent(segment.id)}`, body, { headers: { "If-Match": `"${segment.version}"` } });
        onSaved(updated.version);
        reload();
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        const v = (e.body as { version?: number } | undefined)?.version;
        setConflict(v ?? 0);
      } else if (e instanceof ApiError && e.status === 400 && ruleErrors(e.body).length) {
        setFieldErrors(ruleErrors(e.body));
      } else setSaveError(e);
    } finally {
      setSaving(false);
    }
  };

  const remove = async () => {
    if (!segment || !window.confirm(t("confirmDelete", { name: segment.name }))) return;
    setSaveError(null);
    try {
      await api.del(`/api/v1/segments/${encodeURIComponent(segment.id)}`);
      navigate("/segments", { replace: true });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) setSaveError(new ApiError(409, t("inUse", { detail: e.detail ?? "" })));
      else setSaveError(e);
    }
  };

  const ctx = {
    errors: ruleFieldErrors,
    segments: (segments.data?.segments ?? []).map((s) => ({ id: s.id, name: s.name })),
    selfId: segment?.id ?? null,
  };

  const editor = (
    <div className="segment-layout">
      <div className="segment-main">
        <div className="panel">
          <Field label={t("name")}>
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder={t("namePh")} data-testid="segment-name" maxLength={200} />
          </Field>
          {fieldError("name").map((m, i) => (
            <div className="field-error" key={i}>
              {m}
            </div>
          ))}
          <Field label={t("description")}>
            <textarea value={description} onChange={(e) => setDescription(e.target.value)} rows={2} className="short" data-testid="segment-description" />
          </Field>
          {fieldError("description").map((m, i) => (
            <div className="field-error" key={i}>
              {m}
            </div>
          ))}
          {segment === null && (
            <>
              <Field label={t("id")} hint={t("idHint")}>
                <input value={newId} onChange={(e) => setNewId(e.target.value)} className="mono" data-testid="segment-id" />
              </Field>
              {fieldError("id").map((m, i) => (
                <div className="field-error" key={i}>
                  {m}
                </div>
              ))}
            </>
          )}
        </div>
        <div className="panel">
          <div className="row rule-head">
            <h2>{t("rule")}</h2>
            <span className="spacer" />
            <div className="seg-toggle">
              <button className={mode === "builder" ? "active" : ""} onClick={() => setMode("builder")} data-testid="rule-mode-builder">
                {t("builder")}
              </button>
              <button className={mode === "json" ? "active" : ""} onClick={() => setMode("json")} data-testid="rule-mode-json">
                {t("json")}
              </button>
            </div>
          </div>
          {mode === "builder" ? (
            <RuleGroup rule={root} path="rule" onChange={setRoot} ctx={ctx} />
          ) : (
            <>
              <textarea className="mono rule-json" value={jsonText} onChange={(e) => onJson(e.target.value)} spellCheck={false} data-testid="rule-json" />
              {jsonError && <div className="field-error">{jsonError}</div>}
              {ruleFieldErrors.length > 0 && (
                <ul className="rule-errors">
                  {ruleFieldErrors.map((e, i) => (
                    <li key={i}>
                      <code>{e.field}</code> {e.message}
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
          {mode === "builder" && unplaced.length > 0 && (
            <div className="error-box" data-testid="rule-errors">
              <strong>{t("ruleErrors")}</strong>
              <ul>
                {unplaced.map((e, i) => (
                  <li key={i}>
                    <code>{e.field}</code> {e.message}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </div>
        {conflict !== null && (
          <div className="error-box" role="alert" data-testid="segment-conflict">
            {t("conflict", { v: conflict || "?" })}{" "}
            <button className="btn small" onClick={reload}>
              {t("reload")}
            </button>
          </div>
        )}
        {unknownOther.length > 0 && (
          <div className="error-box">
            <ul>
              {unknownOther.map((e, i) => (
                <li key={i}>
                  <code>{e.field}</code> {e.message}
                </li>
              ))}
            </ul>
          </div>
        )}
        <ErrorBox error={saveError} />
        {savedVersion !== null && segment?.version === savedVersion && !dirty && (
          <div className="notice" data-testid="segment-saved">
            {t("saved", { v: savedVersion })}
          </div>
        )}
        <div className="row">
          <button className="btn primary" onClick={save} disabled={saving || !name.trim() || !rule || !!jsonError} data-testid="segment-save">
            {saving ? t("saving") : segment ? t("save") : t("create")}
          </button>
          {dirty && segment && <span className="muted">{t("unsaved")}</span>}
          <span className="spacer" />
          {segment && (
            <button className="btn danger" onClick={remove} data-testid="segment-delete">
              {t("delete")}
            </button>
          )}
        </div>
      </div>
      <aside className="segment-side">
        <div className="panel preview-panel">
          {!rule ? (
            <p className="muted">{t("addToPreview")}</p>
          ) : (
            <>
              <div className="stat-label">{preview?.estimate ? t("estimate") : t("exactCount")}</div>
              <div className={previewing ? "preview-count stale" : "preview-count"} data-testid="segment-count">
                {preview ? (preview.estimate ? "≈ " : "") + fmt.number(preview.count) : previewing ? "…" : "—"}
              </div>
              {preview && (
                <div className="muted small">
                  {preview.estimate
                    ? t("range", { low: fmt.number(preview.low), high: fmt.number(preview.high), evaluated: fmt.number(preview.evaluated), total: fmt.number(preview.total) })
                    : t("exactOf", { total: fmt.number(preview.total) })}
                  {previewing && " · " + t("previewing")}
                </div>
              )}
              {preview?.estimate && !previewing && (
                <button className="btn small exact-btn" onClick={countExactly} data-testid="segment-count-exact">
                  {t("countExactly")}
                </button>
              )}
              {previewErrors.length > 0 && !preview && !previewing && (
                <div className="field-error preview-problems" data-testid="segment-preview-problems">
                  {t("previewProblems", { n: previewErrors.length })}
                </div>
              )}
              <ErrorBox error={previewError} />
              {preview && (
                <div className="sample" data-testid="segment-sample">
                  <h3>{t("sample")}</h3>
                  {preview.sample.length === 0 ? (
                    <p className="muted">{t("noSample")}</p>
                  ) : (
                    <ul>
                      {preview.sample.map((m) => (
                        <li key={m.profileId}>{m.userId ? <a {...linkProps(`/profiles/${encodeURIComponent(m.userId)}`)}>{m.userId}</a> : <span className="muted">{t("anonymous", { id: m.profileId })}</span>}</li>
                      ))}
                    </ul>
                  )}
                </div>
              )}
            </>
          )}
        </div>
      </aside>
    </div>
  );

  if (segment === null)
    return (
      <>
        <PageHeader title={t("newTitle")} subtitle={<a {...linkProps("/segments")}>{t("back")}</a>} />
        {editor}
      </>
    );

  return (
    <>
      <PageHeader
        title={segment.name}
        subtitle={
          <span className="row">
            <a {...linkProps("/segments")}>{t("back")}</a>
            <code className="mono">{segment.id}</code>
            <span className="muted">{t("version", { v: segment.version })}</span>
            <StatusBadge segment={segment} />
            <HeaderCount segment={segment} />
          </span>
        }
      />
      <Tabs
        tabs={[
          { key: "settings", label: t("settings") },
          { key: "members", label: t("members") },
          { key: "history", label: t("history") },
        ]}
        value={tab}
        onChange={setTab}
      />
      {tab === "settings" && editor}
      {tab === "members" && <Members segment={segment} />}
      {tab === "history" && <History segment={segment} />}
    </>
  );
}

function HeaderCount({ segment }: { segment: Segment }) {
  const t = useT(L);
  const fmt = useFormat();
  const count = useAsync(
    (signal) => api.get<{ count: number; exact: boolean }>(`/api/v1/segments/${encodeURIComponent(segment.id)}/count`, { signal }),
    [segment.id, segment.status, segment.backfill?.done],
  );
  useInterval(count.reload, 15_000);
  if (!count.data) return null;
  return (
    <span className="muted" data-testid="segment-header-count">
      · {t("memberCount", { n: (count.data.exact ? "" : "≥ ") + fmt.number(count.data.count) })}
    </span>
  );
}

export function StatusBadge({ segment }: { segment: Segment }) {
  const t = useT(L);
  const fmt = useFormat();
  return segment.status === "ready" ? (
    <Badge tone="ok">{t("ready")}</Badge>
  ) : (
    <Badge tone="warn">{t("backfilling", { p: fmt.percent((segment.backfill?.percent ?? 0) / 100) })}</Badge>
  );
}

function Members({ segment }: { segment: Segment }) {
  const t = useT(L);
  const fmt = useFormat();
  const [pages, setPages] = useState<{ userId: string | null; profileId: number; since: string }[][]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const count = useAsync((signal) => api.get<{ count: number; exact: boolean }>(`/api/v1/segments/${encodeURIComponent(segment.id)}/count`, { signal }), [segment.id]);
  const load = async (after: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api.get<{ members: { userId: string | null; profileId: number; since: string }[]; next: string | null }>(
        `/api/v1/segments/${encodeURIComponent(segment.id)}/members?limit=50${after ? `&after=${encodeURIComponent(after)}` : ""}`,
      );
      setPages((p) => (after ? [...p, page.members] : [page.members]));
      setNext(page.next);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    load(null);
  }, [segment.id]); // eslint-disable-line react-hooks/exhaustive-deps
  const members = pages.flat();
  return (
    <div>
      {count.data && (
        <p className="muted" data-testid="segment-member-count">
          {t("memberCount", { n: (count.data.exact ? "" : "≥ ") + fmt.number(count.data.count) })}
        </p>
      )}
      <ErrorBox error={error} onRetry={() => load(null)} />
      {!loading && !error && members.length === 0 ? (
        <Empty title={t("noMembers")} hint={t("noMembersHint")} />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("userId")}</th>
                <th>{t("profileId")}</th>
                <th>{t("since")}</th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.profileId} className={m.userId ? "clickable" : undefined} onClick={() => m.userId && navigate(`/profiles/${encodeURIComponent(m.userId)}`)} data-testid="segment-member">
                  <td>{m.userId ? <a {...linkProps(`/profiles/${encodeURIComponent(m.userId)}`)}>{m.userId}</a> : <span className="muted">{t("anonymous", { id: m.profileId })}</span>}</td>
                  <td className="mono">{m.profileId}</td>
                  <td>{fmt.dateTime(m.since)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {loading && <Loading />}
      {next && !loading && (
        <button className="btn" onClick={() => load(next)} data-testid="members-more">
          {t("loadMore")}
        </button>
      )}
    </div>
  );
}

function History({ segment }: { segment: Segment }) {
  const t = useT(L);
  const [range, setRange] = useState<"7" | "30">("7");
  const hist = useAsync(
    (signal) => {
      const to = new Date();
      const days = Number(range);
      const step = range === "7" ? 3600_000 : 86_400_000;
      const end = new Date(Math.ceil(to.getTime() / step) * step);
      const from = new Date(end.getTime() - days * 86_400_000);
      return api.get<{ from: string; to: string; interval: string; buckets: { start: string; entered: number; exited: number }[] }>(
        `/api/v1/segments/${encodeURIComponent(segment.id)}/history?from=${from.toISOString()}&to=${end.toISOString()}&interval=${range === "7" ? "PT1H" : "P1D"}`,
        { signal },
      );
    },
    [segment.id, range],
  );
  useInterval(hist.reload, 30_000);
  const option = useMemo<ChartOption | null>(() => {
    const h = hist.data;
    if (!h) return null;
    const step = h.interval === "P1D" ? 86_400_000 : 3600_000;
    const byStart = new Map(h.buckets.map((b) => [new Date(b.start).getTime(), b]));
    const xs: number[] = [];
    for (let x = new Date(h.from).getTime(); x < new Date(h.to).getTime(); x += step) xs.push(x);
    const label = (x: number) => {
      const d = new Date(x);
      return step === 86_400_000 ? `${d.getMonth() + 1}/${d.getDate()}` : `${d.getMonth() + 1}/${d.getDate()} ${String(d.getHours()).padStart(2, "0")}:00`;
    };
    return {
      tooltip: { trigger: "axis" },
      legend: { data: [t("entered"), t("exited")], top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: xs.map(label) },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: t("entered"), type: "bar", stack: "x", data: xs.map((x) => byStart.get(x)?.entered ?? 0), itemStyle: { color: "#2b8a3e" } },
        { name: t("exited"), type: "bar", stack: "x", data: xs.map((x) => -(byStart.get(x)?.exited ?? 0)), itemStyle: { color: "#c92a2a" } },
      ],
    };
  }, [hist.data, t]);
  return (
    <div className="panel">
      <div className="row">
        <h2>{t("history")}</h2>
        <span className="spacer" />
        <select value={range} onChange={(e) => setRange(e.target.value as "7")} data-testid="history-range">
          <option value="7">{t("last7")}</option>
          <option value="30">{t("last30")}</option>
        </select>
      </div>
      <ErrorBox error={hist.error} onRetry={hist.reload} />
      {hist.loading && !hist.data && <Loading />}
      {hist.data && hist.data.buckets.length === 0 && <p className="muted">{t("noHistory")}</p>}
      {option && <Chart option={option} height={300} testId="segment-history" />}
    </div>
  );
}
