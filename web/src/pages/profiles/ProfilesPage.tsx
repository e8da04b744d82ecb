import { useEffect, useState } from "react";
import { api, qs } from "../../api";
import { useFormat, useT } from "../../i18n";
import { linkProps, navigate, useLocation } from "../../router";
import { Empty, ErrorBox, Loading, PageHeader, useAsync } from "../../ui";

const L = {
  en: {
    title: "Profiles",
    subtitle: "Everyone Chuda knows: traits, events, segments, journeys and every message sent to them.",
    search: "Search by user ID, e-mail or phone (prefix)",
    recent: "Recently seen",
    results: "Results for “{q}”",
    userId: "User ID",
    name: "Name",
    email: "E-mail",
    phone: "Phone",
    lastSeen: "Last seen",
    noMatch: "No profile matches “{q}”",
    noMatchHint: "Search matches the beginning of a user ID, e-mail address or phone number (with country code, e.g. +86…).",
    empty: "No profiles yet",
    emptyHint: "Profiles are created by the ingestion API (identify, track, page…). See the dashboard for a first curl command.",
    anonymous: "anonymous",
  },
  zh: {
    title: "用户",
    subtitle: "Chuda 中的每个用户：属性、事件、分群、旅程，以及发给他们的每条消息。",
    search: "按用户 ID、邮箱或手机号搜索（前缀匹配）",
    recent: "最近活跃",
    results: "“{q}”的搜索结果",
    userId: "用户 ID",
    name: "姓名",
    email: "邮箱",
    phone: "手机号",
    lastSeen: "最近活跃",
    noMatch: "没有匹配“{q}”的用户",
    noMatchHint: "搜索会匹配用户 ID、邮箱或手机号的开头部分（手机号需带国家码，如 +86…）。",
    empty: "还没有用户",
    emptyHint: "用户由数据接入 API（identify、track、page 等）创建。可在概览页找到第一条 curl 命令。",
    anonymous: "匿名",
  },
};

export interface ProfileSummary {
  userId: string | null;
  profileId: number;
  email: string | null;
  phone: string | null;
  name: string | null;
  lastSeen: string;
}

export function ProfilesPage() {
  const t = useT(L);
  const fmt = useFormat();
  const { query } = useLocation();
  const [text, setText] = useState(query.get("q") ?? "");
  const [q, setQ] = useState(text.trim());
  useEffect(() => {
    const id = setTimeout(() => {
      setQ(text.trim());
      const url = text.trim() ? `/profiles?q=${encodeURIComponent(text.trim())}` : "/profiles";
      history.replaceState(null, "", url);
    }, 300);
    return () => clearTimeout(id);
  }, [text]);
  const list = useAsync((signal) => api.get<{ profiles: ProfileSummary[] }>(`/api/v1/profiles${qs({ q, limit: 20 })}`, { signal }), [q]);
  const profiles = list.data?.profiles ?? [];
  return (
    <>
      <PageHeader title={t("title")} subtitle={t("subtitle")} />
      <div className="profile-search-box">
        <input
          type="search"
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={t("search")}
          autoFocus
          data-testid="profile-search"
          onKeyDown={(e) => {
            if (e.key === "Enter" && profiles.length === 1 && profiles[0].userId) navigate(`/profiles/${encodeURIComponent(profiles[0].userId)}`);
          }}
        />
      </div>
      <ErrorBox error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading />}
      {list.data && profiles.length === 0 && (q ? <Empty title={t("noMatch", { q })} hint={t("noMatchHint")} /> : <Empty title={t("empty")} hint={t("emptyHint")} action={<a {...linkProps("/")}>→</a>} />)}
      {profiles.length > 0 && (
        <>
          <h3 className="list-caption">{q ? t("results", { q }) : t("recent")}</h3>
          <div className={list.loading ? "table-wrap stale" : "table-wrap"}>
            <table>
              <thead>
                <tr>
                  <th>{t("userId")}</th>
                  <th>{t("name")}</th>
                  <th>{t("email")}</th>
                  <th>{t("phone")}</th>
                  <th>{t("lastSeen")}</th>
                </tr>
              </thead>
              <tbody>
                {profiles.map((p) => (
                  <tr
                    key={p.profileId}
                    className={p.userId ? "clickable" : undefined}
                    onClick={() => p.userId && navigate(`/profiles/${encodeURIComponent(p.userId)}`)}
                    data-testid="profile-row"
                  >
                    <td className="mono">{p.userId ? <a {...linkProps(`/profiles/${encodeURIComponent(p.userId)}`)}>{p.userId}</a> : <span className="muted">{t("anonymous")} #{p.profileId}</span>}</td>
                    <td>{p.name ?? <span className="muted">—</span>}</td>
                    <td>{p.email ?? <span className="muted">—</span>}</td>
                    <td className="mono">{p.phone ?? <span className="muted">—</span>}</td>
                    <td>{fmt.dateTime(p.lastSeen)}</td>
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
