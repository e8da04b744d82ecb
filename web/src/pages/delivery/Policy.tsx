import { useState } from "react";
import { api, ApiError, problemLines } from "../../api";
import { useT } from "../../i18n";
import { ErrorBox, Loading, useAsync } from "../../ui";
import { useChannelLabel } from "../templates/strings";
import { ALL_CHANNELS, type DeliveryPolicy, type FrequencyCap, type QuietWindow } from "./model";

const L = {
  en: {
    intro: "Rules every marketing message passes before it is sent. Transactional messages (codes, receipts) are never held by quiet hours, caps or cool-down.",
    quiet: "Quiet hours",
    quietHint: "Local wall-clock times in each person's own time zone (the workspace zone when they have none); a window that starts after it ends crosses midnight. Deferred messages go out when it ends.",
    quietOn: "Hold marketing messages during quiet hours",
    from: "from",
    to: "until",
    perChannel: "Per channel",
    perChannelHint: "In-app and webhook are exempt by default.",
    inherit: "default window",
    off: "no quiet hours",
    custom: "own window",
    caps: "Frequency caps",
    capsHint: "At most this many marketing messages per person and period; counted when a message is dispatched. A calendar day is the person's local day.",
    limit: "Limit",
    period: "Period",
    calendar_day: "per calendar day",
    rolling_day: "per 24 hours",
    rolling_week: "per 7 days",
    channel: "Channel",
    category: "Category",
    anyChannel: "every channel",
    anyCategory: "every category",
    addCap: "Add cap",
    remove: "Remove",
    noCaps: "No caps: people may get any number of marketing messages.",
    allow: "Cap allow-list",
    allowHint: "These people bypass frequency caps (staff, test accounts). One per line.",
    userIds: "User IDs",
    tags: "Profile tags",
    consent: "Consent",
    optIn: "Marketing needs an opt-in (a subscription at some level); without it, anyone not unsubscribed receives marketing.",
    dedup: "De-duplication window",
    dedupHint: "Messages with the same dedup key within this window are sent once. ISO 8601 duration, e.g. PT24H, P1D, PT30M.",
    coolDown: "Cool-down",
    ignoredInARow: "Pause after this many ignored messages in a row",
    ignoredInARowHint: "Marketing messages with no open, click or read; 0 turns it off.",
    ignoredPeriod: "Pause for",
    complaintPeriod: "After a complaint, pause for",
    unsubscribePeriod: "After an unsubscribe, pause for",
    durationHint: "ISO 8601 duration, e.g. P14D",
    order: "Channel order",
    orderHint: "The order channels are tried in when neither the message nor the person names channels. Voice is only used when listed.",
    up: "Move up",
    down: "Move down",
    included: "used",
    save: "Save policy",
    saving: "Saving…",
    saved: "Policy saved.",
    notSaved: "The policy was not saved",
  },
  zh: {
    intro: "每条营销消息发送前都要经过这些规则。事务类消息（验证码、回执）不受免打扰、频控和冷却限制。",
    quiet: "免打扰时段",
    quietHint: "按每个用户所在时区的当地时间计算（用户没有时区时使用工作区时区）；开始时间晚于结束时间表示跨午夜。被推迟的消息在时段结束后发出。",
    quietOn: "免打扰时段内暂缓发送营销消息",
    from: "从",
    to: "至",
    perChannel: "按渠道设置",
    perChannelHint: "站内信和 Webhook 默认不受免打扰限制。",
    inherit: "使用默认时段",
    off: "不设免打扰",
    custom: "单独设置",
    caps: "频次控制",
    capsHint: "每人每个周期最多收到的营销消息数，在消息决定发送时计数。自然日按用户当地时间计算。",
    limit: "上限",
    period: "周期",
    calendar_day: "每自然日",
    rolling_day: "每 24 小时",
    rolling_week: "每 7 天",
    channel: "渠道",
    category: "类别",
    anyChannel: "所有渠道",
    anyCategory: "所有类别",
    addCap: "添加频控规则",
    remove: "删除",
    noCaps: "未设置频控：用户可能收到任意数量的营销消息。",
    allow: "频控白名单",
    allowHint: "这些用户不受频控限制（员工、测试账号），每行一个。",
    userIds: "用户 ID",
    tags: "用户标签",
    consent: "订阅授权",
    optIn: "营销消息需要用户明确订阅（任一层级）；关闭时，未退订的用户都会收到营销消息。",
    dedup: "去重时间窗",
    dedupHint: "时间窗内具有相同去重键的消息只发送一次。ISO 8601 时长，如 PT24H、P1D、PT30M。",
    coolDown: "冷却",
    ignoredInARow: "连续多少条未互动后暂停",
    ignoredInARowHint: "营销消息没有打开、点击或阅读；0 表示关闭。",
    ignoredPeriod: "暂停时长",
    complaintPeriod: "投诉后暂停",
    unsubscribePeriod: "退订后暂停",
    durationHint: "ISO 8601 时长，如 P14D",
    order: "渠道顺序",
    orderHint: "消息和用户都未指定渠道时，按此顺序尝试。语音仅在列出时使用。",
    up: "上移",
    down: "下移",
    included: "启用",
    save: "保存策略",
    saving: "保存中…",
    saved: "策略已保存。",
    notSaved: "策略未保存",
  },
};

type T = ReturnType<typeof useT<typeof L.en>>;

export function Policy() {
  const policy = useAsync((signal) => api.get<DeliveryPolicy>("/api/v1/delivery/policy", { signal }), []);
  if (policy.error && !policy.data) return <ErrorBox error={policy.error} onRetry={policy.reload} />;
  if (!policy.data) return <Loading />;
  return <PolicyForm initial={policy.data} />;
}

function lines(s: string) {
  return s.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);
}

function PolicyForm({ initial }: { initial: DeliveryPolicy }) {
  const t = useT(L);
  const channelLabel = useChannelLabel();
  const [p, setP] = useState<DeliveryPolicy>(initial);
  const [lastQuiet, setLastQuiet] = useState<QuietWindow>(initial.quietHours ?? { start: "22:00", end: "08:00" });
  const [userIds, setUserIds] = useState(initial.capAllowList.userIds.join("\n"));
  const [tags, setTags] = useState(initial.capAllowList.tags.join("\n"));
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const set = (fn: (p: DeliveryPolicy) => DeliveryPolicy) => {
    setP(fn);
    setSaved(false);
  };

  const errs = new Map<string, string[]>();
  if (error instanceof ApiError && Array.isArray(error.errors))
    for (const e of error.errors as { field?: string; message?: string }[]) {
      const k = (e.field ?? "").replace(/^\$\.?/, "");
      errs.set(k, [...(errs.get(k) ?? []), e.message ?? ""]);
    }
  const errsFor = (prefix: string) =>
    [...errs.entries()].filter(([k]) => k === prefix || k.startsWith(prefix + ".") || k.startsWith(prefix + "[")).flatMap(([k, v]) => v.map((m) => `${k}: ${m}`));
  const Errs = ({ prefix }: { prefix: string }) => {
    const list = errsFor(prefix);
    return list.length ? (
      <div className="tpl-field-error" role="alert">
        {list.map((m, i) => (
          <div key={i}>{m}</div>
        ))}
      </div>
    ) : null;
  };

  const save = async () => {
    setSaving(true);
    setError(null);
    try {
      const body: DeliveryPolicy = { ...p, capAllowList: { userIds: lines(userIds), tags: lines(tags) } };
      const result = await api.put<DeliveryPolicy>("/api/v1/delivery/policy", body);
      setP(result);
      setSaved(true);
    } catch (e) {
      setError(e);
    } finally {
      setSaving(false);
    }
  };

  const order = p.channelOrder;
  const unused = ALL_CHANNELS.filter((c) => !order.includes(c));
  const move = (i: number, d: number) =>
    set((x) => {
      const o = [...x.channelOrder];
      const j = i + d;
      if (j < 0 || j >= o.length) return x;
      [o[i], o[j]] = [o[j], o[i]];
      return { ...x, channelOrder: o };
    });

  return (
    <div className="dl-policy">
      <p className="muted">{t("intro")}</p>
      {error ? (
        <div className="error-box" role="alert" data-testid="error">
          <strong>{t("notSaved")}</strong>
          <ul>
            {problemLines(error).map((l, i) => (
              <li key={i}>{l}</li>
            ))}
          </ul>
        </div>
      ) : null}

      <section className="panel" data-testid="policy-quiet">
        <h3>{t("quiet")}</h3>
        <p className="field-hint">{t("quietHint")}</p>
        <label className="row dl-check">
          <input
            type="checkbox"
            checked={p.quietHours !== null}
            onChange={(e) => set((x) => ({ ...x, quietHours: e.target.checked ? lastQuiet : null }))}
            data-testid="policy-quiet-on"
          />
          {t("quietOn")}
        </label>
        {p.quietHours && (
          <WindowInput
            value={p.quietHours}
            onChange={(w) => {
              setLastQuiet(w);
              set((x) => ({ ...x, quietHours: w }));
            }}
            t={t}
            testId="policy-quiet"
          />
        )}
        <Errs prefix="quietHours" />
        <h4>{t("perChannel")}</h4>
        <p className="field-hint">{t("perChannelHint")}</p>
        <div className="dl-quiet-channels">
          {ALL_CHANNELS.map((c) => {
            const has = c in p.quietHoursByChannel;
            const w = p.quietHoursByChannel[c];
            const mode = !has ? "inherit" : w === null ? "off" : "custom";
            return (
              <div key={c} className="row dl-quiet-row">
                <span className="dl-quiet-name">{channelLabel(c)}</span>
                <select
                  value={mode}
                  onChange={(e) =>
                    set((x) => {
                      const by = { ...x.quietHoursByChannel };
                      if (e.target.value === "inherit") delete by[c];
                      else if (e.target.value === "off") by[c] = null;
                      else by[c] = x.quietHours ?? lastQuiet;
                      return { ...x, quietHoursByChannel: by };
                    })
                  }
                  data-testid={`policy-quiet-${c}`}
                >
                  <option value="inherit">{t("inherit")}</option>
                  <option value="off">{t("off")}</option>
                  <option value="custom">{t("custom")}</option>
                </select>
                {w && (
                  <WindowInput
                    value={w}
                    onChange={(nw) => set((x) => ({ ...x, quietHoursByChannel: { ...x.quietHoursByChannel, [c]: nw } }))}
                    t={t}
                  />
                )}
              </div>
            );
          })}
        </div>
        <Errs prefix="quietHoursByChannel" />
      </section>

      <section className="panel" data-testid="policy-caps">
        <h3>{t("caps")}</h3>
        <p className="field-hint">{t("capsHint")}</p>
        {p.frequencyCaps.length === 0 ? (
          <p className="muted">{t("noCaps")}</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>{t("limit")}</th>
                  <th>{t("period")}</th>
                  <th>{t("channel")}</th>
                  <th>{t("category")}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {p.frequencyCaps.map((cap, i) => {
                  const upd = (patch: Partial<FrequencyCap>) =>
                    set((x) => ({
                      ...x,
                      frequencyCaps: x.frequencyCaps.map((c, j) => {
                        if (j !== i) return c;
                        const n: FrequencyCap = { ...c, ...patch };
                        if (!n.channel) delete n.channel;
                        if (!n.category) delete n.category;
                        return n;
                      }),
                    }));
                  return (
                    <tr key={i} data-testid="policy-cap-row">
                      <td>
                        <input type="number" min={1} value={cap.limit} onChange={(e) => upd({ limit: Number(e.target.value) })} className="dl-num" />
                      </td>
                      <td>
                        <select value={cap.period} onChange={(e) => upd({ period: e.target.value as FrequencyCap["period"] })}>
                          <option value="calendar_day">{t("calendar_day")}</option>
                          <option value="rolling_day">{t("rolling_day")}</option>
                          <option value="rolling_week">{t("rolling_week")}</option>
                        </select>
                      </td>
                      <td>
                        <select value={cap.channel ?? ""} onChange={(e) => upd({ channel: e.target.value })}>
                          <option value="">{t("anyChannel")}</option>
                          {ALL_CHANNELS.map((c) => (
                            <option key={c} value={c}>
                              {channelLabel(c)}
                            </option>
                          ))}
                        </select>
                      </td>
                      <td>
                        <input value={cap.category ?? ""} placeholder={t("anyCategory")} onChange={(e) => upd({ category: e.target.value })} />
                      </td>
                      <td>
                        <button className="btn small ghost" onClick={() => set((x) => ({ ...x, frequencyCaps: x.frequencyCaps.filter((_, j) => j !== i) }))}>
                          {t("remove")}
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <button
          className="btn small"
          onClick={() => set((x) => ({ ...x, frequencyCaps: [...x.frequencyCaps, { limit: 3, period: "calendar_day" }] }))}
          data-testid="policy-add-cap"
        >
          + {t("addCap")}
        </button>
        <Errs prefix="frequencyCaps" />
        <h4>{t("allow")}</h4>
        <p className="field-hint">{t("allowHint")}</p>
        <div className="grid cols-2">
          <label className="field">
            <span className="field-label">{t("userIds")}</span>
            <textarea rows={3} className="mono" value={userIds} onChange={(e) => (setUserIds(e.target.value), setSaved(false))} data-testid="policy-allow-users" />
          </label>
          <label className="field">
            <span className="field-label">{t("tags")}</span>
            <textarea rows={3} className="mono" value={tags} onChange={(e) => (setTags(e.target.value), setSaved(false))} data-testid="policy-allow-tags" />
          </label>
        </div>
        <Errs prefix="capAllowList" />
      </section>

      <div className="grid cols-2">
        <section className="panel">
          <h3>{t("consent")}</h3>
          <label className="row dl-check">
            <input
              type="checkbox"
              checked={p.marketingRequiresOptIn}
              onChange={(e) => set((x) => ({ ...x, marketingRequiresOptIn: e.target.checked }))}
              data-testid="policy-opt-in"
            />
            {t("optIn")}
          </label>
          <Errs prefix="marketingRequiresOptIn" />
          <h3 className="dl-gap">{t("dedup")}</h3>
          <input value={p.dedupWindow} onChange={(e) => set((x) => ({ ...x, dedupWindow: e.target.value }))} className="mono" data-testid="policy-dedup" />
          <p className="field-hint">{t("dedupHint")}</p>
          <Errs prefix="dedupWindow" />
        </section>
        <section className="panel">
          <h3>{t("coolDown")}</h3>
          <label className="field">
            <span className="field-label">{t("ignoredInARow")}</span>
            <input
              type="number"
              min={0}
              value={p.coolDown.ignoredInARow}
              onChange={(e) => set((x) => ({ ...x, coolDown: { ...x.coolDown, ignoredInARow: Number(e.target.value) } }))}
              data-testid="policy-ignored"
            />
            <span className="field-hint">{t("ignoredInARowHint")}</span>
          </label>
          <div className="grid cols-3">
            {(["ignoredPeriod", "complaintPeriod", "unsubscribePeriod"] as const).map((k) => (
              <label className="field" key={k}>
                <span className="field-label">{t(k)}</span>
                <input className="mono" value={p.coolDown[k]} onChange={(e) => set((x) => ({ ...x, coolDown: { ...x.coolDown, [k]: e.target.value } }))} />
                <span className="field-hint">{t("durationHint")}</span>
              </label>
            ))}
          </div>
          <Errs prefix="coolDown" />
        </section>
      </div>

      <section className="panel" data-testid="policy-order">
        <h3>{t("order")}</h3>
        <p className="field-hint">{t("orderHint")}</p>
        <ol className="dl-order">
          {order.map((c, i) => (
            <li key={c} className="row">
              <span className="dl-order-name">{channelLabel(c)}</span>
              <span className="spacer" />
              <button className="btn small ghost" onClick={() => move(i, -1)} disabled={i === 0} aria-label={t("up")}>
                ↑
              </button>
              <button className="btn small ghost" onClick={() => move(i, 1)} disabled={i === order.length - 1} aria-label={t("down")}>
                ↓
              </button>
              <button className="btn small ghost" onClick={() => set((x) => ({ ...x, channelOrder: x.channelOrder.filter((y) => y !== c) }))}>
                {t("remove")}
              </button>
            </li>
          ))}
        </ol>
        {unused.length > 0 && (
          <div className="row">
            {unused.map((c) => (
              <button key={c} className="btn small" onClick={() => set((x) => ({ ...x, channelOrder: [...x.channelOrder, c] }))}>
                + {channelLabel(c)}
              </button>
            ))}
          </div>
        )}
        <Errs prefix="channelOrder" />
      </section>

      <div className="row dl-savebar">
        {saved && <span className="badge ok">{t("saved")}</span>}
        <span className="spacer" />
        <button className="btn primary" onClick={save} disabled={saving} data-testid="policy-save">
          {saving ? t("saving") : t("save")}
        </button>
      </div>
    </div>
  );
}

function WindowInput({ value, onChange, t, testId }: { value: QuietWindow; onChange: (w: QuietWindow) => void; t: T; testId?: string }) {
  return (
    <span className="row dl-window">
      {t("from")}
      <input type="time" value={value.start} onChange={(e) => onChange({ ...value, start: e.target.value })} data-testid={testId ? `${testId}-start` : undefined} />
      {t("to")}
      <input type="time" value={value.end} onChange={(e) => onChange({ ...value, end: e.target.value })} data-testid={testId ? `${testId}-end` : undefined} />
    </span>
  );
}
