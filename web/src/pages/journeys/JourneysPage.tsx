import { useState } from "react";
import { api, ApiError } from "../../api";
import { useFormat, useT } from "../../i18n";
import { linkProps, navigate } from "../../router";
import { Badge, Empty, ErrorBox, Field, Loading, Modal, PageHeader, useAsync } from "../../ui";
import { L } from "./strings";
import { newTrigger, TRIGGER_TYPES, type JourneyStats, type JourneySummary, type JourneyView, type SegmentItem } from "./model";

export function statusTone(status: string): "ok" | "warn" | "bad" | "info" | "muted" {
  return status === "published" ? "ok" : status === "paused" ? "warn" : status === "pending_approval" ? "info" : status === "archived" ? "muted" : "muted";
}

export function StatusBadge({ status }: { status: string }) {
  const t = useT(L);
  return (
    <span data-testid="journey-status" data-status={status}>
      <Badge tone={statusTone(status)}>{t(`status_${status}` as "status_draft")}</Badge>
    </span>
  );
}

export function JourneysPage() {
  const t = useT(L);
  const f = useFormat();
  const [creating, setCreating] = useState(false);
  const list = useAsync(async (signal) => {
    const { journeys } = await api.get<{ journeys: JourneySummary[] }>("/api/v1/journeys", { signal });
    const stats = await Promise.all(
      journeys.map((j) => api.get<JourneyStats>(`/api/v1/journeys/${encodeURIComponent(j.id)}/stats`, { signal }).catch(() => null)),
    );
    return journeys.map((j, i) => ({ journey: j, stats: stats[i] }));
  }, []);

  const newButton = (
    <button className="btn primary" data-testid="new-journey" onClick={() => setCreating(true)}>
      + {t("newJourney")}
    </button>
  );

  return (
    <div>
      <PageHeader title={t("title")} subtitle={t("subtitle")} actions={list.data && list.data.length > 0 ? newButton : undefined} />
      {list.error ? <ErrorBox error={list.error} onRetry={list.reload} /> : null}
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.length === 0 && <Empty title={t("emptyTitle")} hint={t("emptyHint")} action={newButton} />}
      {list.data && list.data.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t("colName")}</th>
                <th>{t("colId")}</th>
                <th>{t("colStatus")}</th>
                <th>{t("colTrigger")}</th>
                <th>{t("colLive")}</th>
                <th className="num">{t("colEntered")}</th>
                <th className="num">{t("colActive")}</th>
                <th className="num">{t("colConverted")}</th>
                <th className="num">{t("colRate")}</th>
                <th>{t("colUpdated")}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map(({ journey: j, stats }) => (
                <tr key={j.id} className="clickable" data-testid="journey-row" data-id={j.id} onClick={() => navigate(`/journeys/${encodeURIComponent(j.id)}`)}>
                  <td>
                    <a {...linkProps(`/journeys/${encodeURIComponent(j.id)}`)} onClick={(e) => e.preventDefault()}>
                      <strong>{j.name}</strong>
                    </a>
                  </td>
                  <td className="mono">{j.id}</td>
                  <td>
                    <StatusBadge status={j.status} />
                    {j.pendingVersion !== null && j.status !== "pending_approval" && (
                      <>
                        {" "}
                        <Badge tone="info">{t("status_pending_approval")}</Badge>
                      </>
                    )}
                  </td>
                  <td>{t(`trigger_${j.trigger}` as "trigger_event")}</td>
                  <td>{j.liveVersion === null ? "—" : `v${j.liveVersion}`}{j.latestVersion !== j.liveVersion && <span className="muted"> · {t("latest")} v{j.latestVersion}</span>}</td>
                  <td className="num">{f.number(stats?.entered)}</td>
                  <td className="num">{f.number(stats?.active)}</td>
                  <td className="num">{f.number(stats?.converted)}</td>
                  <td className="num">{stats ? f.percent(stats.conversionRate) : "—"}</td>
                  <td>{f.dateTime(j.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {creating && <NewJourney onClose={() => setCreating(false)} />}
    </div>
  );
}

function NewJourney({ onClose }: { onClose: () => void }) {
  const t = useT(L);
  const [id, setId] = useState("");
  const [name, setName] = useState("");
  const [type, setType] = useState<string>("event");
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const segments = useAsync((signal) => api.get<{ segments: SegmentItem[] }>("/api/v1/segments", { signal }).then((r) => r.segments), []);
  const needs = type === "event" ? "triggerEvent" : type === "date_trait" ? "triggerTrait" : type === "api" ? null : "triggerSegment";
  const ok = name.trim() !== "" && (needs === null || value.trim() !== "");

  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      const definition = { schema: 1, name: name.trim(), trigger: newTrigger(type, value.trim()), steps: [{ id: "end", type: "exit" }] };
      const created = await api.post<JourneyView>("/api/v1/journeys", { ...(id.trim() ? { id: id.trim() } : {}), definition });
      navigate(`/journeys/${encodeURIComponent(created.id)}`);
    } catch (e) {
      setError(e instanceof ApiError ? e : new Error(String(e)));
      setBusy(false);
    }
  };

  return (
    <Modal title={t("newJourney")} onClose={onClose}>
      <p className="muted">{t("emptyHint")}</p>
      <Field label={t("nameLabel")}>
        <input data-testid="new-journey-name" value={name} autoFocus placeholder="Abandoned cart" onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label={t("idLabel")} hint={t("idHint")}>
        <input data-testid="new-journey-id" value={id} placeholder="abandoned-cart" onChange={(e) => setId(e.target.value.toLowerCase())} />
      </Field>
      <Field label={t("triggerType")}>
        <select data-testid="new-journey-trigger" value={type} onChange={(e) => {
          setType(e.target.value);
          setValue("");
        }}>
          {TRIGGER_TYPES.map((x) => (
            <option key={x} value={x}>
              {t(`trigger_${x}` as "trigger_event")}
            </option>
          ))}
        </select>
      </Field>
      {needs === "triggerSegment" ? (
        <Field label={t("triggerSegment")} hint={segments.data && segments.data.length === 0 ? t("noSegments") : undefined}>
          <select data-testid="new-journey-trigger-value" value={value} onChange={(e) => setValue(e.target.value)}>
            <option value="">{t("chooseSegment")}</option>
            {(segments.data ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name && s.name !== s.id ? `${s.name} (${s.id})` : s.id}
              </option>
            ))}
          </select>
        </Field>
      ) : needs ? (
        <Field label={t(needs)}>
          <input data-testid="new-journey-trigger-value" value={value} placeholder={type === "event" ? "Product Added" : "trial_end"} onChange={(e) => setValue(e.target.value)} />
        </Field>
      ) : null}
      {error ? <ErrorBox error={error} /> : null}
      <div className="row" style={{ justifyContent: "flex-end" }}>
        <button className="btn ghost" onClick={onClose}>
          {t("cancel")}
        </button>
        <button className="btn primary" data-testid="new-journey-create" disabled={!ok || busy} onClick={create}>
          {t("create")}
        </button>
      </div>
    </Modal>
  );
}
