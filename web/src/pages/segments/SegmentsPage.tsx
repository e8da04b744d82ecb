import { useEffect, useState } from "react";
import { api } from "../../api";
import { useFormat, useT } from "../../i18n";
import { linkProps, navigate } from "../../router";
import { Empty, ErrorBox, Loading, PageHeader, useAsync, useInterval } from "../../ui";
import { StatusBadge } from "./SegmentPage";

export interface Segment {
  id: string;
  name: string;
  description: string | null;
  rule: unknown;
  version: number;
  status: "backfilling" | "ready";
  backfill: { done: number; total: number; percent: number; startedAt: string | null; completedAt: string | null };
  createdAt: string;
  updatedAt: string;
}

const L = {
  en: {
    title: "Segments",
    subtitle: "Audiences defined by rules over traits, events, tags and channels; membership stays exact as data changes.",
    newSegment: "New segment",
    name: "Name",
    status: "Status",
    members: "Members",
    version: "Version",
    updated: "Updated",
    empty: "No segments yet",
    emptyHint: "Create a segment to target an audience in journeys, e.g. “viewed pricing 3+ times this week and never ordered”.",
    search: "Filter by name or ID",
  },
  zh: {
    title: "分群",
    subtitle: "基于属性、事件、标签和渠道的规则定义人群，数据变化时成员实时更新。",
    newSegment: "新建分群",
    name: "名称",
    status: "状态",
    members: "人数",
    version: "版本",
    updated: "更新时间",
    empty: "还没有分群",
    emptyHint: "创建分群，在旅程中精准触达人群，例如“本周浏览定价页 3 次以上且从未下单”。",
    search: "按名称或 ID 筛选",
  },
};

export function SegmentsPage() {
  const t = useT(L);
  const fmt = useFormat();
  const [filter, setFilter] = useState("");
  const list = useAsync((signal) => api.get<{ segments: Segment[] }>("/api/v1/segments", { signal }), []);
  const backfilling = list.data?.segments.some((s) => s.status !== "ready") ?? false;
  useInterval(list.reload, backfilling ? 2000 : 15000);
  const segments = (list.data?.segments ?? []).filter(
    (s) => !filter || s.name.toLowerCase().includes(filter.toLowerCase()) || s.id.toLowerCase().includes(filter.toLowerCase()),
  );
  return (
    <>
      <PageHeader
        title={t("title")}
        subtitle={t("subtitle")}
        actions={
          <a className="btn primary" {...linkProps("/segments/new")} data-testid="new-segment">
            {t("newSegment")}
          </a>
        }
      />
      <ErrorBox error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.segments.length === 0 && (
        <Empty
          title={t("empty")}
          hint={t("emptyHint")}
          action={
            <a className="btn primary" {...linkProps("/segments/new")}>
              {t("newSegment")}
            </a>
          }
        />
      )}
      {list.data && list.data.segments.length > 0 && (
        <>
          <div className="row list-tools">
            <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder={t("search")} data-testid="segment-filter" className="search" />
          </div>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>{t("name")}</th>
                  <th>{t("status")}</th>
                  <th className="num-col">{t("members")}</th>
                  <th>{t("version")}</th>
                  <th>{t("updated")}</th>
                </tr>
              </thead>
              <tbody>
                {segments.map((s) => (
                  <tr key={s.id} className="clickable" onClick={() => navigate(`/segments/${encodeURIComponent(s.id)}`)} data-testid="segment-row">
                    <td>
                      <a {...linkProps(`/segments/${encodeURIComponent(s.id)}`)}>{s.name}</a>
                      <div className="mono muted">{s.id}</div>
                    </td>
                    <td>
                      <StatusBadge segment={s} />
                    </td>
                    <td className="num-col">
                      <MemberCount id={s.id} version={s.version} status={s.status} done={s.backfill?.done} />
                    </td>
                    <td>v{s.version}</td>
                    <td>{fmt.dateTime(s.updatedAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}

function MemberCount({ id, version, status, done }: { id: string; version: number; status: string; done?: number }) {
  const fmt = useFormat();
  const [count, setCount] = useState<{ count: number; exact: boolean } | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    const c = new AbortController();
    api
      .get<{ count: number; exact: boolean }>(`/api/v1/segments/${encodeURIComponent(id)}/count`, { signal: c.signal })
      .then((r) => {
        setCount(r);
        setFailed(false);
      })
      .catch((e) => (e as Error).name !== "AbortError" && setFailed(true));
    return () => c.abort();
  }, [id, version, status, done]);
  if (failed) return <span className="muted">—</span>;
  if (!count) return <span className="muted">…</span>;
  return <span data-testid="segment-row-count">{(count.exact ? "" : "≥ ") + fmt.number(count.count)}</span>;
}
