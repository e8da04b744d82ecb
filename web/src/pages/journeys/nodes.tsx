import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";
import { useFormat, useT } from "../../i18n";
import { L } from "./strings";
import { links, parseDuration, STEP_ICONS, type Definition, type Link, type Json, type JsonObject, type Step, type StepStats } from "./model";

// The canvas nodes: one component per kind (trigger, step); the step node's icon, title and summary depend on its type.

export interface StepNodeData extends Record<string, unknown> {
  step: Step;
  stats: StepStats | null;
  errors: string[];
  isStart: boolean;
}

export interface TriggerNodeData extends Record<string, unknown> {
  def: Definition;
  errors: string[];
  entered: number | null;
}

export type StepNodeType = Node<StepNodeData, "step">;
export type TriggerNodeType = Node<TriggerNodeData, "trigger">;

type T = ReturnType<typeof useT<typeof L.en>>;

/** The words on a handle (short) or an edge: event / timeout, yes / no / else, a variant (with its weight on edges). */
export function outcomeLabel(t: T, step: Step, l: Link, short: boolean): string | undefined {
  if (l.outcome === "next") return undefined;
  if (l.outcome === "event") return t("event");
  if (l.outcome === "timeout") return t("timeout");
  if (step.type === "branch") return l.label === "yes" ? t("l_yes") : l.label === "no" ? t("l_no") : l.label === "else" ? t("l_else") : l.label ?? undefined;
  if (l.outcome === "holdout") return short ? t("s_holdout") : t("s_holdout") + (l.label ?? "").slice("holdout".length);
  return short ? l.outcome : l.label ?? undefined;
}

export function useDuration() {
  const t = useT({
    en: { d: "{n} d", w: "{n} wk", h: "{n} h", min: "{n} min", s: "{n} s", before: "{d} before", after: "{d} after" },
    zh: { d: "{n} 天", w: "{n} 周", h: "{n} 小时", min: "{n} 分钟", s: "{n} 秒", before: "前 {d}", after: "后 {d}" },
  });
  const human = (text: unknown) => {
    const p = parseDuration(text);
    if (!p) return typeof text === "string" && text ? text : "?";
    return p.parts.map(([n, u]) => t(u as "d", { n })).join(" ");
  };
  const offset = (text: unknown) => {
    const p = parseDuration(text);
    if (!p) return "";
    const d = human(typeof text === "string" ? text.replace(/^-/, "") : text);
    return p.negative ? t("before", { d }) : t("after", { d });
  };
  return { human, offset };
}

function s(v: Json | undefined): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);
}

function o(v: Json | undefined): JsonObject {
  return v && typeof v === "object" && !Array.isArray(v) ? v : {};
}

function list(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

/** A short description of a condition (branch arm, entry filter) for a node. */
export function conditionSummary(t: T, when: JsonObject): string {
  const parts: string[] = [];
  const profile = when.profile;
  if (profile && typeof profile === "object" && !Array.isArray(profile)) {
    const p = profile as JsonObject;
    if (typeof p.tag === "string") parts.push(t("c_tag", { tag: p.tag }));
    else if (typeof p.member_of === "string") parts.push(t("c_member", { segment: p.member_of }));
    else if (typeof p.event === "string") parts.push(t("c_event", { event: p.event }));
    else if (typeof p.trait === "string") parts.push(t("c_trait", { trait: p.trait }) + (p.op ? ` ${s(p.op)} ${p.value === undefined ? "" : s(p.value)}` : ""));
    else parts.push(t("c_rule"));
  }
  for (const f of list(when.entry)) {
    const fo = o(f);
    parts.push(t("c_entry", { property: s(fo.property) }) + (fo.op ? ` ${s(fo.op)}${fo.value === undefined ? "" : " " + s(fo.value)}` : ""));
  }
  return parts.join(" · ") || t("s_missing");
}

export function stepSummary(t: T, d: ReturnType<typeof useDuration>, step: Step): string {
  const missing = t("s_missing");
  switch (step.type) {
    case "wait":
      if (step.duration !== undefined) return t("s_wait_duration", { d: d.human(step.duration) });
      if (step.until_time !== undefined)
        return (
          t("s_wait_until", { t: s(step.until_time) || missing }) +
          (list(step.days).length ? t("s_wait_days", { days: list(step.days).map(s).join(", ") }) : "")
        );
      if (step.until_trait !== undefined)
        return (
          t("s_wait_trait", { trait: s(step.until_trait) || missing, offset: step.offset ? d.offset(step.offset) : "" }).trim() +
          (step.at ? t("s_wait_trait_at", { at: s(step.at) }) : "")
        );
      return missing;
    case "wait_for_event":
      return t("s_wfe", { d: d.human(step.timeout), event: s(step.event) || missing });
    case "branch": {
      const arms = list(step.branches);
      return t("s_branch", { cond: arms.length ? conditionSummary(t, o(o(arms[0]).when)) + (arms.length > 1 ? ` (+${arms.length - 1})` : "") : missing });
    }
    case "split": {
      const vs = list(step.variants).map((v) => `${s(o(v).name)} ${s(o(v).weight)}`);
      if (step.holdout) vs.push(`${t("s_holdout")} ${s(o(step.holdout).weight)}`);
      return t("s_split", { variants: vs.join(" / ") });
    }
    case "send": {
      const channels = step.channel !== undefined ? [s(step.channel)] : list(step.channels).map(s);
      return t("s_send", { template: s(step.template) || missing, channels: channels.join(" → ") || missing });
    }
    case "update_profile": {
      const what: string[] = [];
      if (step.set) what.push(Object.keys(o(step.set)).map((k) => `${k}=`).join(", "));
      if (list(step.unset).length) what.push("−" + list(step.unset).map(s).join(", −"));
      if (list(step.add_tags).length) what.push("+#" + list(step.add_tags).map(s).join(", +#"));
      if (list(step.remove_tags).length) what.push("−#" + list(step.remove_tags).map(s).join(", −#"));
      return t("s_update", { what: what.filter(Boolean).join("; ") || missing });
    }
    case "webhook":
      return t("s_webhook", { method: s(step.method) || "POST", url: s(step.url) || missing });
    case "task":
      return t("s_task", {
        title: s(step.title) || missing,
        who: step.assignee_trait ? `{${s(step.assignee_trait)}}` + (step.queue ? ` / ${s(step.queue)}` : "") : s(step.queue) || missing,
        d: d.human(step.due_in),
      });
    case "exit":
      return t("s_exit");
    default:
      return step.type;
  }
}

export function triggerSummary(t: T, d: ReturnType<typeof useDuration>, trigger: JsonObject): string {
  const missing = t("s_missing");
  switch (trigger.type) {
    case "event":
      return t("t_event", { event: s(trigger.event) || missing });
    case "segment_entered":
    case "segment_exited":
      return t(trigger.type === "segment_entered" ? "t_segment_entered" : "t_segment_exited", { segment: s(trigger.segment) || missing });
    case "date_trait":
      return (t("t_date_trait", { trait: s(trigger.trait) || missing, offset: trigger.offset ? d.offset(trigger.offset) : "" }).trim() +
        (trigger.at ? ` ${s(trigger.at)}` : ""));
    case "api":
      return t("t_api");
    case "broadcast":
      return trigger.cron
        ? t("t_broadcast_cron", { segment: s(trigger.segment) || missing, cron: s(trigger.cron) })
        : t("t_broadcast_at", { segment: s(trigger.segment) || missing, at: s(trigger.at) || missing });
    default:
      return s(trigger.type);
  }
}

function Counts({ stats, testId }: { stats: StepStats; testId: string }) {
  const t = useT(L);
  const f = useFormat();
  const exited = Object.values(stats.exited ?? {}).reduce((a, b) => a + b, 0);
  return (
    <div className="jn-counts">
      <span title={t("entered")}>
        <b data-testid={`step-count-${testId}`}>{stats.entered}</b> {t("entered")}
      </span>
      <span title={t("waiting")} className={stats.waiting > 0 ? "jn-live" : undefined}>
        <b data-testid={`step-waiting-${testId}`}>{f.number(stats.waiting)}</b> {t("waiting")}
      </span>
      <span title={t("completed")}>
        <b>{f.number(stats.completed)}</b> {t("completed")}
      </span>
      <span title={t("converted")}>
        <b>{f.number(stats.converted)}</b> {t("converted")}
      </span>
      <span title={t("exited")}>
        <b>{f.number(exited)}</b> {t("exited")}
      </span>
    </div>
  );
}

export function StepNode({ data, selected }: NodeProps<StepNodeType>) {
  const t = useT(L);
  const d = useDuration();
  const { step, stats, errors } = data;
  const outs = links(step);
  // Handle labels stay short (the edge label carries the weight).
  const label = (l: Link) => outcomeLabel(t, step, l, true);
  return (
    <div
      className={`jn-node jn-${step.type}${selected ? " selected" : ""}${errors.length ? " has-error" : ""}`}
      data-testid={`node-${step.id}`}
      data-step-type={step.type}
    >
      <Handle type="target" position={Position.Top} id="in" className="jn-handle-in" data-testid={`handle-${step.id}-in`} />
      <div className="jn-node-head">
        <span className="jn-icon" aria-hidden>
          {STEP_ICONS[step.type] ?? "•"}
        </span>
        <span className="jn-node-title">{t(`type_${step.type}` as "type_wait") ?? step.type}</span>
        <span className="jn-node-id mono">{step.id}</span>
      </div>
      <div className="jn-node-summary" title={stepSummary(t, d, step)}>
        {stepSummary(t, d, step)}
      </div>
      {stats && <Counts stats={stats} testId={step.id} />}
      {errors.length > 0 && (
        <ul className="jn-node-errors" data-testid="node-error">
          {errors.slice(0, 3).map((e, i) => (
            <li key={i}>{e}</li>
          ))}
          {errors.length > 3 && <li>+{errors.length - 3}</li>}
        </ul>
      )}
      {outs.length > 0 && (
        <div className="jn-outs">
          {outs.map((l, i) => (
            <div key={l.outcome} className="jn-out" style={{ left: `${((i + 1) / (outs.length + 1)) * 100}%` }}>
              {l.label && <span title={l.label} className={`jn-out-label jn-out-${l.outcome === "timeout" || l.outcome === "no" ? "alt" : "main"}`}>{label(l)}</span>}
              <Handle
                type="source"
                position={Position.Bottom}
                id={l.outcome}
                className="jn-handle-out"
                data-testid={`handle-${step.id}-${l.outcome}`}
                style={{ left: "50%" }}
              />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export function TriggerNode({ data, selected }: NodeProps<TriggerNodeType>) {
  const t = useT(L);
  const d = useDuration();
  const { def, errors } = data;
  const goal = def.goal && typeof def.goal === "object" && !Array.isArray(def.goal) ? (def.goal as JsonObject) : null;
  return (
    <div className={`jn-node jn-trigger${selected ? " selected" : ""}${errors.length ? " has-error" : ""}`} data-testid="node-trigger">
      <div className="jn-node-head">
        <span className="jn-icon" aria-hidden>
          {STEP_ICONS.trigger}
        </span>
        <span className="jn-node-title">{t(`trigger_${String(def.trigger?.type)}` as "trigger_event")}</span>
      </div>
      <div className="jn-node-summary">{triggerSummary(t, d, def.trigger ?? {})}</div>
      {goal && <div className="jn-node-goal">★ {t("t_goal", { event: s(goal.event), d: d.human(goal.within) })}</div>}
      {data.entered !== null && (
        <div className="jn-counts">
          <span>
            <b data-testid="step-count-trigger">{data.entered}</b> {t("entered")}
          </span>
        </div>
      )}
      {errors.length > 0 && (
        <ul className="jn-node-errors" data-testid="node-error">
          {errors.slice(0, 3).map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      )}
      <div className="jn-outs">
        <div className="jn-out" style={{ left: "50%" }}>
          <Handle type="source" position={Position.Bottom} id="start" className="jn-handle-out" data-testid="handle-trigger-start" style={{ left: "50%" }} />
        </div>
      </div>
    </div>
  );
}

export const nodeTypes = { step: StepNode, trigger: TriggerNode };
