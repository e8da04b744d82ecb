import { useMemo, useState } from "react";
import { api, qs } from "../../api";
import { Chart, type ChartOption } from "../../Chart";
import { useFormat, useLang, useT } from "../../i18n";
import { linkProps } from "../../router";
import { Badge, ErrorBox, Loading, PageHeader, useAsync, useInterval } from "../../ui";

const L = {
  en: {
    title: "Dashboard",
    subtitle: "What came in, what went out and what converted.",
    r24h: "Last 24 hours",
    r7d: "Last 7 days",
    r30d: "Last 30 days",
    profiles: "Profiles",
    events: "Events ingested",
    messages: "Messages",
    conversions: "Conversions",
    eventsChart: "Events over time",
    messagesByChannel: "Messages by channel",
    messagesByStatus: "Messages by status",
    conversionsChart: "Journey conversions over time",
    noMessages: "No messages in this period.",
    updated: "Updated {t} · refreshes every 15 s",
    refresh: "Refresh",
    emptyTitle: "Welcome to Chuda — send your first event",
    emptyIntro: "This workspace has no data yet. Send events from your backend or app with the workspace's write key (the user name of Basic auth, no password):",
    emptyAfter: "The profile appears under Profiles right away; then build a segment and a journey for it.",
    emptyDemo: "Just exploring? Restart the server with {cmd} to get a synthetic shop with thousands of profiles and live journeys.",
    copy: "Copy",
    copied: "Copied",
    journeysRunning: "Journeys running",
    noJourneys: "No journey is published yet.",
    newJourney: "Build a journey",
    allJourneys: "All journeys →",
    version: "v{v}",
    total: "Total",
  },
  zh: {
    title: "概览",
    subtitle: "数据接入、消息触达与转化情况一览。",
    r24h: "最近 24 小时",
    r7d: "最近 7 天",
    r30d: "最近 30 天",
    profiles: "用户数",
    events: "接入事件数",
    messages: "消息数",
    conversions: "转化数",
    eventsChart: "事件趋势",
    messagesByChannel: "各渠道消息量",
    messagesByStatus: "消息状态分布",
    conversionsChart: "旅程转化趋势",
    noMessages: "此期间内没有消息。",
    updated: "更新于 {t} · 每 15 秒自动刷新",
    refresh: "刷新",
    emptyTitle: "欢迎使用 Chuda —— 发送第一条事件",
    emptyIntro: "此工作区还没有数据。请在服务端或 App 中使用工作区的 Write Key（作为 Basic 认证的用户名，密码留空）上报事件：",
    emptyAfter: "用户会立即出现在“用户”页面；随后即可为其创建分群和旅程。",
    emptyDemo: "只是想体验一下？使用 {cmd} 重启服务，即可获得一个包含数千用户和运行中旅程的模拟商城。",
    copy: "复制",
    copied: "已复制",
    journeysRunning: "运行中的旅程",
    noJourneys: "还没有已发布的旅程。",
    newJourney: "创建旅程",
    allJourneys: "全部旅程 →",
    version: "v{v}",
    total: "合计",
  },
};

type RangeKey = "24h" | "7d" | "30d";
const ranges: Record<RangeKey, { ms: number; interval: string; step: number }> = {
  "24h": { ms: 24 * 3600_000, interval: "PT1H", step: 3600_000 },
  "7d": { ms: 7 * 24 * 3600_000, interval: "PT1H", step: 3600_000 },
  "30d": { ms: 30 * 24 * 3600_000, interval: "P1D", step: 24 * 3600_000 },
};

interface DashboardData {
  from: string;
  to: string;
  interval: string;
  totals: { profiles: number; events: number; messages: number; conversions: number };
  events: { start: string; count: number }[];
  messages: { start: string; channel: string; status: string; count: number }[];
  conversions: { start: string; count: number }[];
}

interface JourneySummary {
  id: string;
  name: string;
  status: string;
  trigger: string;
  liveVersion: number | null;
  updatedAt: string;
}

const palette = ["#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9", "#1098ad", "#f08c00", "#c92a2a", "#5c940d", "#868e96"];
const statusColors: Record<string, string> = {
  delivered: "#2b8a3e",
  sent: "#69db7c",
  queued: "#74c0fc",
  sending: "#4dabf7",
  deferred: "#ffd43b",
  collecting: "#ffe066",
  retrying: "#ffa94d",
  fallback: "#fd7e14",
  failed: "#c92a2a",
  bounced: "#e03131",
  dropped: "#868e96",
  merged: "#adb5bd",
  expired: "#ced4da",
};

export function Dashboard() {
  const t = useT(L);
  const fmt = useFormat();
  const lang = useLang();
  const [range, setRange] = useState<RangeKey>(() => {
    const saved = localStorage.getItem("chuda.dashboard.range");
    return saved && saved in ranges ? (saved as RangeKey) : "24h";
  });
  const pick = (r: RangeKey) => {
    setRange(r);
    localStorage.setItem("chuda.dashboard.range", r);
  };
  const data = useAsync(
    (signal) => {
      const { ms, interval, step } = ranges[range];
      const to = new Date(Math.ceil(Date.now() / step) * step);
      const from = new Date(to.getTime() - ms);
      return api.get<DashboardData>(`/api/v1/dashboard${qs({ from: from.toISOString(), to: to.toISOString(), interval })}`, { signal });
    },
    [range],
  );
  const journeys = useAsync((signal) => api.get<{ journeys: JourneySummary[] }>("/api/v1/journeys", { signal }), []);
  const [updatedAt, setUpdatedAt] = useState(() => new Date());
  useInterval(() => {
    data.reload();
    journeys.reload();
    setUpdatedAt(new Date());
  }, 15_000);

  const d = data.data;
  const charts = useMemo(() => (d ? buildCharts(d, ranges[range].step, t) : null), [d, range, lang]); // eslint-disable-line react-hooks/exhaustive-deps
  const isEmpty = d && d.totals.events === 0 && d.totals.profiles === 0 && d.totals.messages === 0;
  const running = (journeys.data?.journeys ?? []).filter((j) => j.status === "published");

  return (
    <>
      <PageHeader
        title={t("title")}
        subtitle={t("subtitle")}
        actions={
          <div className="seg-toggle" role="group" data-testid="dashboard-range">
            {(Object.keys(ranges) as RangeKey[]).map((r) => (
              <button key={r} className={r === range ? "active" : ""} onClick={() => pick(r)} data-testid={`range-${r}`}>
                {t(`r${r}` as "r24h")}
              </button>
            ))}
          </div>
        }
      />
      <ErrorBox error={data.error} onRetry={data.reload} />
      {data.loading && !d && !data.error && <Loading />}
      {isEmpty && <FirstSteps />}
      {d && (
        <>
          <div className="grid cols-4 stats" data-testid="dashboard-stats">
            <Stat label={t("profiles")} value={fmt.number(d.totals.profiles)} testId="stat-profiles" />
            <Stat label={t("events")} value={fmt.number(d.totals.events)} testId="stat-events" />
            <Stat label={t("messages")} value={fmt.number(d.totals.messages)} testId="stat-messages" />
            <Stat label={t("conversions")} value={fmt.number(d.totals.conversions)} testId="stat-conversions" />
          </div>
          <div className="muted small dash-updated">
            {t("updated", { t: updatedAt.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB") })}{" "}
            <button className="linklike" onClick={() => { data.reload(); setUpdatedAt(new Date()); }}>
              {t("refresh")}
            </button>
          </div>
        </>
      )}
      <div className="grid cols-2">
        {charts && !isEmpty && (
          <>
            <div className="panel">
              <h2>{t("eventsChart")}</h2>
              <Chart option={charts.events} testId="chart-events" />
            </div>
            <div className="panel">
              <h2>{t("messagesByChannel")}</h2>
              {d!.messages.length === 0 && <p className="muted chart-note">{t("noMessages")}</p>}
              <Chart option={charts.byChannel} testId="chart-messages" />
            </div>
            <div className="panel">
              <h2>{t("messagesByStatus")}</h2>
              {d!.messages.length === 0 ? <p className="muted">{t("noMessages")}</p> : <Chart option={charts.byStatus} testId="chart-message-status" />}
            </div>
            <div className="panel">
              <h2>{t("conversionsChart")}</h2>
              <Chart option={charts.conversions} testId="chart-conversions" />
            </div>
          </>
        )}
        <div className="panel" data-testid="journeys-running">
          <div className="row">
            <h2>{t("journeysRunning")}</h2>
            <span className="spacer" />
            <a {...linkProps("/journeys")}>{t("allJourneys")}</a>
          </div>
          <ErrorBox error={journeys.error} onRetry={journeys.reload} />
          {journeys.data && running.length === 0 && (
            <p className="muted">
              {t("noJourneys")} <a {...linkProps("/journeys")}>{t("newJourney")}</a>
            </p>
          )}
          {running.length > 0 && (
            <ul className="plain-list">
              {running.map((j) => (
                <li key={j.id}>
                  <a {...linkProps(`/journeys/${encodeURIComponent(j.id)}`)}>{j.name || j.id}</a>{" "}
                  <span className="muted small">
                    {j.liveVersion !== null && t("version", { v: j.liveVersion })} · {j.trigger}
                  </span>{" "}
                  <Badge tone="ok">{j.status}</Badge>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </>
  );
}

function Stat({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="label">{label}</div>
      <div className="value" data-testid={`${testId}-value`}>
        {value}
      </div>
      {hint && <div className="muted small">{hint}</div>}
    </div>
  );
}

function buildCharts(d: DashboardData, step: number, t: ReturnType<typeof useT<typeof L.en>>) {
  const xs: number[] = [];
  const start = Math.floor(new Date(d.from).getTime() / step) * step;
  for (let x = start; x < new Date(d.to).getTime(); x += step) xs.push(x);
  const key = (iso: string) => Math.floor(new Date(iso).getTime() / step) * step;
  const label = (x: number) => {
    const dt = new Date(x);
    const md = `${dt.getMonth() + 1}/${dt.getDate()}`;
    return step >= 86_400_000 ? md : `${md} ${String(dt.getHours()).padStart(2, "0")}:00`;
  };
  const cats = xs.map(label);
  const series = (rows: { start: string; count: number }[]) => {
    const m = new Map<number, number>();
    for (const r of rows) m.set(key(r.start), (m.get(key(r.start)) ?? 0) + r.count);
    return xs.map((x) => m.get(x) ?? 0);
  };
  const axis = { type: "category", data: cats, boundaryGap: false } as const;
  const grid = { left: 44, right: 16, top: 30, bottom: 28 };
  const events: ChartOption = {
    tooltip: { trigger: "axis" },
    grid,
    xAxis: axis,
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: t("events"), type: "line", smooth: 0.25, showSymbol: false, areaStyle: { opacity: 0.12 }, data: series(d.events), itemStyle: { color: "#3b5bdb" } }],
  };
  const channels = [...new Set(d.messages.map((m) => m.channel))].sort();
  const byChannel: ChartOption = {
    tooltip: { trigger: "axis" },
    legend: { data: channels, top: 0 },
    grid,
    xAxis: { type: "category", data: cats },
    yAxis: { type: "value", minInterval: 1 },
    series: channels.map((c, i) => ({
      name: c,
      type: "bar",
      stack: "messages",
      itemStyle: { color: palette[i % palette.length] },
      data: series(d.messages.filter((m) => m.channel === c)),
    })),
  };
  const statusTotals = new Map<string, number>();
  for (const m of d.messages) statusTotals.set(m.status, (statusTotals.get(m.status) ?? 0) + m.count);
  const byStatus: ChartOption = {
    tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
    legend: { orient: "vertical", right: 0, top: "middle" },
    series: [
      {
        name: t("messagesByStatus"),
        type: "pie",
        radius: ["40%", "70%"],
        center: ["40%", "50%"],
        label: { formatter: "{b}: {c}" },
        data: [...statusTotals.entries()].sort((a, b) => b[1] - a[1]).map(([name, value]) => ({ name, value, itemStyle: statusColors[name] ? { color: statusColors[name] } : undefined })),
      },
    ],
  };
  const conversions: ChartOption = {
    tooltip: { trigger: "axis" },
    grid,
    xAxis: axis,
    yAxis: { type: "value", minInterval: 1 },
    series: [{ name: t("conversions"), type: "line", smooth: 0.25, showSymbol: false, areaStyle: { opacity: 0.12 }, data: series(d.conversions), itemStyle: { color: "#2b8a3e" } }],
  };
  return { events, byChannel, byStatus, conversions };
}

function FirstSteps() {
  const t = useT(L);
  const [copied, setCopied] = useState(false);
  const curl = `curl -u "$WRITE_KEY:" ${location.origin}/v1/track \\
  -H 'content-type: application/json' \\
  -d '{"userId":"u-1001","event":"Signed Up","properties":{"plan":"trial"}}'`;
  const demo = "./chuda serve --demo";
  const parts = t("emptyDemo").split("{cmd}");
  return (
    <div className="panel first-steps" data-testid="dashboard-empty">
      <h2>{t("emptyTitle")}</h2>
      <p>{t("emptyIntro")}</p>
      <div className="code-block">
        <pre className="mono" data-testid="first-event-curl">{curl}</pre>
        <button
          className="btn small"
          onClick={() => {
            navigator.clipboard?.writeText(curl).then(() => {
              setCopied(true);
              setTimeout(() => setCopied(false), 1500);
            });
          }}
        >
          {copied ? t("copied") : t("copy")}
        </button>
      </div>
      <p>{t("emptyAfter")}</p>
      <p className="muted">
        {parts[0]}
        <code>{demo}</code>
        {parts[1]}
      </p>
    </div>
  );
}
