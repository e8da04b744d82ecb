import { useState } from "react";
import { api, qs } from "../../api";
import { useFormat, useT } from "../../i18n";
import { Badge, Empty, ErrorBox, Loading, useAsync } from "../../ui";
import type { SuppressionView } from "./model";

const KINDS = ["email", "phone", "push", "wechat", "webhook", "in_app"] as const;

const L = {
  en: {
    intro: "Addresses no message may go to: hard bounces and complaints are added automatically; block an address by hand here.",
    kind: "Kind",
    all: "all kinds",
    address: "Address",
    reason: "Reason",
    detail: "Detail",
    added: "Added",
    remove: "Remove",
    add: "Block address",
    adding: "Blocking…",
    addTitle: "Block an address",
    detailPlaceholder: "why (optional)",
    emptyTitle: "No suppressed addresses",
    emptyHint: "Hard bounces and spam complaints appear here automatically. Use the form above to block an address by hand.",
    hard_bounce: "hard bounce",
    complaint: "complaint",
    manual: "manual",
    k_email: "E-mail",
    k_phone: "Phone",
    k_push: "Push token",
    k_wechat: "WeChat",
    k_webhook: "Webhook",
    k_in_app: "In-app",
    addressHint_email: "name@example.com",
    addressHint_phone: "+8613800138000 (E.164)",
    confirmRemove: "Allow messages to {a} again?",
  },
  zh: {
    intro: "禁止发送的地址：硬退信和投诉会自动加入，也可以在这里手动屏蔽。",
    kind: "类型",
    all: "全部类型",
    address: "地址",
    reason: "原因",
    detail: "说明",
    added: "加入时间",
    remove: "移除",
    add: "屏蔽地址",
    adding: "屏蔽中…",
    addTitle: "屏蔽一个地址",
    detailPlaceholder: "原因（可选）",
    emptyTitle: "没有被屏蔽的地址",
    emptyHint: "硬退信和垃圾邮件投诉会自动出现在这里，也可以通过上方表单手动屏蔽地址。",
    hard_bounce: "硬退信",
    complaint: "投诉",
    manual: "手动",
    k_email: "邮箱",
    k_phone: "手机号",
    k_push: "推送令牌",
    k_wechat: "微信",
    k_webhook: "Webhook",
    k_in_app: "站内信",
    addressHint_email: "name@example.com",
    addressHint_phone: "+8613800138000（E.164 格式）",
    confirmRemove: "恢复向 {a} 发送消息？",
  },
};

export function Suppressions() {
  const t = useT(L);
  const f = useFormat();
  const [kind, setKind] = useState("");
  const [newKind, setNewKind] = useState<string>("email");
  const [address, setAddress] = useState("");
  const [detail, setDetail] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const list = useAsync((signal) => api.get<SuppressionView[]>(`/api/v1/suppressions${qs({ kind })}`, { signal }), [kind]);

  const add = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.post("/api/v1/suppressions", { kind: newKind, address: address.trim(), detail: detail.trim() || undefined });
      setAddress("");
      setDetail("");
      list.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async (s: SuppressionView) => {
    if (!window.confirm(t("confirmRemove", { a: s.address }))) return;
    setError(null);
    try {
      await api.del(`/api/v1/suppressions/${encodeURIComponent(s.kind)}/${encodeURIComponent(s.address)}`);
      list.reload();
    } catch (err) {
      setError(err);
    }
  };
  const kindLabel = (k: string) => t(`k_${k}` as "k_email");
  const reasonLabel = (r: string) => (r === "hard_bounce" || r === "complaint" || r === "manual" ? t(r) : r);

  return (
    <div>
      <p className="muted">{t("intro")}</p>
      <form className="panel row dl-suppress-form" onSubmit={add}>
        <strong>{t("addTitle")}</strong>
        <select value={newKind} onChange={(e) => setNewKind(e.target.value)} data-testid="suppression-kind">
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {kindLabel(k)}
            </option>
          ))}
        </select>
        <input
          value={address}
          onChange={(e) => setAddress(e.target.value)}
          placeholder={newKind === "email" ? t("addressHint_email") : newKind === "phone" ? t("addressHint_phone") : t("address")}
          data-testid="suppression-address"
          className="dl-grow"
        />
        <input value={detail} onChange={(e) => setDetail(e.target.value)} placeholder={t("detailPlaceholder")} data-testid="suppression-detail" />
        <button className="btn primary" disabled={busy || !address.trim()} data-testid="suppression-add">
          {busy ? t("adding") : t("add")}
        </button>
      </form>
      {error ? <ErrorBox error={error} /> : null}
      <div className="row dl-toolbar">
        <label className="row">
          {t("kind")}
          <select value={kind} onChange={(e) => setKind(e.target.value)} data-testid="suppression-filter">
            <option value="">{t("all")}</option>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {kindLabel(k)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {!list.data ? (
        list.error ? null : <Loading />
      ) : list.data.length === 0 ? (
        <Empty title={t("emptyTitle")} hint={t("emptyHint")} />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("kind")}</th>
                <th>{t("address")}</th>
                <th>{t("reason")}</th>
                <th>{t("detail")}</th>
                <th>{t("added")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.data.map((s) => (
                <tr key={`${s.kind}:${s.address}`} data-testid="suppression-row">
                  <td>{kindLabel(s.kind)}</td>
                  <td className="mono dl-break">{s.address}</td>
                  <td>
                    <Badge tone={s.reason === "manual" ? "muted" : "bad"}>{reasonLabel(s.reason)}</Badge>
                  </td>
                  <td className="dl-break">{s.detail ?? "—"}</td>
                  <td>{f.dateTime(s.createdAt)}</td>
                  <td>
                    <button className="btn small danger" onClick={() => remove(s)} data-testid="suppression-remove">
                      {t("remove")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
