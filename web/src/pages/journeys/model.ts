// The journey definition as the console edits it (docs/journeys.md), and the graph operations the canvas needs.
// Steps are kept as plain JSON objects so that keys the console has no form for survive an edit untouched.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Step extends JsonObject {
  id: string;
  type: string;
}

export interface Definition extends JsonObject {
  name: string;
  trigger: JsonObject;
  steps: Step[];
}

export interface Position {
  x: number;
  y: number;
}

export const STEP_TYPES = ["wait", "wait_for_event", "branch", "split", "send", "update_profile", "webhook", "task", "exit"] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const TRIGGER_TYPES = ["event", "segment_entered", "segment_exited", "date_trait", "api", "broadcast"] as const;

export const CHANNELS = ["email", "sms", "push", "wechat", "voice", "in_app", "webhook"] as const;

export const STEP_ICONS: Record<string, string> = {
  trigger: "⚡",
  wait: "◷",
  wait_for_event: "◎",
  branch: "⋔",
  split: "⚖",
  send: "✉",
  update_profile: "✎",
  webhook: "⇄",
  task: "☑",
  exit: "■",
};

// ---- API shapes (src/Chuda.Server/Api/JourneysApi.cs, src/Chuda.Engine/Journeys/JourneyService.cs) -------------------

export type JourneyStatus = "draft" | "pending_approval" | "published" | "paused" | "archived";

export interface JourneySummary {
  id: string;
  name: string;
  status: JourneyStatus;
  trigger: string;
  latestVersion: number;
  liveVersion: number | null;
  pendingVersion: number | null;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface JourneyView extends JourneySummary {
  pendingBy: string | null;
  versions: number[];
  nextRunAt: string | null;
  definition: Definition;
}

export interface JourneyVersionView {
  journey: string;
  version: number;
  live: boolean;
  pending: boolean;
  createdAt: string;
  createdBy: string | null;
  definition: Definition;
}

export interface JourneyVersionSummary {
  version: number;
  live: boolean;
  pending: boolean;
  createdAt: string;
  createdBy: string | null;
}

export interface JourneyError {
  field: string;
  path: string;
  step: string | null;
  code: string;
  message: string;
}

export interface ValidationView {
  journey: string;
  version: number;
  valid: boolean;
  errors: JourneyError[];
}

export interface PublishView {
  journey: JourneyView;
  pendingApproval: boolean;
  migrated: number;
}

export interface StepStats {
  version: number;
  step: string;
  entered: number;
  completed: number;
  waiting: number;
  converted: number;
  exited: Record<string, number>;
}

export interface JourneyStats {
  journey: string;
  entered: number;
  active: number;
  completed: number;
  exited: number;
  converted: number;
  conversionRate: number;
  steps: StepStats[];
}

export interface TemplateItem {
  id: string;
  latestVersion: number;
  approvedVersion: number | null;
}

export interface SegmentItem {
  id: string;
  name: string;
}

/** The errors of a 400 problem or a validation answer, when they have the journey error shape. */
export function journeyErrors(body: unknown): JourneyError[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is JourneyError => !!e && typeof e === "object" && typeof (e as JourneyError).message === "string")
    .map((e) => ({ ...e, step: e.step ?? null, path: e.path ?? "", field: e.field ?? "", code: e.code ?? "" }));
}

// ---- links: every outgoing edge of a step, with the handle ("outcome") it leaves from -----------------------------

export interface Link {
  /** The handle id: next, event, timeout, yes, yes2…, no, the variant's name, holdout. */
  outcome: string;
  /** A label for the edge and the handle (null: a plain "next"). */
  label: string | null;
  /** The target step id, or null when not connected. */
  target: string | null;
}

function str(v: Json | undefined): string | null {
  return typeof v === "string" && v.length > 0 ? v : null;
}

function arr(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

function obj(v: Json | undefined): JsonObject | null {
  return v && typeof v === "object" && !Array.isArray(v) ? v : null;
}

/** The outcome id of a branch arm: "yes" for the first, "yes2", "yes3"… for the others; the else arm is "no". */
export function armOutcome(i: number) {
  return i === 0 ? "yes" : `yes${i + 1}`;
}

export function links(step: Step): Link[] {
  switch (step.type) {
    case "wait_for_event":
      return [
        { outcome: "event", label: "event", target: str(step.on_event) },
        { outcome: "timeout", label: "timeout", target: str(step.on_timeout) },
      ];
    case "branch": {
      const arms = arr(step.branches);
      return [
        ...arms.map((a, i) => ({
          outcome: armOutcome(i),
          label: arms.length === 1 ? "yes" : `#${i + 1}`,
          target: str(obj(a)?.next),
        })),
        { outcome: "no", label: arms.length === 1 ? "no" : "else", target: str(step.else) },
      ];
    }
    case "split": {
      const variants = arr(step.variants);
      const result: Link[] = variants.map((v, i) => {
        const name = str(obj(v)?.name) ?? `variant${i + 1}`;
        const weight = obj(v)?.weight;
        return { outcome: name, label: typeof weight === "number" ? `${name} · ${weight}` : name, target: str(obj(v)?.next) };
      });
      const holdout = obj(step.holdout);
      if (holdout) result.push({ outcome: "holdout", label: `holdout · ${holdout.weight ?? "?"}`, target: str(holdout.next) });
      return result;
    }
    case "exit":
      return [];
    default:
      return [{ outcome: "next", label: null, target: str(step.next) }];
  }
}

/** The step with the outgoing link `outcome` pointing at `target` (null: cleared). */
export function setLink(step: Step, outcome: string, target: string | null): Step {
  const s: Step = structuredClone(step);
  const put = (o: JsonObject, key: string) => {
    if (target === null) delete o[key];
    else o[key] = target;
  };
  switch (step.type) {
    case "wait_for_event":
      if (outcome === "event") put(s, "on_event");
      else if (outcome === "timeout") put(s, "on_timeout");
      return s;
    case "branch": {
      if (outcome === "no") {
        put(s, "else");
        return s;
      }
      const arms = arr(s.branches);
      arms.forEach((a, i) => {
        const o = obj(a);
        if (o && armOutcome(i) === outcome) put(o, "next");
      });
      return s;
    }
    case "split": {
      if (outcome === "holdout") {
        const h = obj(s.holdout);
        if (h) put(h, "next");
        return s;
      }
      arr(s.variants).forEach((v, i) => {
        const o = obj(v);
        if (o && (str(o.name) ?? `variant${i + 1}`) === outcome) put(o, "next");
      });
      return s;
    }
    case "exit":
      return s;
    default:
      put(s, "next");
      return s;
  }
}

/** The first step walked: `start`, else the first step. */
export function startOf(def: Definition): string | null {
  return str(def.start) ?? def.steps[0]?.id ?? null;
}

/** Removes steps and every link pointing at them (and `start` when it named one). */
export function removeSteps(def: Definition, ids: string[]): Definition {
  const gone = new Set(ids);
  const next: Definition = { ...def, steps: def.steps.filter((s) => !gone.has(s.id)) };
  next.steps = next.steps.map((s) => {
    let r = s;
    for (const l of links(s)) if (l.target && gone.has(l.target)) r = setLink(r, l.outcome, null);
    return r;
  });
  if (typeof def.start === "string" && gone.has(def.start)) delete next.start;
  const layout = obj(def.layout);
  if (layout) {
    const copy: JsonObject = { ...layout };
    for (const id of ids) delete copy[id];
    next.layout = copy;
  }
  return next;
}

/** Renames a step and every reference to it (links, start, layout). */
export function renameStep(def: Definition, from: string, to: string): Definition {
  const next: Definition = { ...def };
  next.steps = def.steps.map((s) => {
    let r: Step = s.id === from ? { ...s, id: to } : s;
    for (const l of links(r)) if (l.target === from) r = setLink(r, l.outcome, to);
    return r;
  });
  if (def.start === from) next.start = to;
  const layout = obj(def.layout);
  if (layout && layout[from] !== undefined) {
    const copy: JsonObject = { ...layout, [to]: layout[from] };
    delete copy[from];
    next.layout = copy;
  }
  return next;
}

const ID_PREFIX: Record<string, string> = {
  wait: "wait",
  wait_for_event: "wait-for-event",
  branch: "branch",
  split: "split",
  send: "send",
  update_profile: "update-profile",
  webhook: "webhook",
  task: "task",
  exit: "exit",
};

/** A step id not used yet: "send-1", "send-2"… */
export function uniqueStepId(def: Definition, type: string): string {
  const taken = new Set(def.steps.map((s) => s.id));
  const prefix = ID_PREFIX[type] ?? type;
  for (let n = 1; ; n++) if (!taken.has(`${prefix}-${n}`)) return `${prefix}-${n}`;
}

/** A new step of a type with sensible starting values (the side panel asks for the rest). */
export function newStep(type: string, id: string): Step {
  switch (type) {
    case "wait":
      return { id, type, duration: "PT1H" };
    case "wait_for_event":
      return { id, type, event: "", timeout: "P1D" };
    case "branch":
      return { id, type, branches: [{ when: { profile: { tag: "vip" } } }] };
    case "split":
      return { id, type, variants: [{ name: "A", weight: 50 }, { name: "B", weight: 50 }] };
    case "send":
      return { id, type, template: "", channels: ["email"] };
    case "update_profile":
      return { id, type, add_tags: [] };
    case "webhook":
      return { id, type, url: "https://", method: "POST" };
    case "task":
      return { id, type, title: "", queue: "unassigned", due_in: "P1D" };
    default:
      return { id, type };
  }
}

/** A minimal valid trigger of a type (the side panel asks for the rest). */
export function newTrigger(type: string, value: string): JsonObject {
  switch (type) {
    case "event":
      return { type, event: value };
    case "segment_entered":
    case "segment_exited":
      return { type, segment: value };
    case "date_trait":
      return { type, trait: value, at: "10:00" };
    case "broadcast":
      return { type, segment: value, at: nextMorning() };
    default:
      return { type };
  }
}

function nextMorning() {
  const d = new Date(Date.now() + 86_400_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T10:00`;
}

// ---- layout ------------------------------------------------------------------------------------------------------

export const NODE_WIDTH = 250;
const ROW = 170;
const COLUMN = 300;

/**
 * A top-down layered layout: breadth-first depth from the start step gives the row, siblings in a row are spread
 * horizontally around the centre; steps not reachable from the start go in rows below.
 */
export function autoLayout(def: Definition): Record<string, Position> {
  const depth = new Map<string, number>();
  const byId = new Map(def.steps.map((s) => [s.id, s]));
  const queue: string[] = [];
  const start = startOf(def);
  if (start && byId.has(start)) {
    depth.set(start, 1);
    queue.push(start);
  }
  const visit = () => {
    while (queue.length) {
      const id = queue.shift()!;
      for (const l of links(byId.get(id)!)) {
        if (l.target && byId.has(l.target) && !depth.has(l.target)) {
          depth.set(l.target, depth.get(id)! + 1);
          queue.push(l.target);
        }
      }
    }
  };
  visit();
  // Steps not reachable from the start: those nothing else links to start one row below everything, their
  // followers under them; what is left (loops) starts rows of its own.
  const unreached = def.steps.filter((s) => !depth.has(s.id));
  if (unreached.length) {
    const targets = new Set(unreached.flatMap((s) => links(s).map((l) => l.target)));
    const roots = unreached.filter((s) => !targets.has(s.id));
    const row = Math.max(0, ...depth.values()) + 1;
    for (const r of roots) {
      depth.set(r.id, row);
      queue.push(r.id);
    }
    visit();
  }
  for (const s of def.steps) {
    if (depth.has(s.id)) continue;
    const max = Math.max(0, ...depth.values());
    depth.set(s.id, max + 1);
    queue.push(s.id);
    visit();
  }
  const rows = new Map<number, string[]>();
  for (const s of def.steps) {
    const d = depth.get(s.id)!;
    if (!rows.has(d)) rows.set(d, []);
    rows.get(d)!.push(s.id);
  }
  const result: Record<string, Position> = {};
  for (const [d, ids] of rows) {
    ids.forEach((id, i) => {
      result[id] = { x: (i - (ids.length - 1) / 2) * COLUMN - NODE_WIDTH / 2, y: d * ROW };
    });
  }
  return result;
}

/** The stored positions of a definition's layout (only well-formed entries of existing steps). */
export function storedLayout(def: Definition): Record<string, Position> {
  const layout = obj(def.layout);
  const result: Record<string, Position> = {};
  if (!layout) return result;
  const ids = new Set(def.steps.map((s) => s.id));
  for (const [id, p] of Object.entries(layout)) {
    const o = obj(p);
    if (ids.has(id) && o && typeof o.x === "number" && typeof o.y === "number") result[id] = { x: o.x, y: o.y };
  }
  return result;
}

export const TRIGGER_OFFSET = 150;

// ---- summaries -------------------------------------------------------------------------------------------------------

/** "PT30M" → { n: 30, unit: "M", time: true } pieces for humanising. */
export function parseDuration(text: unknown): { negative: boolean; parts: [number, string][] } | null {
  if (typeof text !== "string") return null;
  const w = /^(-)?P(\d+)W$/.exec(text);
  if (w) return { negative: !!w[1], parts: [[Number(w[2]), "w"]] };
  const m = /^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text);
  if (!m || text.endsWith("T")) return null;
  const parts: [number, string][] = [];
  if (m[2]) parts.push([Number(m[2]), "d"]);
  if (m[3]) parts.push([Number(m[3]), "h"]);
  if (m[4]) parts.push([Number(m[4]), "min"]);
  if (m[5]) parts.push([Number(m[5]), "s"]);
  if (parts.length === 0) return null;
  return { negative: !!m[1], parts };
}
