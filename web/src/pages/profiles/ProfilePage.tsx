import { useEffect, useState, type ReactNode } from "react";
import { api, ApiError } from "../../api";
import { useFormat, useLang, useT } from "../../i18n";
import { linkProps } from "../../router";
import { Badge, Empty, ErrorBox, Json, Loading, Modal, PageHeader, Tabs, useAsync } from "../../ui";

const L = {
  en: {
    back: "← Profiles",
    notFound: "No profile has user ID “{id}”.",
    notFoundHint: "User IDs are case-sensitive. Search by e-mail or phone on the profiles page.",
    suppressed: "Suppressed",
    suppressedHint: "Chuda sends this person nothing (erasure request or manual suppression).",
    email: "E-mail",
    phone: "Phone",
    locale: "Locale",
    timezone: "Time zone",
    firstSeen: "First seen",
    lastSeen: "Last seen",
    overview: "Overview",
    segments: "Segments",
    journeys: "Journeys",
    subscriptions: "Subscriptions",
    events: "Events",
    messages: "Messages",
    traits: "Traits",
    noTraits: "No traits yet. They are set by identify calls or PATCH /api/v1/profiles/{userId}.",
    identities: "Identities",
    anonymousIds: "Anonymous IDs",
    tags: "Tags",
    noTags: "No tags.",
    addTag: "Add tag",
    tagPh: "e.g. vip",
    removeTag: "Remove tag {tag}",
    key: "Key",
    value: "Value",
    type: "Type",
    segmentName: "Segment",
    since: "Member since",
    noSegments: "Not a member of any segment.",
    journey: "Journey",
    status: "Status",
    step: "Current step",
    why: "Where and why",
    entered: "Entered",
    noJourneys: "Has not entered any journey.",
    waitsUntil: "waits until {t}",
    waitsFor: "waits for “{e}”",
    timeoutAt: "or times out {t}",
    ended: "ended {t}: {r}",
    path: "Path",
    variants: "Variants",
    version: "v{v}",
    category: "Category",
    channel: "Channel",
    state: "State",
    source: "Source",
    at: "At",
    noSubscriptions: "No explicit subscription choices: the workspace defaults apply.",
    consentLog: "Consent log",
    unsubscribe: "Unsubscribe",
    resubscribe: "Resubscribe",
    event: "Event",
    time: "Time",
    received: "Received",
    details: "Details",
    noEvents: "No events recorded.",
    loadMore: "Load more",
    deliveries: "Delivery decisions",
    deliveriesHint: "Every decision the delivery pipeline took about this person, with its reason, newest first.",
    noDeliveries: "No delivery decisions yet.",
    kind: "What",
    detail: "Reason / detail",
    message: "Message",
    messageList: "Messages",
    noMessages: "No messages to this person yet.",
    template: "Template",
    created: "Created",
    reason: "Reason",
    timeline: "Timeline",
    content: "Content",
    messageTitle: "Message {id}",
    recipient: "Recipient",
    provider: "Provider",
    from: "From",
    attempts: "Attempts",
    all: "all",
    show: "Show",
  },
  zh: {
    back: "← 用户",
    notFound: "不存在用户 ID 为“{id}”的用户。",
    notFoundHint: "用户 ID 区分大小写。可在用户列表页按邮箱或手机号搜索。",
    suppressed: "已屏蔽",
    suppressedHint: "不会向此用户发送任何消息（删除请求或手动屏蔽）。",
    email: "邮箱",
    phone: "手机号",
    locale: "语言",
    timezone: "时区",
    firstSeen: "首次出现",
    lastSeen: "最近活跃",
    overview: "概况",
    segments: "分群",
    journeys: "旅程",
    subscriptions: "订阅",
    events: "事件",
    messages: "消息",
    traits: "用户属性",
    noTraits: "暂无属性。属性由 identify 调用或 PATCH /api/v1/profiles/{userId} 设置。",
    identities: "身份标识",
    anonymousIds: "匿名 ID",
    tags: "标签",
    noTags: "暂无标签。",
    addTag: "添加标签",
    tagPh: "例如 vip",
    removeTag: "移除标签 {tag}",
    key: "属性名",
    value: "值",
    type: "类型",
    segmentName: "分群",
    since: "加入时间",
    noSegments: "不属于任何分群。",
    journey: "旅程",
    status: "状态",
    step: "当前节点",
    why: "所处位置及原因",
    entered: "进入时间",
    noJourneys: "尚未进入任何旅程。",
    waitsUntil: "等待至 {t}",
    waitsFor: "等待事件“{e}”",
    timeoutAt: "超时时间 {t}",
    ended: "{t} 结束：{r}",
    path: "路径",
    variants: "分流组",
    version: "v{v}",
    category: "类别",
    channel: "渠道",
    state: "状态",
    source: "来源",
    at: "时间",
    noSubscriptions: "没有明确的订阅选择，按工作区默认设置处理。",
    consentLog: "授权记录",
    unsubscribe: "退订",
    resubscribe: "重新订阅",
    event: "事件",
    time: "时间",
    received: "接收时间",
    details: "详情",
    noEvents: "暂无事件记录。",
    loadMore: "加载更多",
    deliveries: "触达决策",
    deliveriesHint: "触达流程对此用户做出的每个决策及原因，按时间倒序。",
    noDeliveries: "暂无触达决策。",
    kind: "动作",
    detail: "原因 / 详情",
    message: "消息",
    messageList: "消息列表",
    noMessages: "尚未向此用户发送消息。",
    template: "模板",
    created: "创建时间",
    reason: "原因",
    timeline: "时间线",
    content: "内容",
    messageTitle: "消息 {id}",
    recipient: "接收地址",
    provider: "服务商",
    from: "来源",
    attempts: "尝试次数",
    all: "全部",
    show: "查看",
  },
};

type T = ReturnType<typeof useT<typeof L.en>>;

interface Profile {
  userId: string | null;
  anonymousIds: string[];
  identities: { type: string; value: string }[];
  traits: Record<string, unknown>;
  tags: string[];
  timezone: string | null;
  locale: string | null;
  suppressed: boolean;
  firstSeen: string;
  lastSeen: string;
}

type TabKey = "overview" | "segments" | "journeys" | "subscriptions" | "events" | "messages";

const enc = encodeURIComponent;

export function ProfilePage({ userId }: { userId: string }) {
  const t = useT(L);
  const fmt = useFormat();
  const [tab, setTab] = useState<TabKey>("overview");
  const profile = useAsync((signal) => api.get<Profile>(`/api/v1/profiles/${enc(userId)}`, { signal }), [userId]);
  const [current, setCurrent] = useState<Profile | null>(null);
  useEffect(() => setCurrent(profile.data ?? null), [profile.data]);

  if (profile.loading && !profile.data) return <Loading />;
  if (profile.error && !profile.data) {
    const notFound = profile.error instanceof ApiError && profile.error.status === 404;
    return (
      <>
        <PageHeader title={userId} subtitle={<a {...linkProps("/profiles")}>{t("back")}</a>} />
        {notFound ? <Empty title={t("notFound", { id: userId })} hint={t("notFoundHint")} /> : <ErrorBox error={profile.error} onRetry={profile.reload} />}
      </>
    );
  }
  const p = current ?? profile.data!;
  const identity = (type: string) => p.identities.find((i) => i.type === type)?.value;
  // Segment's reserved traits are name / firstName / lastName; many senders write first_name / last_name (the server's search reads both too).
  const traitName =
    typeof p.traits?.name === "string"
      ? (p.traits.name as string)
      : [p.traits?.firstName ?? p.traits?.first_name, p.traits?.lastName ?? p.traits?.last_name].filter((x) => typeof x === "string").join(" ");
  const email = identity("email") ?? (typeof p.traits?.email === "string" ? (p.traits.email as string) : undefined);
  const phone = identity("phone") ?? (typeof p.traits?.phone === "string" ? (p.traits.phone as string) : undefined);
  return (
    <>
      <div className="back-link">
        <a {...linkProps("/profiles")}>{t("back")}</a>
      </div>
      <div className="panel profile-header" data-testid="profile-header">
        <div className="avatar">{(traitName || p.userId || "?").slice(0, 1).toUpperCase()}</div>
        <div className="profile-head-main">
          <div className="row">
            <h1>{traitName || p.userId}</h1>
            {p.suppressed && (
              <span title={t("suppressedHint")} data-testid="profile-suppressed">
                <Badge tone="bad">{t("suppressed")}</Badge>
              </span>
            )}
          </div>
          <div className="mono muted" data-testid="profile-user-id">
            {p.userId}
          </div>
          <dl className="facts">
            <Fact label={t("email")} value={email} />
            <Fact label={t("phone")} value={phone} mono />
            <Fact label={t("locale")} value={p.locale} />
            <Fact label={t("timezone")} value={p.timezone} />
            <Fact label={t("firstSeen")} value={fmt.dateTime(p.firstSeen)} />
            <Fact label={t("lastSeen")} value={fmt.dateTime(p.lastSeen)} />
          </dl>
        </div>
      </div>
      <Tabs
        tabs={[
          { key: "overview", label: t("overview") },
          { key: "segments", label: t("segments") },
          { key: "journeys", label: t("journeys") },
          { key: "messages", label: t("messages") },
          { key: "events", label: t("events") },
          { key: "subscriptions", label: t("subscriptions") },
        ]}
        value={tab}
        onChange={setTab}
      />
      {tab === "overview" && <Overview p={p} userId={userId} onChange={setCurrent} t={t} />}
      {tab === "segments" && <SegmentsTab userId={userId} t={t} />}
      {tab === "journeys" && <JourneysTab userId={userId} t={t} />}
      {tab === "messages" && <MessagesTab userId={userId} t={t} />}
      {tab === "events" && <EventsTab userId={userId} t={t} />}
      {tab === "subscriptions" && <SubscriptionsTab userId={userId} t={t} />}
    </>
  );
}

function Fact({ label, value, mono }: { label: string; value: string | null | undefined; mono?: boolean }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd className={mono ? "mono" : undefined}>{value || <span className="muted">—</span>}</dd>
    </div>
  );
}

/** A trait value shown readably: scalars inline, objects and arrays as nested key/value lists. */
function TraitValue({ value }: { value: unknown }): ReactNode {
  if (value === null) return <span className="muted">null</span>;
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) return <span>{value.map((v, i) => <span key={i} className="chip">{String(v)}</span>)}</span>;
    return (
      <ol className="nested">
        {value.map((v, i) => (
          <li key={i}>
            <TraitValue value={v} />
          </li>
        ))}
      </ol>
    );
  }
  if (typeof value === "object")
    return (
      <dl className="nested">
        {Object.entries(value as Record<string, unknown>).map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>
              <TraitValue value={v} />
            </dd>
          </div>
        ))}
      </dl>
    );
  if (typeof value === "boolean") return <code>{String(value)}</code>;
  if (typeof value === "number") return <span className="mono">{value}</span>;
  return <span>{String(value)}</span>;
}

function Overview({ p, userId, onChange, t }: { p: Profile; userId: string; onChange: (p: Profile) => void; t: T }) {
  const [tag, setTag] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const traits = Object.entries(p.traits ?? {});
  const addTag = async () => {
    const v = tag.trim();
    if (!v) return;
    setBusy(true);
    setError(null);
    try {
      onChange(await api.post<Profile>(`/api/v1/profiles/${enc(userId)}/tags`, { tags: [v] }));
      setTag("");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const removeTag = async (x: string) => {
    setError(null);
    try {
      const r = await api.del<Profile | undefined>(`/api/v1/profiles/${enc(userId)}/tags?tags=${enc(x)}`);
      if (r && typeof r === "object" && "tags" in r) onChange(r);
      else onChange({ ...p, tags: p.tags.filter((y) => y !== x) });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="grid profile-overview">
      <div className="panel">
        <h2>{t("traits")}</h2>
        {traits.length === 0 ? (
          <p className="muted">{t("noTraits")}</p>
        ) : (
          <table className="kv" data-testid="profile-traits">
            <tbody>
              {traits.map(([k, v]) => (
                <tr key={k}>
                  <th>{k}</th>
                  <td>
                    <TraitValue value={v} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div>
        <div className="panel">
          <h2>{t("tags")}</h2>
          <div className="row tag-list" data-testid="profile-tags">
            {p.tags.length === 0 && <span className="muted">{t("noTags")}</span>}
            {p.tags.map((x) => (
              <span className="tag" key={x} data-testid="profile-tag">
                {x}
                <button onClick={() => removeTag(x)} aria-label={t("removeTag", { tag: x })} title={t("removeTag", { tag: x })} data-testid="tag-remove">
                  ×
                </button>
              </span>
            ))}
          </div>
          <form
            className="row tag-add"
            onSubmit={(e) => {
              e.preventDefault();
              addTag();
            }}
          >
            <input value={tag} onChange={(e) => setTag(e.target.value)} placeholder={t("tagPh")} data-testid="tag-input" />
            <button className="btn small" disabled={busy || !tag.trim()} data-testid="tag-add">
              {t("addTag")}
            </button>
          </form>
          <ErrorBox error={error} />
        </div>
        <div className="panel">
          <h2>{t("identities")}</h2>
          <table className="kv" data-testid="profile-identities">
            <tbody>
              {p.identities.map((i) => (
                <tr key={i.type + i.value}>
                  <th>{i.type}</th>
                  <td className="mono">{i.value}</td>
                </tr>
              ))}
              {p.anonymousIds.length > 0 && (
                <tr>
                  <th>{t("anonymousIds")}</th>
                  <td className="mono">{p.anonymousIds.join(", ")}</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </div>
    </div>
  );
}

function SegmentsTab({ userId, t }: { userId: string; t: T }) {
  const fmt = useFormat();
  const r = useAsync((signal) => api.get<{ segments: { id: string; name: string; since: string }[] }>(`/api/v1/profiles/${enc(userId)}/segments`, { signal }), [userId]);
  if (r.loading && !r.data) return <Loading />;
  if (r.error) return <ErrorBox error={r.error} onRetry={r.reload} />;
  if (!r.data || r.data.segments.length === 0) return <Empty title={t("noSegments")} />;
  return (
    <div className="table-wrap">
      <table data-testid="profile-segments">
        <thead>
          <tr>
            <th>{t("segmentName")}</th>
            <th>{t("since")}</th>
          </tr>
        </thead>
        <tbody>
          {r.data.segments.map((s) => (
            <tr key={s.id}>
              <td>
                <a {...linkProps(`/segments/${enc(s.id)}`)}>{s.name}</a> <span className="mono muted">{s.id}</span>
              </td>
              <td>{fmt.dateTime(s.since)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

interface ProfileJourney {
  journey: string | null;
  instanceId: number;
  version: number;
  status: string;
  step: string;
  stepType: string | null;
  stepEnteredAt: string;
  dueAt: string | null;
  waitingFor: string | null;
  enteredAt: string;
  endedAt: string | null;
  endReason: string | null;
  trigger: string | null;
  path: { step: string; at: string; note: string | null }[];
  variants: Record<string, string>;
}

const statusZh: Record<string, string> = {
  scheduled: "待进入",
  active: "进行中",
  completed: "已完成",
  exited: "已退出",
  converted: "已转化",
  queued: "排队中",
  deferred: "已延后",
  collecting: "汇总中",
  sending: "发送中",
  retrying: "重试中",
  fallback: "降级发送",
  sent: "已发送",
  delivered: "已送达",
  failed: "失败",
  bounced: "退信",
  dropped: "未发送",
  merged: "已合并",
  expired: "已过期",
  subscribed: "已订阅",
  unsubscribed: "已退订",
};

/** A status from the API, in the chosen language (English keeps the API's word). */
function Status({ value }: { value: string }) {
  const lang = useLang();
  return <Badge tone={statusTone(value)}>{lang === "zh" ? (statusZh[value] ?? value) : value}</Badge>;
}

function statusTone(s: string): "ok" | "warn" | "bad" | "info" | "muted" {
  switch (s) {
    case "active":
    case "scheduled":
    case "queued":
    case "sending":
    case "deferred":
    case "collecting":
    case "retrying":
    case "fallback":
      return "info";
    case "converted":
    case "delivered":
    case "sent":
    case "subscribed":
      return "ok";
    case "failed":
    case "bounced":
    case "dropped":
    case "unsubscribed":
      return "bad";
    case "expired":
    case "exited":
      return "warn";
    default:
      return "muted";
  }
}

function JourneysTab({ userId, t }: { userId: string; t: T }) {
  const fmt = useFormat();
  const r = useAsync((signal) => api.get<{ journeys: ProfileJourney[] }>(`/api/v1/profiles/${enc(userId)}/journeys?limit=100`, { signal }), [userId]);
  const names = useAsync((signal) => api.get<{ journeys: { id: string; name: string }[] }>("/api/v1/journeys", { signal }), []);
  const nameOf = (id: string) => names.data?.journeys.find((j) => j.id === id)?.name || id;
  if (r.loading && !r.data) return <Loading />;
  if (r.error) return <ErrorBox error={r.error} onRetry={r.reload} />;
  if (!r.data || r.data.journeys.length === 0) return <Empty title={t("noJourneys")} />;
  return (
    <div className="journey-cards" data-testid="profile-journeys">
      {r.data.journeys.map((j) => {
        const ended = j.endedAt !== null;
        return (
          <div className="panel journey-card" key={j.instanceId} data-testid="profile-journey">
            <div className="row">
              {j.journey ? (
                <a {...linkProps(`/journeys/${enc(j.journey)}`)} title={j.journey}>
                  <strong>{nameOf(j.journey)}</strong>
                </a>
              ) : (
                <strong>—</strong>
              )}
              <span className="muted">{t("version", { v: j.version })}</span>
              <Status value={j.status} />
              <span className="spacer" />
              <span className="muted small">
                {t("entered")} {fmt.dateTime(j.enteredAt)}
              </span>
            </div>
            <div className="journey-where">
              {ended ? (
                <span>{t("ended", { t: fmt.dateTime(j.endedAt), r: j.endReason ?? j.status })}</span>
              ) : (
                <>
                  <span>
                    {t("step")}: <code>{j.step}</code>
                    {j.stepType && <span className="muted"> ({j.stepType})</span>} · {fmt.dateTime(j.stepEnteredAt)}
                  </span>
                  {j.waitingFor && <span> · {t("waitsFor", { e: j.waitingFor })}</span>}
                  {j.dueAt && <span> · {j.waitingFor ? t("timeoutAt", { t: fmt.dateTime(j.dueAt) }) : t("waitsUntil", { t: fmt.dateTime(j.dueAt) })}</span>}
                </>
              )}
            </div>
            {j.path.length > 0 && (
              <div className="journey-path">
                <span className="muted">{t("path")}:</span>
                {j.path.map((s, i) => (
                  <span key={i} className="path-step" title={fmt.dateTime(s.at) + (s.note ? ` — ${s.note}` : "")}>
                    {i > 0 && <span className="arrow">→</span>}
                    <code>{s.step}</code>
                    {s.note && <span className="muted small"> ({s.note})</span>}
                  </span>
                ))}
              </div>
            )}
            {Object.keys(j.variants ?? {}).length > 0 && (
              <div className="muted small">
                {t("variants")}:{" "}
                {Object.entries(j.variants)
                  .map(([k, v]) => `${k} = ${v}`)
                  .join(", ")}
              </div>
            )}
          </div>
        );
      })}
    </div>
  );
}

interface Subscription {
  category: string;
  channel: string;
  state: string;
  source: string;
  at: string;
}

function SubscriptionsTab({ userId, t }: { userId: string; t: T }) {
  const fmt = useFormat();
  const r = useAsync(
    (signal) => api.get<{ subscriptions: Subscription[]; consentLog: Subscription[] }>(`/api/v1/profiles/${enc(userId)}/subscriptions`, { signal }),
    [userId],
  );
  const [data, setData] = useState<{ subscriptions: Subscription[]; consentLog: Subscription[] } | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => setData(r.data ?? null), [r.data]);
  if (r.loading && !r.data) return <Loading />;
  if (r.error) return <ErrorBox error={r.error} onRetry={r.reload} />;
  const d = data ?? r.data!;
  const flip = async (s: Subscription) => {
    setError(null);
    try {
      setData(
        await api.put<{ subscriptions: Subscription[]; consentLog: Subscription[] }>(`/api/v1/profiles/${enc(userId)}/subscriptions`, {
          subscriptions: [{ category: s.category, channel: s.channel, state: s.state === "subscribed" ? "unsubscribed" : "subscribed" }],
          source: "console",
        }),
      );
    } catch (e) {
      setError(e);
    }
  };
  const table = (rows: Subscription[], testId: string, actions: boolean) => (
    <div className="table-wrap">
      <table data-testid={testId}>
        <thead>
          <tr>
            <th>{t("category")}</th>
            <th>{t("channel")}</th>
            <th>{t("state")}</th>
            <th>{t("source")}</th>
            <th>{t("at")}</th>
            {actions && <th />}
          </tr>
        </thead>
        <tbody>
          {rows.map((s, i) => (
            <tr key={i}>
              <td>{s.category}</td>
              <td>{s.channel === "*" ? <span className="muted">{t("all")}</span> : s.channel}</td>
              <td>
                <Status value={s.state} />
              </td>
              <td className="mono">{s.source}</td>
              <td>{fmt.dateTime(s.at)}</td>
              {actions && (
                <td>
                  <button className="btn small" onClick={() => flip(s)} data-testid="subscription-toggle">
                    {s.state === "subscribed" ? t("unsubscribe") : t("resubscribe")}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
  return (
    <>
      <ErrorBox error={error} />
      {d.subscriptions.length === 0 ? <Empty title={t("noSubscriptions")} /> : table(d.subscriptions, "profile-subscriptions", true)}
      {d.consentLog.length > 0 && (
        <>
          <h3>{t("consentLog")}</h3>
          {table(d.consentLog, "profile-consent-log", false)}
        </>
      )}
    </>
  );
}

interface EventRow {
  messageId: string;
  type: string;
  name: string | null;
  timestamp: string;
  receivedAt: string;
  payload: { properties?: unknown; traits?: unknown; [k: string]: unknown };
}

function EventsTab({ userId, t }: { userId: string; t: T }) {
  const fmt = useFormat();
  const [events, setEvents] = useState<EventRow[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<string | null>(null);
  const load = async (before: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api.get<{ events: EventRow[]; next: string | null }>(`/api/v1/profiles/${enc(userId)}/events?limit=50${before ? `&before=${enc(before)}` : ""}`);
      setEvents((e) => (before ? [...e, ...page.events] : page.events));
      setNext(page.next);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    load(null);
  }, [userId]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <>
      <ErrorBox error={error} onRetry={() => load(null)} />
      {!loading && !error && events.length === 0 && <Empty title={t("noEvents")} />}
      {events.length > 0 && (
        <div className="table-wrap">
          <table data-testid="profile-events">
            <thead>
              <tr>
                <th>{t("event")}</th>
                <th>{t("time")}</th>
                <th>{t("details")}</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => {
                const props = e.payload?.properties ?? e.payload?.traits;
                const summary = props && typeof props === "object" ? JSON.stringify(props) : "";
                return (
                  <tr key={e.messageId} data-testid="profile-event">
                    <td>
                      <strong>{e.name ?? e.type}</strong> {e.name && e.name !== e.type && <Badge>{e.type}</Badge>}
                    </td>
                    <td title={`${t("received")} ${fmt.dateTime(e.receivedAt)}`}>{fmt.dateTime(e.timestamp)}</td>
                    <td className="event-detail">
                      {open === e.messageId ? (
                        <>
                          <Json value={e.payload} />
                          <button className="btn ghost small" onClick={() => setOpen(null)}>
                            ▲
                          </button>
                        </>
                      ) : (
                        <button className="linklike mono" onClick={() => setOpen(e.messageId)} title={t("show")}>
                          {summary.length > 120 ? summary.slice(0, 120) + "…" : summary || "{…}"}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {loading && <Loading />}
      {next && !loading && (
        <button className="btn" onClick={() => load(next)} data-testid="events-more">
          {t("loadMore")}
        </button>
      )}
    </>
  );
}

interface MessageEvent {
  at: string;
  kind: string;
  channel: string | null;
  detail: string;
  messageId?: string | null;
}

interface Message {
  id: string;
  userId: string | null;
  address: string | null;
  source: string;
  journey: string | null;
  step: string | null;
  template: string | null;
  category: string;
  lane: string;
  channels: string[];
  channel: string | null;
  recipient: string | null;
  provider: string | null;
  status: string;
  reason: string | null;
  attempts: number;
  createdAt: string;
  content: unknown;
  timeline: MessageEvent[] | null;
}

function MessagesTab({ userId, t }: { userId: string; t: T }) {
  const fmt = useFormat();
  const [openId, setOpenId] = useState<string | null>(null);
  const [messages, setMessages] = useState<Message[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const deliveries = useAsync((signal) => api.get<{ events: MessageEvent[] }>(`/api/v1/profiles/${enc(userId)}/deliveries`, { signal }), [userId]);
  const load = async (before: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api.get<{ messages: Message[]; next: string | null }>(`/api/v1/messages?userId=${enc(userId)}&limit=50${before ? `&before=${enc(before)}` : ""}`);
      setMessages((m) => (before ? [...m, ...page.messages] : page.messages));
      setNext(page.next);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    load(null);
  }, [userId]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <div className="grid cols-2 messages-tab">
      <div>
        <h3>{t("messageList")}</h3>
        <ErrorBox error={error} onRetry={() => load(null)} />
        {!loading && !error && messages.length === 0 && <Empty title={t("noMessages")} />}
        {messages.length > 0 && (
          <div className="table-wrap">
            <table data-testid="profile-messages">
              <thead>
                <tr>
                  <th>{t("message")}</th>
                  <th>{t("channel")}</th>
                  <th>{t("status")}</th>
                  <th>{t("created")}</th>
                </tr>
              </thead>
              <tbody>
                {messages.map((m) => (
                  <tr key={m.id} className="clickable" onClick={() => setOpenId(m.id)} data-testid="profile-message">
                    <td>
                      <div>{m.template ?? <span className="muted">{m.source}</span>}</div>
                      <div className="mono muted small">
                        {m.id}
                        {m.journey && ` · ${m.journey}${m.step ? "/" + m.step : ""}`}
                      </div>
                    </td>
                    <td>{m.channel ?? m.channels.join(" → ")}</td>
                    <td>
                      <Status value={m.status} />
                      {m.reason && <div className="muted small">{m.reason}</div>}
                    </td>
                    <td>{fmt.dateTime(m.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {loading && <Loading />}
        {next && !loading && (
          <button className="btn" onClick={() => load(next)}>
            {t("loadMore")}
          </button>
        )}
      </div>
      <div>
        <h3>{t("deliveries")}</h3>
        <p className="muted small">{t("deliveriesHint")}</p>
        <ErrorBox error={deliveries.error} onRetry={deliveries.reload} />
        {deliveries.loading && !deliveries.data && <Loading />}
        {deliveries.data && deliveries.data.events.length === 0 && <Empty title={t("noDeliveries")} />}
        {deliveries.data && deliveries.data.events.length > 0 && <Timeline events={deliveries.data.events} onOpen={setOpenId} testId="profile-deliveries" />}
      </div>
      {openId && <MessageModal id={openId} onClose={() => setOpenId(null)} t={t} />}
    </div>
  );
}

function Timeline({ events, onOpen, testId }: { events: MessageEvent[]; onOpen?: (id: string) => void; testId?: string }) {
  const fmt = useFormat();
  return (
    <ol className="timeline" data-testid={testId}>
      {events.map((e, i) => (
        <li key={i} className={`tl-${statusTone(e.kind)}`} data-testid="timeline-entry">
          <div className="tl-head">
            <strong>{e.kind}</strong>
            {e.channel && <Badge>{e.channel}</Badge>}
            {e.messageId && onOpen && (
              <button className="linklike mono small" onClick={() => onOpen(e.messageId!)}>
                {e.messageId}
              </button>
            )}
            <span className="spacer" />
            <span className="muted small">{fmt.dateTime(e.at)}</span>
          </div>
          {e.detail && <div className="tl-detail">{e.detail}</div>}
        </li>
      ))}
    </ol>
  );
}

function MessageModal({ id, onClose, t }: { id: string; onClose: () => void; t: T }) {
  const fmt = useFormat();
  const r = useAsync((signal) => api.get<Message>(`/api/v1/messages/${enc(id)}`, { signal }), [id]);
  const m = r.data;
  return (
    <Modal title={t("messageTitle", { id })} onClose={onClose}>
      <div data-testid="message-detail">
        {r.loading && !m && <Loading />}
        <ErrorBox error={r.error} onRetry={r.reload} />
        {m && (
          <>
            <dl className="facts">
              <Fact label={t("status")} value={m.status + (m.reason ? ` — ${m.reason}` : "")} />
              <Fact label={t("channel")} value={m.channel ?? m.channels.join(" → ")} />
              <Fact label={t("recipient")} value={m.recipient ?? m.address} />
              <Fact label={t("provider")} value={m.provider} />
              <Fact label={t("template")} value={m.template} />
              <Fact label={t("category")} value={m.lane && m.lane !== m.category ? `${m.category} · ${m.lane}` : m.category} />
              <Fact label={t("from")} value={m.journey ? `${m.journey}${m.step ? " / " + m.step : ""}` : m.source} />
              <Fact label={t("attempts")} value={String(m.attempts)} />
              <Fact label={t("created")} value={fmt.dateTime(m.createdAt)} />
            </dl>
            <h3>{t("timeline")}</h3>
            {m.timeline && m.timeline.length > 0 ? <Timeline events={m.timeline} testId="message-timeline" /> : <p className="muted">—</p>}
            {m.content != null && (
              <>
                <h3>{t("content")}</h3>
                <Json value={m.content} />
              </>
            )}
          </>
        )}
      </div>
    </Modal>
  );
}
