import { useEffect, useState, type ReactNode } from "react";
import { useT } from "../../i18n";
import { Field } from "../../ui";
import { L } from "./strings";
import { useDuration } from "./nodes";
import { CHANNELS, links, setLink, TRIGGER_TYPES, type Definition, type Json, type JsonObject, type SegmentItem, type Step, type TemplateItem } from "./model";

// The side panel's forms: one per step type covering every key of the definition format, a raw JSON editor for any
// step, and the trigger form (trigger, entry filter, re-entry, cap, goal, exits, time zone).

type T = ReturnType<typeof useT<typeof L.en>>;

export interface Catalogs {
  templates: TemplateItem[];
  segments: SegmentItem[];
}

function o(v: Json | undefined): JsonObject {
  return v && typeof v === "object" && !Array.isArray(v) ? v : {};
}

function list(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

function str(v: Json | undefined): string {
  return typeof v === "string" ? v : "";
}

/** Sets (or, for "" / undefined, removes) a key of an object, answering a copy. */
function put<O extends JsonObject>(obj: O, key: string, value: Json | undefined): O {
  const copy = { ...obj } as JsonObject;
  if (value === undefined || value === "") delete copy[key];
  else copy[key] = value;
  return copy as O;
}

function csv(v: Json | undefined): string {
  return list(v).map(String).join(", ");
}

function fromCsv(text: string): string[] {
  return text
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
}

export function Text({
  name,
  label,
  hint,
  value,
  onChange,
  readOnly,
  placeholder,
}: {
  name: string;
  label: ReactNode;
  hint?: ReactNode;
  value: string;
  onChange: (v: string) => void;
  readOnly?: boolean;
  placeholder?: string;
}) {
  return (
    <Field label={label} hint={hint}>
      <input data-testid={`field-${name}`} value={value} readOnly={readOnly} placeholder={placeholder} onChange={(e) => onChange(e.target.value)} />
    </Field>
  );
}

function DurationText({ name, label, value, onChange, readOnly, allowNegative }: {
  name: string;
  label: ReactNode;
  value: string;
  onChange: (v: string) => void;
  readOnly?: boolean;
  allowNegative?: boolean;
}) {
  const t = useT(L);
  const d = useDuration();
  const shown = value ? (allowNegative ? d.offset(value) || d.human(value) : d.human(value)) : "";
  return (
    <Text
      name={name}
      label={label}
      value={value}
      onChange={onChange}
      readOnly={readOnly}
      placeholder="PT30M"
      hint={
        <>
          {allowNegative ? t("offsetHint") : t("durationHint")}
          {shown && value && <strong className="jn-human"> = {shown}</strong>}
        </>
      }
    />
  );
}

/** A JSON value edited as text; applied when it parses (the error is shown until it does). */
export function JsonText({ name, label, hint, value, onChange, readOnly, rows = 3 }: {
  name: string;
  label: ReactNode;
  hint?: ReactNode;
  value: Json | undefined;
  onChange: (v: Json | undefined) => void;
  readOnly?: boolean;
  rows?: number;
}) {
  const t = useT(L);
  const serialized = value === undefined ? "" : JSON.stringify(value, null, 1).replace(/\n\s*/g, " ");
  const [text, setText] = useState(serialized);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setText((current) => {
      try {
        if (current.trim() && JSON.stringify(JSON.parse(current)) === JSON.stringify(value)) return current;
      } catch {
        /* replaced below */
      }
      return serialized;
    });
    setError(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [serialized]);
  return (
    <Field label={label} hint={error ? <span className="jn-bad">{t("invalidJson", { e: error })}</span> : hint}>
      <textarea
        className="mono"
        data-testid={`field-${name}`}
        rows={rows}
        style={{ minHeight: 0 }}
        value={text}
        readOnly={readOnly}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) {
            setError(null);
            onChange(undefined);
            return;
          }
          try {
            const parsed = JSON.parse(e.target.value) as Json;
            setError(null);
            onChange(parsed);
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      />
    </Field>
  );
}

function Select({ name, label, hint, value, options, onChange, readOnly }: {
  name: string;
  label: ReactNode;
  hint?: ReactNode;
  value: string;
  options: { value: string; label: string }[];
  onChange: (v: string) => void;
  readOnly?: boolean;
}) {
  return (
    <Field label={label} hint={hint}>
      <select data-testid={`field-${name}`} value={value} disabled={readOnly} onChange={(e) => onChange(e.target.value)}>
        {options.map((opt) => (
          <option key={opt.value} value={opt.value}>
            {opt.label}
          </option>
        ))}
      </select>
    </Field>
  );
}

function SegmentPicker({ name, label, value, onChange, readOnly, segments, allowEmpty }: {
  name: string;
  label: ReactNode;
  value: string;
  onChange: (v: string) => void;
  readOnly?: boolean;
  segments: SegmentItem[];
  allowEmpty?: boolean;
}) {
  const t = useT(L);
  const known = segments.some((s) => s.id === value);
  return (
    <Field label={label} hint={segments.length === 0 ? t("noSegments") : undefined}>
      <select data-testid={`field-${name}`} value={value} disabled={readOnly} onChange={(e) => onChange(e.target.value)}>
        <option value="">{allowEmpty ? "—" : t("chooseSegment")}</option>
        {!known && value && <option value={value}>{value}</option>}
        {segments.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name && s.name !== s.id ? `${s.name} (${s.id})` : s.id}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** An event name with its `where` filters and optional `match` key (triggers, waits for events, goals, exits). */
function EventFields({ prefix, value, onChange, readOnly, withMatch }: {
  prefix: string;
  value: JsonObject;
  onChange: (v: JsonObject) => void;
  readOnly?: boolean;
  withMatch?: boolean;
}) {
  const t = useT(L);
  return (
    <>
      <Text name={`${prefix}event`} label={t("event")} value={str(value.event)} readOnly={readOnly} placeholder="Order Completed"
        onChange={(v) => onChange({ ...value, event: v })} />
      <JsonText name={`${prefix}where`} label={t("where")} hint={t("whereHint")} value={value.where} readOnly={readOnly}
        onChange={(v) => onChange(put(value, "where", v))} />
      {withMatch && (
        <Text name={`${prefix}match`} label={t("match")} hint={t("matchHint")} value={str(value.match)} readOnly={readOnly}
          onChange={(v) => onChange(put(value, "match", v))} />
      )}
    </>
  );
}

/** A condition: {profile: rule, entry: filters} with a segment shortcut. */
function ConditionFields({ prefix, value, onChange, readOnly, segments }: {
  prefix: string;
  value: JsonObject;
  onChange: (v: JsonObject) => void;
  readOnly?: boolean;
  segments: SegmentItem[];
}) {
  const t = useT(L);
  const member = str(o(value.profile).member_of);
  return (
    <>
      <SegmentPicker name={`${prefix}segment`} label={t("inSegment")} value={Object.keys(o(value.profile)).length === 1 ? member : ""}
        segments={segments} readOnly={readOnly} allowEmpty
        onChange={(v) => onChange(put(value, "profile", v ? { member_of: v } : undefined))} />
      <JsonText name={`${prefix}profile`} label={t("profileRule")} value={value.profile} readOnly={readOnly}
        onChange={(v) => onChange(put(value, "profile", v))} />
      <JsonText name={`${prefix}entry`} label={t("entryFilters")} hint={t("whereHint")} value={value.entry} readOnly={readOnly}
        onChange={(v) => onChange(put(value, "entry", v))} />
    </>
  );
}

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export function StepForm({ step, onChange, readOnly, catalogs }: {
  step: Step;
  onChange: (s: Step) => void;
  readOnly: boolean;
  catalogs: Catalogs;
}) {
  const t = useT(L);
  const set = (key: string, value: Json | undefined) => onChange(put(step, key, value));
  switch (step.type) {
    case "wait": {
      const mode = step.until_time !== undefined ? "until_time" : step.until_trait !== undefined ? "until_trait" : "duration";
      const switchMode = (m: string) => {
        const base: Step = { id: step.id, type: step.type };
        if (step.next !== undefined) base.next = step.next;
        if (m === "duration") onChange({ ...base, duration: "PT1H" });
        else if (m === "until_time") onChange({ ...base, until_time: "10:00" });
        else onChange({ ...base, until_trait: "", at: "10:00" });
      };
      return (
        <>
          <Select name="wait-mode" label={t("waitMode")} value={mode} readOnly={readOnly} onChange={switchMode}
            options={["duration", "until_time", "until_trait"].map((m) => ({ value: m, label: t(`mode_${m}` as "mode_duration") }))} />
          {mode === "duration" && <DurationText name="duration" label={t("duration")} value={str(step.duration)} readOnly={readOnly} onChange={(v) => set("duration", v)} />}
          {mode === "until_time" && (
            <>
              <Text name="until_time" label={t("untilTime")} hint={t("timeHint")} value={str(step.until_time)} readOnly={readOnly} placeholder="10:00"
                onChange={(v) => set("until_time", v)} />
              <Field label={t("days")}>
                <div className="row" data-testid="field-days">
                  {DAYS.map((day) => {
                    const days = list(step.days).map(String);
                    return (
                      <label key={day} className="jn-check">
                        <input type="checkbox" disabled={readOnly} checked={days.includes(day)}
                          onChange={(e) => {
                            const next = e.target.checked ? DAYS.filter((x) => x === day || days.includes(x)) : days.filter((x) => x !== day);
                            set("days", next.length ? next : undefined);
                          }} />
                        {day}
                      </label>
                    );
                  })}
                </div>
              </Field>
            </>
          )}
          {mode === "until_trait" && (
            <>
              <Text name="until_trait" label={t("trait")} value={str(step.until_trait)} readOnly={readOnly} placeholder="trial_end" onChange={(v) => set("until_trait", v)} />
              <DurationText name="offset" label={t("offset")} value={str(step.offset)} readOnly={readOnly} allowNegative onChange={(v) => set("offset", v)} />
              <Text name="at" label={t("at")} hint={t("timeHint")} value={str(step.at)} readOnly={readOnly} placeholder="10:00" onChange={(v) => set("at", v)} />
            </>
          )}
        </>
      );
    }
    case "wait_for_event":
      return (
        <>
          <EventFields prefix="" value={step} readOnly={readOnly} withMatch onChange={(v) => onChange(v as Step)} />
          <DurationText name="timeout" label={t("timeout")} value={str(step.timeout)} readOnly={readOnly} onChange={(v) => set("timeout", v)} />
        </>
      );
    case "branch": {
      const arms = list(step.branches).map(o);
      const setArms = (next: JsonObject[]) => set("branches", next);
      return (
        <>
          <h4 className="jn-sub">{t("arms")}</h4>
          {arms.map((arm, i) => (
            <fieldset key={i} className="jn-fieldset">
              <legend>
                {t("arm", { n: i + 1 })}
                {!readOnly && arms.length > 1 && (
                  <button className="btn small ghost" onClick={() => setArms(arms.filter((_, j) => j !== i))}>
                    {t("remove")}
                  </button>
                )}
              </legend>
              <ConditionFields prefix={`arm${i + 1}-`} value={o(arm.when)} readOnly={readOnly} segments={catalogs.segments}
                onChange={(when) => setArms(arms.map((a, j) => (j === i ? { ...a, when } : a)))} />
            </fieldset>
          ))}
          {!readOnly && (
            <button className="btn small" data-testid="add-arm" onClick={() => setArms([...arms, { when: { profile: { tag: "vip" } } }])}>
              + {t("addArm")}
            </button>
          )}
        </>
      );
    }
    case "split": {
      const variants = list(step.variants).map(o);
      const holdout = step.holdout ? o(step.holdout) : null;
      const setVariants = (next: JsonObject[]) => set("variants", next);
      return (
        <>
          <h4 className="jn-sub">{t("variants")}</h4>
          {variants.map((v, i) => (
            <div key={i} className="row jn-variant">
              <input aria-label={t("variantName")} data-testid={`field-variant${i + 1}-name`} value={str(v.name)} readOnly={readOnly}
                onChange={(e) => setVariants(variants.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} />
              <input aria-label={t("weight")} type="number" min={1} max={10000} data-testid={`field-variant${i + 1}-weight`} value={String(v.weight ?? "")}
                readOnly={readOnly} style={{ width: 80 }}
                onChange={(e) => setVariants(variants.map((x, j) => (j === i ? { ...x, weight: Number(e.target.value) } : x)))} />
              {!readOnly && variants.length > 1 && (
                <button className="btn small ghost" onClick={() => setVariants(variants.filter((_, j) => j !== i))}>
                  {t("remove")}
                </button>
              )}
            </div>
          ))}
          {!readOnly && (
            <button className="btn small" data-testid="add-variant"
              onClick={() => setVariants([...variants, { name: String.fromCharCode(65 + variants.length), weight: 50 }])}>
              + {t("addVariant")}
            </button>
          )}
          <Field label={t("holdoutWeight")}>
            <input type="number" min={1} max={10000} data-testid="field-holdout" value={holdout ? String(holdout.weight ?? "") : ""} readOnly={readOnly}
              onChange={(e) => set("holdout", e.target.value ? { ...(holdout ?? {}), weight: Number(e.target.value) } : undefined)} />
          </Field>
        </>
      );
    }
    case "send": {
      const channels = step.channel !== undefined ? [str(step.channel)] : list(step.channels).map(String);
      const setChannels = (next: string[]) => {
        const copy = put(step, "channel", undefined);
        onChange(put(copy, "channels", next));
      };
      const known = catalogs.templates.some((x) => x.id === step.template);
      const fallback = step.fallback ? o(step.fallback) : null;
      const digest = step.digest ? o(step.digest) : null;
      return (
        <>
          <Field label={t("template")} hint={t("templateHint")}>
            <select data-testid="field-template" value={str(step.template)} disabled={readOnly} onChange={(e) => onChange({ ...step, template: e.target.value })}>
              <option value="">{t("chooseTemplate")}</option>
              {!known && str(step.template) && <option value={str(step.template)}>{str(step.template)}</option>}
              {catalogs.templates.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.id}
                </option>
              ))}
            </select>
          </Field>
          <Field label={t("channels")} hint={t("channelsHint")}>
            <div className="jn-channels" data-testid="field-channels">
              {channels.map((c, i) => (
                <span key={c} className="jn-chip" data-testid={`channel-${c}`}>
                  {i + 1}. {c}
                  {!readOnly && (
                    <>
                      {i > 0 && (
                        <button className="jn-chip-btn" title="↑" onClick={() => setChannels(channels.map((x, j) => (j === i - 1 ? c : j === i ? channels[i - 1] : x)))}>
                          ↑
                        </button>
                      )}
                      {channels.length > 1 && (
                        <button className="jn-chip-btn" title={t("remove")} onClick={() => setChannels(channels.filter((x) => x !== c))}>
                          ×
                        </button>
                      )}
                    </>
                  )}
                </span>
              ))}
              {!readOnly && (
                <select data-testid="field-add-channel" value="" onChange={(e) => e.target.value && setChannels([...channels, e.target.value])}>
                  <option value="">+</option>
                  {CHANNELS.filter((c) => !channels.includes(c)).map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              )}
            </div>
          </Field>
          <Text name="category" label={t("category")} hint={t("categoryHint")} value={str(step.category)} placeholder="marketing" readOnly={readOnly}
            onChange={(v) => set("category", v)} />
          <div className="grid cols-2 jn-tight">
            <Text name="dedup_key" label={t("dedupKey")} value={str(step.dedup_key)} readOnly={readOnly} placeholder={t("optional")} onChange={(v) => set("dedup_key", v)} />
            <Text name="dedup_window" label={t("dedupWindow")} value={str(step.dedup_window)} readOnly={readOnly} placeholder="P1D" onChange={(v) => set("dedup_window", v)} />
            <Text name="digest_key" label={t("digestKey")} value={str(digest?.key)} readOnly={readOnly} placeholder={t("optional")}
              onChange={(v) => set("digest", v ? { ...(digest ?? {}), key: v } : undefined)} />
            <Text name="digest_window" label={t("digestWindow")} value={str(digest?.window)} readOnly={readOnly || !digest} placeholder="PT1H"
              onChange={(v) => digest && set("digest", put(digest, "window", v))} />
            <Text name="expires_after" label={t("expiresAfter")} value={str(step.expires_after)} readOnly={readOnly} placeholder="P1D" onChange={(v) => set("expires_after", v)} />
            <Text name="fallback_after" label={t("fallbackAfter")} value={str(fallback?.after)} readOnly={readOnly || channels.length < 2} placeholder="PT1H"
              onChange={(v) => set("fallback", v ? { ...(fallback ?? {}), after: v } : undefined)} />
          </div>
          {fallback && (
            <Select name="fallback_until" label={t("fallbackUntil")} value={str(fallback.until) || "delivered"} readOnly={readOnly}
              options={["delivered", "read"].map((x) => ({ value: x, label: t(`fb_${x}` as "fb_read") }))}
              onChange={(v) => set("fallback", { ...fallback, until: v })} />
          )}
        </>
      );
    }
    case "update_profile":
      return (
        <>
          <JsonText name="set" label={t("set")} value={step.set} readOnly={readOnly} onChange={(v) => set("set", v)} />
          <Text name="unset" label={t("unset")} value={csv(step.unset)} readOnly={readOnly} onChange={(v) => set("unset", fromCsv(v).length ? fromCsv(v) : undefined)} />
          <Text name="add_tags" label={t("addTags")} value={csv(step.add_tags)} readOnly={readOnly} onChange={(v) => set("add_tags", fromCsv(v).length ? fromCsv(v) : undefined)} />
          <Text name="remove_tags" label={t("removeTags")} value={csv(step.remove_tags)} readOnly={readOnly}
            onChange={(v) => set("remove_tags", fromCsv(v).length ? fromCsv(v) : undefined)} />
        </>
      );
    case "webhook":
      return (
        <>
          <Text name="url" label={t("url")} value={str(step.url)} readOnly={readOnly} placeholder="https://crm.example.com/hook" onChange={(v) => set("url", v)} />
          <Select name="method" label={t("method")} value={str(step.method) || "POST"} readOnly={readOnly}
            options={["POST", "PUT", "PATCH"].map((m) => ({ value: m, label: m }))} onChange={(v) => set("method", v)} />
          <JsonText name="headers" label={t("headers")} value={step.headers} readOnly={readOnly} onChange={(v) => set("headers", v)} />
          <JsonText name="body" label={t("body")} value={step.body} readOnly={readOnly} rows={4} onChange={(v) => set("body", v)} />
        </>
      );
    case "task":
      return (
        <>
          <Text name="title" label={t("taskTitle")} value={str(step.title)} readOnly={readOnly} onChange={(v) => set("title", v)} />
          <Field label={t("note")}>
            <textarea data-testid="field-note" rows={2} style={{ minHeight: 0 }} value={str(step.note)} readOnly={readOnly} onChange={(e) => set("note", e.target.value)} />
          </Field>
          <Text name="assignee_trait" label={t("assigneeTrait")} hint={t("assigneeHint")} value={str(step.assignee_trait)} readOnly={readOnly}
            onChange={(v) => set("assignee_trait", v)} />
          <Text name="queue" label={t("queue")} hint={t("queueHint")} value={str(step.queue)} readOnly={readOnly} onChange={(v) => set("queue", v)} />
          <DurationText name="due_in" label={t("dueIn")} value={str(step.due_in)} readOnly={readOnly} onChange={(v) => set("due_in", v)} />
        </>
      );
    case "exit":
      return <p className="muted">{t("exitNote")}</p>;
    default:
      return null;
  }
}

/** The outgoing connections of a step as selects (the same as dragging an edge on the canvas). */
export function LinkFields({ step, def, onChange, readOnly }: { step: Step; def: Definition; onChange: (s: Step) => void; readOnly: boolean }) {
  const t = useT(L);
  const ls = links(step);
  if (ls.length === 0) return null;
  const others = def.steps.filter((s) => s.id !== step.id);
  const label = (outcome: string, l: string | null) =>
    outcome === "next" ? "→" : outcome === "event" ? t("event") : outcome === "timeout" ? t("timeout") : outcome === "holdout" ? t("s_holdout") : l ?? outcome;
  return (
    <>
      <h4 className="jn-sub">{t("links")}</h4>
      {ls.map((l) => (
        <div key={l.outcome} className="jn-link-row">
          <span className="jn-link-label">{label(l.outcome, l.label)}</span>
          <select data-testid={`link-${l.outcome}`} value={l.target ?? ""} disabled={readOnly}
            onChange={(e) => onChange(setLink(step, l.outcome, e.target.value || null))}>
            <option value="">{t("notConnected")}</option>
            {l.target && !others.some((s) => s.id === l.target) && <option value={l.target}>{l.target} (?)</option>}
            {others.map((s) => (
              <option key={s.id} value={s.id}>
                {s.id}
              </option>
            ))}
          </select>
        </div>
      ))}
    </>
  );
}

export function RawStep({ step, onApply, readOnly }: { step: Step; onApply: (s: Step) => void; readOnly: boolean }) {
  const t = useT(L);
  const [text, setText] = useState(JSON.stringify(step, null, 2));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setText(JSON.stringify(step, null, 2));
    setError(null);
  }, [step]);
  return (
    <details className="jn-raw">
      <summary>{t("rawJson")}</summary>
      <p className="field-hint">{t("rawHint")}</p>
      <textarea className="mono" data-testid="raw-step" rows={10} value={text} readOnly={readOnly} onChange={(e) => setText(e.target.value)} />
      {error && <div className="jn-bad">{t("invalidJson", { e: error })}</div>}
      {!readOnly && (
        <button
          className="btn small"
          data-testid="raw-apply"
          onClick={() => {
            try {
              const parsed = JSON.parse(text) as Step;
              if (!parsed || typeof parsed !== "object" || Array.isArray(parsed) || typeof parsed.id !== "string" || typeof parsed.type !== "string")
                throw new Error("a step is an object with \"id\" and \"type\"");
              setError(null);
              onApply(parsed);
            } catch (e) {
              setError((e as Error).message);
            }
          }}
        >
          {t("apply")}
        </button>
      )}
    </details>
  );
}

// ---- the trigger node: how people enter, the goal, exits ---------------------------------------------------------

export function TriggerForm({ def, onChange, readOnly, catalogs }: {
  def: Definition;
  onChange: (d: Definition) => void;
  readOnly: boolean;
  catalogs: Catalogs;
}) {
  const t = useT(L);
  const trigger = def.trigger ?? { type: "api" };
  const setTrigger = (next: JsonObject) => onChange({ ...def, trigger: next });
  const setDef = (key: string, value: Json | undefined) => onChange(put(def, key, value) as Definition);
  const reEntry = o(def.re_entry);
  const policy = str(reEntry.policy) || "not_while_active";
  const goal = def.goal ? o(def.goal) : null;
  const exits = list(def.exit).map(o);
  const setExits = (next: JsonObject[]) => setDef("exit", next.length ? next : undefined);
  const type = str(trigger.type);
  return (
    <>
      <Text name="name" label={t("journeyName")} value={str(def.name)} readOnly={readOnly} onChange={(v) => onChange({ ...def, name: v })} />
      <Field label={t("description")}>
        <textarea data-testid="field-description" rows={2} style={{ minHeight: 0 }} value={str(def.description)} readOnly={readOnly}
          onChange={(e) => setDef("description", e.target.value)} />
      </Field>

      <h4 className="jn-sub">{t("trigger")}</h4>
      <Select name="trigger-type" label={t("triggerType")} value={type} readOnly={readOnly}
        options={TRIGGER_TYPES.map((x) => ({ value: x, label: t(`trigger_${x}` as "trigger_event") }))}
        onChange={(v) => setTrigger(v === "broadcast" ? { type: v, segment: "", at: "" } : { type: v })} />
      {type === "event" && <EventFields prefix="trigger-" value={trigger} readOnly={readOnly} onChange={setTrigger} />}
      {(type === "segment_entered" || type === "segment_exited") && (
        <SegmentPicker name="trigger-segment" label={t("segment")} value={str(trigger.segment)} segments={catalogs.segments} readOnly={readOnly}
          onChange={(v) => setTrigger({ ...trigger, segment: v })} />
      )}
      {type === "date_trait" && (
        <>
          <Text name="trigger-trait" label={t("trait")} value={str(trigger.trait)} placeholder="trial_end" readOnly={readOnly} onChange={(v) => setTrigger({ ...trigger, trait: v })} />
          <DurationText name="trigger-offset" label={t("offset")} value={str(trigger.offset)} allowNegative readOnly={readOnly} onChange={(v) => setTrigger(put(trigger, "offset", v))} />
          <Text name="trigger-at" label={t("at")} hint={t("timeHint")} value={str(trigger.at)} placeholder="10:00" readOnly={readOnly} onChange={(v) => setTrigger(put(trigger, "at", v))} />
        </>
      )}
      {type === "broadcast" && (
        <>
          <SegmentPicker name="trigger-segment" label={t("segment")} value={str(trigger.segment)} segments={catalogs.segments} readOnly={readOnly}
            onChange={(v) => setTrigger({ ...trigger, segment: v })} />
          <Select name="trigger-when" label={t("broadcastWhen")} value={trigger.cron !== undefined ? "cron" : "at"} readOnly={readOnly}
            options={[{ value: "at", label: t("once") }, { value: "cron", label: t("repeating") }]}
            onChange={(v) => {
              const base = put(put(trigger, "at", undefined), "cron", undefined);
              setTrigger(v === "cron" ? { ...base, cron: "0 10 * * 1" } : { ...base, at: "" });
            }} />
          {trigger.cron !== undefined ? (
            <Text name="trigger-cron" label={t("cron")} value={str(trigger.cron)} placeholder="0 10 * * 1" readOnly={readOnly} onChange={(v) => setTrigger({ ...trigger, cron: v })} />
          ) : (
            <Text name="trigger-at" label={t("broadcastAt")} value={str(trigger.at)} placeholder="2026-12-01T10:00" readOnly={readOnly} onChange={(v) => setTrigger({ ...trigger, at: v })} />
          )}
          <Text name="trigger-time_zone" label={t("triggerZone")} value={str(trigger.time_zone)} placeholder="Asia/Shanghai" readOnly={readOnly}
            onChange={(v) => setTrigger(put(trigger, "time_zone", v))} />
        </>
      )}

      <h4 className="jn-sub">{t("entryFilter")}</h4>
      <p className="field-hint">{t("entryFilterHint")}</p>
      <ConditionFields prefix="filter-" value={o(def.entry_filter)} readOnly={readOnly} segments={catalogs.segments}
        onChange={(v) => setDef("entry_filter", Object.keys(v).length ? v : undefined)} />

      <h4 className="jn-sub">{t("reEntry")}</h4>
      <Select name="re_entry" label={t("reEntry")} value={policy} readOnly={readOnly}
        options={["once", "not_while_active", "after_cooldown"].map((x) => ({ value: x, label: t(`re_${x}` as "re_once") }))}
        onChange={(v) => setDef("re_entry", v === "after_cooldown" ? { policy: v, cooldown: "P7D" } : v === "not_while_active" ? undefined : { policy: v })} />
      {policy === "after_cooldown" && (
        <DurationText name="cooldown" label={t("cooldown")} value={str(reEntry.cooldown)} readOnly={readOnly} onChange={(v) => setDef("re_entry", { ...reEntry, cooldown: v })} />
      )}
      <Field label={t("entryCap")}>
        <input type="number" min={1} data-testid="field-entry_cap" value={def.entry_cap === undefined ? "" : String(def.entry_cap)} readOnly={readOnly}
          onChange={(e) => setDef("entry_cap", e.target.value ? Number(e.target.value) : undefined)} />
      </Field>

      <h4 className="jn-sub">{t("goal")}</h4>
      <label className="jn-check">
        <input type="checkbox" data-testid="field-goal-on" checked={!!goal} disabled={readOnly}
          onChange={(e) => setDef("goal", e.target.checked ? { event: "", within: "P7D" } : undefined)} />
        {t("goalOn")}
      </label>
      {goal && (
        <>
          <EventFields prefix="goal-" value={goal} readOnly={readOnly} withMatch onChange={(v) => setDef("goal", v)} />
          <DurationText name="goal-within" label={t("within")} value={str(goal.within)} readOnly={readOnly} onChange={(v) => setDef("goal", { ...goal, within: v })} />
        </>
      )}

      <h4 className="jn-sub">{t("exits")}</h4>
      {exits.map((x, i) => (
        <fieldset key={i} className="jn-fieldset">
          <legend>
            {x.segment_exited !== undefined ? t("exitOnSegment") : t("exitOnEvent")}
            {!readOnly && (
              <button className="btn small ghost" onClick={() => setExits(exits.filter((_, j) => j !== i))}>
                {t("remove")}
              </button>
            )}
          </legend>
          {x.segment_exited !== undefined ? (
            <SegmentPicker name={`exit${i + 1}-segment`} label={t("segment")} value={str(x.segment_exited)} segments={catalogs.segments} readOnly={readOnly}
              onChange={(v) => setExits(exits.map((e, j) => (j === i ? { segment_exited: v } : e)))} />
          ) : (
            <EventFields prefix={`exit${i + 1}-`} value={x} withMatch readOnly={readOnly} onChange={(v) => setExits(exits.map((e, j) => (j === i ? v : e)))} />
          )}
        </fieldset>
      ))}
      {!readOnly && (
        <div className="row">
          <button className="btn small" data-testid="add-exit-event" onClick={() => setExits([...exits, { event: "" }])}>
            + {t("addExitEvent")}
          </button>
          <button className="btn small" data-testid="add-exit-segment" onClick={() => setExits([...exits, { segment_exited: "" }])}>
            + {t("addExitSegment")}
          </button>
        </div>
      )}

      <h4 className="jn-sub">{t("timeZone")}</h4>
      <Text name="time_zone" label={t("timeZone")} hint={t("timeZoneHint")} value={str(def.time_zone)} placeholder="Asia/Shanghai" readOnly={readOnly}
        onChange={(v) => setDef("time_zone", v)} />
    </>
  );
}

export type { T };
