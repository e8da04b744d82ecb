import { useState } from "react";
import { api, type Session } from "../../api";
import { useFormat, useT } from "../../i18n";
import { Badge, Empty, ErrorBox, Loading, Modal, useAsync } from "../../ui";

// The workspace's API keys: who can send events (write keys) and who can manage the workspace (admin keys).
// Secrets exist only at issue time; the list shows key ids, never secrets.

const L = {
  en: {
    title: "API keys",
    hint: "Write keys send events (Segment-compatible Tracking API, Basic auth); admin keys manage this workspace through the API and sign in to this console. A key's secret is shown once, when it is issued.",
    issueWrite: "Issue write key",
    issueAdmin: "Issue admin key",
    issuing: "Issuing…",
    showRevoked: "Show revoked keys",
    id: "Key ID",
    kind: "Type",
    created: "Created",
    status: "Status",
    write: "Write",
    admin: "Admin",
    instanceAdmin: "Instance admin",
    active: "Active",
    revokedAt: "Revoked {at}",
    thisSession: "This session",
    thisSessionHint: "You are signed in with this key. Revoke it from another admin key's session, or sign out and rotate it.",
    revoke: "Revoke",
    empty: "No keys to show",
    emptyHint: "Issue a write key to start sending events, or an admin key for a teammate or an integration.",
    newTitleWrite: "New write key",
    newTitleAdmin: "New admin key",
    onceWarning: "Copy this key now and store it somewhere safe. It will not be shown again — if it is lost, revoke it and issue a new one.",
    newKeyId: "Key ID (how the audit log names it): {id}",
    useWrite: "Send events with it as the Basic auth user name (empty password), e.g. from a Segment source or the HTTP Tracking API.",
    useAdmin: "Use it as 'Authorization: Bearer <key>' for the management API, or to sign in to this console.",
    copy: "Copy",
    copied: "Copied",
    done: "I have stored it",
    confirmTitle: "Revoke key {id}?",
    confirmWrite: "Events sent with this write key will be refused (401) from now on. Sources still using it stop delivering data.",
    confirmAdmin: "Calls with this admin key will be refused (401) from now on, and console sessions signed in with it end at once.",
    confirmIrreversible: "This cannot be undone.",
    cancel: "Cancel",
    confirmRevoke: "Revoke key",
    revoking: "Revoking…",
    noSession: "Sign in to manage keys here",
    noSessionHint: "Keys are managed in a console session signed in with an admin key. Without one, use GET/POST/DELETE /api/v1/workspaces/{name}/keys.",
  },
  zh: {
    title: "API 密钥",
    hint: "Write Key 用于上报事件（兼容 Segment Tracking API，Basic 认证）；Admin Key 用于通过 API 管理本工作区，也可用于登录本控制台。密钥明文只在创建时显示一次。",
    issueWrite: "创建 Write Key",
    issueAdmin: "创建 Admin Key",
    issuing: "创建中…",
    showRevoked: "显示已吊销的密钥",
    id: "密钥 ID",
    kind: "类型",
    created: "创建时间",
    status: "状态",
    write: "Write（上报）",
    admin: "Admin（管理）",
    instanceAdmin: "实例管理员",
    active: "生效中",
    revokedAt: "已于 {at} 吊销",
    thisSession: "当前会话",
    thisSessionHint: "你正在使用此密钥登录。如需吊销，请使用其他 Admin Key 登录后操作，或退出登录后轮换该密钥。",
    revoke: "吊销",
    empty: "暂无密钥",
    emptyHint: "创建一个 Write Key 即可开始上报事件；也可为同事或外部系统创建 Admin Key。",
    newTitleWrite: "新的 Write Key",
    newTitleAdmin: "新的 Admin Key",
    onceWarning: "请立即复制并妥善保存此密钥，关闭后将无法再次查看。如果遗失，请吊销后重新创建。",
    newKeyId: "密钥 ID（审计日志中的名称）：{id}",
    useWrite: "上报事件时将其作为 Basic 认证的用户名（密码留空），例如用于 Segment 数据源或 HTTP Tracking API。",
    useAdmin: "调用管理 API 时使用请求头 “Authorization: Bearer <密钥>”，也可用于登录本控制台。",
    copy: "复制",
    copied: "已复制",
    done: "我已保存",
    confirmTitle: "确定吊销密钥 {id}？",
    confirmWrite: "吊销后，使用此 Write Key 上报的事件将被拒绝（401），仍在使用它的数据源会停止上报数据。",
    confirmAdmin: "吊销后，使用此 Admin Key 的调用将被拒绝（401），使用它登录的控制台会话也会立即失效。",
    confirmIrreversible: "此操作无法撤销。",
    cancel: "取消",
    confirmRevoke: "确认吊销",
    revoking: "吊销中…",
    noSession: "请登录后在此管理密钥",
    noSessionHint: "密钥需在使用 Admin Key 登录的控制台会话中管理；也可直接调用 GET/POST/DELETE /api/v1/workspaces/{name}/keys。",
  },
};

export interface KeyView {
  keyId: string;
  kind: "write" | "admin";
  instanceAdmin: boolean;
  createdAt: string;
  revokedAt: string | null;
}

interface KeyIssued {
  workspace: string;
  kind: "write" | "admin";
  key: string;
  keyId: string;
}

export function KeysPanel() {
  const t = useT(L);
  const fmt = useFormat();
  const [showRevoked, setShowRevoked] = useState(true);
  // The workspace and key id of the current sign-in (null when it cannot be told, e.g. a dev proxy with a Bearer key).
  const session = useAsync((signal) => api.get<Session>("/api/v1/session", { signal }).catch(() => null), []);
  const workspace = session.data?.workspace;
  const keys = useAsync(
    (signal) =>
      workspace
        ? api.get<{ keys: KeyView[] }>(`/api/v1/workspaces/${encodeURIComponent(workspace)}/keys${showRevoked ? "" : "?revoked=false"}`, { signal })
        : Promise.resolve(null),
    [workspace, showRevoked],
  );
  const [issuing, setIssuing] = useState<"write" | "admin" | null>(null);
  const [issued, setIssued] = useState<KeyIssued | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [confirm, setConfirm] = useState<KeyView | null>(null);

  if (session.loading && !session.data) return <Loading />;
  if (!workspace)
    // No cookie session (the dev server's Bearer proxy): which key is "this session" cannot be told, so keys stay with the API.
    return (
      <section className="panel ky-panel" data-testid="keys-panel">
        <h2>{t("title")}</h2>
        <Empty title={t("noSession")} hint={t("noSessionHint")} />
      </section>
    );

  const issue = async (kind: "write" | "admin") => {
    setActionError(null);
    setIssuing(kind);
    try {
      const k = await api.post<KeyIssued>(`/api/v1/workspaces/${encodeURIComponent(workspace)}/keys`, { kind });
      setIssued(k);
      keys.reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setIssuing(null);
    }
  };

  const mine = session.data?.keyId;
  const list = keys.data?.keys ?? [];
  return (
    <section className="panel ky-panel" data-testid="keys-panel">
      <div className="row ky-head">
        <div className="ky-title">
          <h2>{t("title")}</h2>
          <p className="field-hint">{t("hint")}</p>
        </div>
        <span className="spacer" />
        <button className="btn" disabled={issuing !== null} onClick={() => void issue("write")} data-testid="key-issue-write">
          {issuing === "write" ? t("issuing") : t("issueWrite")}
        </button>
        <button className="btn" disabled={issuing !== null} onClick={() => void issue("admin")} data-testid="key-issue-admin">
          {issuing === "admin" ? t("issuing") : t("issueAdmin")}
        </button>
      </div>
      <label className="ky-filter">
        <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} data-testid="key-show-revoked" />
        {t("showRevoked")}
      </label>
      {actionError ? <ErrorBox error={actionError} /> : null}
      {keys.error && !keys.data ? (
        <ErrorBox error={keys.error} onRetry={keys.reload} />
      ) : !keys.data ? (
        <Loading />
      ) : list.length === 0 ? (
        <Empty title={t("empty")} hint={t("emptyHint")} />
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("id")}</th>
                <th>{t("kind")}</th>
                <th>{t("created")}</th>
                <th>{t("status")}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {list.map((k) => (
                <tr key={k.keyId} data-testid="key-row" data-key-id={k.keyId} className={k.revokedAt ? "ky-revoked" : undefined}>
                  <td>
                    <code className="mono">{k.keyId}</code>
                    {k.keyId === mine && (
                      <span className="ky-mine" title={t("thisSessionHint")} data-testid="key-this-session">
                        <Badge tone="info">{t("thisSession")}</Badge>
                      </span>
                    )}
                  </td>
                  <td>
                    {k.kind === "admin" ? t("admin") : t("write")}
                    {k.instanceAdmin && (
                      <span className="ky-mine">
                        <Badge tone="warn">{t("instanceAdmin")}</Badge>
                      </span>
                    )}
                  </td>
                  <td className="ky-when">{fmt.dateTime(k.createdAt)}</td>
                  <td data-testid="key-status">
                    {k.revokedAt ? <Badge tone="muted">{t("revokedAt", { at: fmt.dateTime(k.revokedAt) })}</Badge> : <Badge tone="ok">{t("active")}</Badge>}
                  </td>
                  <td className="ky-actions">
                    {!k.revokedAt && k.keyId !== mine && (
                      <button className="btn small danger" onClick={() => (setActionError(null), setConfirm(k))} data-testid="key-revoke">
                        {t("revoke")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {issued && <IssuedDialog issued={issued} onClose={() => setIssued(null)} />}
      {confirm && (
        <RevokeDialog
          workspace={workspace}
          keyView={confirm}
          onClose={() => setConfirm(null)}
          onRevoked={() => {
            setConfirm(null);
            keys.reload();
          }}
        />
      )}
    </section>
  );
}

function IssuedDialog({ issued, onClose }: { issued: KeyIssued; onClose: () => void }) {
  const t = useT(L);
  const [copied, setCopied] = useState(false);
  return (
    <Modal title={issued.kind === "admin" ? t("newTitleAdmin") : t("newTitleWrite")} onClose={onClose}>
      <div className="ky-dialog" data-testid="key-issued">
        <div className="ky-warning" role="alert">
          {t("onceWarning")}
        </div>
        <div className="row ky-secret-row">
          <code className="mono ky-secret" data-testid="key-secret">
            {issued.key}
          </code>
          <button
            type="button"
            className="btn small"
            data-testid="key-copy"
            onClick={() =>
              void navigator.clipboard?.writeText(issued.key).then(() => {
                setCopied(true);
                setTimeout(() => setCopied(false), 1500);
              })
            }
          >
            {copied ? t("copied") : t("copy")}
          </button>
        </div>
        <p className="field-hint" data-testid="key-issued-id" data-key-id={issued.keyId}>
          {t("newKeyId", { id: issued.keyId })}
        </p>
        <p className="field-hint">{issued.kind === "admin" ? t("useAdmin") : t("useWrite")}</p>
        <div className="row">
          <span className="spacer" />
          <button className="btn primary" onClick={onClose} data-testid="key-issued-close">
            {t("done")}
          </button>
        </div>
      </div>
    </Modal>
  );
}

function RevokeDialog({ workspace, keyView, onClose, onRevoked }: { workspace: string; keyView: KeyView; onClose: () => void; onRevoked: () => void }) {
  const t = useT(L);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const revoke = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.del<KeyView>(`/api/v1/workspaces/${encodeURIComponent(workspace)}/keys/${encodeURIComponent(keyView.keyId)}`);
      onRevoked();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal title={t("confirmTitle", { id: keyView.keyId })} onClose={onClose}>
      <div className="ky-dialog">
        <p>{keyView.kind === "admin" ? t("confirmAdmin") : t("confirmWrite")}</p>
        <p>
          <strong>{t("confirmIrreversible")}</strong>
        </p>
        {error ? <ErrorBox error={error} /> : null}
        <div className="row">
          <span className="spacer" />
          <button className="btn ghost" onClick={onClose}>
            {t("cancel")}
          </button>
          <button className="btn danger" disabled={busy} onClick={() => void revoke()} data-testid="key-revoke-confirm">
            {busy ? t("revoking") : t("confirmRevoke")}
          </button>
        </div>
      </div>
    </Modal>
  );
}
