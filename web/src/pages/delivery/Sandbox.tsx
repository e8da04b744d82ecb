import { useState } from "react";
import { api, qs } from "../../api";
import { useFormat, useT } from "../../i18n";
import { linkProps } from "../../router";
import { Badge, Empty, ErrorBox, Loading, useAsync, useInterval } from "../../ui";
import { ContentView } from "../templates/ContentView";
import { useChannelLabel } from "../templates/strings";
import { ALL_CHANNELS, type MessagePage, type MessageView } from "./model";

const L = {
  en: {
    intro: "Messages on channels that have no provider land here with their rendered content, so nothing is dropped silently while you set up providers.",
    channel: "Channel",
    all: "all channels",
    auto: "Refresh every 5 s",
    refresh: "Refresh",
    updated: "updated {at}",
    emptyTitle: "The sandbox outbox is empty",
    emptyHint: "Messages to a channel without a provider are kept here instead of being sent. Publish a journey with a send step or call the send API, and they appear within seconds.",
    to: "To",
    template: "Template",
    journey: "Journey",
    older: "Load older",
    noContent: "No rendered content was kept for this message.",
    reason: "Reason",
    s_queued: "queued",
    s_collecting: "collecting (digest)",
    s_merged: "merged",
    s_deferred: "deferred",
    s_sending: "sending",
    s_sent: "sent",
    s_delivered: "delivered",
    s_failed: "failed",
    s_bounced: "bounced",
    s_dropped: "dropped",
    s_retrying: "retrying",
    s_fallback: "falling back",
    s_expired: "expired",
  },
  zh: {
    intro: "没有配置服务商的渠道，消息会连同渲染后的内容进入这里。在配置服务商期间，消息不会被悄悄丢弃。",
    channel: "渠道",
    all: "全部渠道",
    auto: "每 5 秒自动刷新",
    refresh: "刷新",
    updated: "更新于 {at}",
    emptyTitle: "沙箱发件箱为空",
    emptyHint: "发往未配置服务商渠道的消息会保存在这里而不会真正发出。发布一个带发送节点的旅程或调用发送接口，几秒内即可在此看到。",
    to: "收件人",
    template: "模板",
    journey: "旅程",
    older: "加载更早的消息",
    noContent: "此消息没有保留渲染内容。",
    reason: "原因",
    s_queued: "排队中",
    s_collecting: "汇总中",
    s_merged: "已合并",
    s_deferred: "已推迟",
    s_sending: "发送中",
    s_sent: "已发送",
    s_delivered: "已送达",
    s_failed: "失败",
    s_bounced: "退信",
    s_dropped: "未发送",
    s_retrying: "重试中",
    s_fallback: "切换渠道中",
    s_expired: "已过期",
  },
};

export function Sandbox() {
  const t = useT(L);
  const f = useFormat();
  const channelLabel = useChannelLabel();
  const [channel, setChannel] = useState("");
  const [auto, setAuto] = useState(true);
  const [older, setOlder] = useState<MessageView[]>([]);
  const [olderNext, setOlderNext] = useState<string | null | undefined>(undefined);
  const [olderError, setOlderError] = useState<unknown>(null);
  const [at, setAt] = useState<string | null>(null);
  const statusLabel = (s: string) => {
    const key = `s_${s}` as keyof typeof L.en;
    return key in L.en ? t(key) : s;
  };
  const page = useAsync(
    async (signal) => {
      const r = await api.get<MessagePage>(`/api/v1/sandbox${qs({ channel, limit: 50 })}`, { signal });
      setAt(new Date().toISOString());
      return r;
    },
    [channel],
  );
  useInterval(page.reload, auto ? 5000 : null);

  const loadOlder = async () => {
    const before = olderNext ?? page.data?.next;
    if (!before) return;
    try {
      const r = await api.get<MessagePage>(`/api/v1/sandbox${qs({ channel, limit: 50, before })}`);
      setOlder((o) => [...o, ...r.messages]);
      setOlderNext(r.next);
    } catch (e) {
      setOlderError(e);
    }
  };

  const messages = [...(page.data?.messages ?? []), ...older.filter((o) => !(page.data?.messages ?? []).some((m) => m.id === o.id))];
  const hasMore = olderNext === undefined ? !!page.data?.next : !!olderNext;

  return (
    <div>
      <p className="muted">{t("intro")}</p>
      <div className="row dl-toolbar">
        <label className="row">
          {t("channel")}
          <select
            value={channel}
            onChange={(e) => {
              setChannel(e.target.value);
              setOlder([]);
              setOlderNext(undefined);
            }}
            data-testid="sandbox-channel"
          >
            <option value="">{t("all")}</option>
            {ALL_CHANNELS.map((c) => (
              <option key={c} value={c}>
                {channelLabel(c)}
              </option>
            ))}
          </select>
        </label>
        <label className="row dl-check">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} data-testid="sandbox-auto" />
          {t("auto")}
        </label>
        <button className="btn small" onClick={page.reload} data-testid="sandbox-refresh">
          ↻ {t("refresh")}
        </button>
        {at && <span className="muted">{t("updated", { at: f.dateTime(at) })}</span>}
      </div>
      {page.error ? <ErrorBox error={page.error} onRetry={page.reload} /> : null}
      {!page.data ? (
        page.error ? null : <Loading />
      ) : messages.length === 0 ? (
        <Empty title={t("emptyTitle")} hint={t("emptyHint")} />
      ) : (
        <div className="dl-outbox">
          {messages.map((m) => (
            <article key={m.id} className="panel dl-message" data-testid="sandbox-message" data-message-id={m.id} data-channel={m.channel ?? ""} data-template={m.template ?? ""} data-user={m.userId ?? ""}>
              <header className="row">
                <Badge tone="info">{channelLabel(m.channel ?? "")}</Badge>
                <span className="mono">{m.id}</span>
                <Badge tone={m.status === "delivered" || m.status === "sent" ? "ok" : m.status === "failed" ? "bad" : "muted"}>{statusLabel(m.status)}</Badge>
                <span className="spacer" />
                <span className="muted">{f.dateTime(m.createdAt)}</span>
              </header>
              <div className="row dl-meta muted">
                <span>
                  {t("to")}:{" "}
                  {m.userId ? (
                    <a {...linkProps(`/profiles/${encodeURIComponent(m.userId)}`)}>{m.userId}</a>
                  ) : null}{" "}
                  {m.recipient && <span className="mono">{m.recipient}</span>}
                </span>
                {m.template && (
                  <span>
                    {t("template")}: <a {...linkProps(`/templates/${encodeURIComponent(m.template)}`)}>{m.template}</a>
                  </span>
                )}
                {m.journey && (
                  <span>
                    {t("journey")}: <a {...linkProps(`/journeys/${encodeURIComponent(m.journey)}`)}>{m.journey}</a>
                    {m.step && <span className="mono"> · {m.step}</span>}
                  </span>
                )}
                <Badge>{m.category}</Badge>
              </div>
              {m.content ? (
                <ContentView channel={m.channel ?? String(m.content.channel ?? "")} content={m.content} htmlHeight={200} />
              ) : (
                <p className="muted">{t("noContent")}</p>
              )}
              {m.reason && (
                <p className="muted">
                  {t("reason")}: {m.reason}
                </p>
              )}
            </article>
          ))}
          {olderError ? <ErrorBox error={olderError} /> : null}
          {hasMore && (
            <button className="btn" onClick={loadOlder} data-testid="sandbox-older">
              {t("older")}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
