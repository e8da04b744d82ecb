// The segment rule language (docs/segments.md) as the builder sees it: plain JSON objects, edited in place.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Rule = Record<string, any>;

export type CondKind =
  | "trait"
  | "tag"
  | "event"
  | "not_performed"
  | "sequence"
  | "first_performed"
  | "last_performed"
  | "reachable"
  | "member_of"
  | "bucket"
  | "group";

export const condKinds: CondKind[] = [
  "trait",
  "event",
  "not_performed",
  "sequence",
  "first_performed",
  "last_performed",
  "tag",
  "reachable",
  "member_of",
  "bucket",
  "group",
];

export const traitOps = [
  "eq",
  "neq",
  "gt",
  "gte",
  "lt",
  "lte",
  "contains",
  "starts_with",
  "in",
  "not_in",
  "exists",
  "not_exists",
  "before",
  "after",
  "within_last",
  "within_next",
  "more_than_ago",
  "more_than_ahead",
] as const;

/** Event property filters take the trait operators except the relative date ones. */
export const filterOps = traitOps.filter((o) => !["within_last", "within_next", "more_than_ago", "more_than_ahead"].includes(o));

export const occurrenceOps = ["before", "after", "within_last", "more_than_ago"] as const;

export const countOps = ["at_least", "exactly", "at_most"] as const;

export const reachableKinds = ["email", "phone", "push", "push:ios", "push:android", "push:web", "wechat"];

export type ValueKind = "none" | "scalar" | "number" | "list" | "date" | "duration";

export function valueKind(op: string): ValueKind {
  switch (op) {
    case "exists":
    case "not_exists":
      return "none";
    case "gt":
    case "gte":
    case "lt":
    case "lte":
      return "number";
    case "in":
    case "not_in":
      return "list";
    case "before":
    case "after":
      return "date";
    case "within_last":
    case "within_next":
    case "more_than_ago":
    case "more_than_ahead":
      return "duration";
    default:
      return "scalar";
  }
}

/** The value a comparison gets when its operator changes to one of another kind. */
export function defaultValue(kind: ValueKind, previous: unknown): unknown {
  switch (kind) {
    case "none":
      return undefined;
    case "number":
      return typeof previous === "number" ? previous : 0;
    case "list":
      return Array.isArray(previous) ? previous : previous === undefined || previous === "" ? [] : [previous];
    case "date":
      return typeof previous === "string" && /^\d{4}-\d\d-\d\d/.test(previous) ? previous : new Date().toISOString().slice(0, 10);
    case "duration":
      return typeof previous === "string" && /^P/.test(previous) ? previous : "P7D";
    default:
      return typeof previous === "string" || typeof previous === "number" || typeof previous === "boolean" ? previous : "";
  }
}

/** Sets op on a comparison (trait condition or where filter), adjusting the value to the operator's kind. */
export function withOp(c: Rule, op: string): Rule {
  const kind = valueKind(op);
  const next: Rule = { ...c, op };
  const v = defaultValue(kind, c.value);
  if (v === undefined) delete next.value;
  else next.value = v;
  return next;
}

export function kindOf(rule: Rule): CondKind | "not" | "unknown" {
  if ("and" in rule || "or" in rule) return "group";
  if ("not" in rule) return "not";
  for (const k of condKinds) if (k !== "group" && k in rule) return k;
  return "unknown";
}

export function newCondition(kind: CondKind): Rule {
  switch (kind) {
    case "trait":
      return { trait: "", op: "eq", value: "" };
    case "tag":
      return { tag: "" };
    case "event":
      return { event: "", count: { op: "at_least", value: 1 }, within: "P30D" };
    case "not_performed":
      return { not_performed: "", within: "P30D" };
    case "sequence":
      return { sequence: { first: { event: "" }, not_followed_by: { event: "" }, within: "PT30M" } };
    case "first_performed":
      return { first_performed: "", op: "within_last", value: "P7D" };
    case "last_performed":
      return { last_performed: "", op: "more_than_ago", value: "P30D" };
    case "reachable":
      return { reachable: "email" };
    case "member_of":
      return { member_of: "" };
    case "bucket":
      return { bucket: { salt: "", percent: 10 } };
    case "group":
      return { and: [] };
  }
}

/** The builder always edits a group at the root; a one-condition group is saved as that condition. */
export function toRoot(rule: Rule | null | undefined): Rule {
  if (!rule || typeof rule !== "object" || Array.isArray(rule)) return { and: [] };
  if (kindOf(rule) === "group") return rule;
  return { and: [rule] };
}

export function fromRoot(root: Rule): Rule | null {
  const op = "and" in root ? "and" : "or";
  const children = (root[op] ?? []) as Rule[];
  if (children.length === 0) return null;
  if (children.length === 1) return children[0];
  return root;
}

/** Parses an ISO 8601 duration of one unit (what the unit picker can show); null when it needs the raw text. */
export function splitDuration(d: unknown): { amount: number; unit: "S" | "M" | "H" | "D" | "W" } | null {
  if (typeof d !== "string") return null;
  let m = /^PT(\d+)([SMH])$/.exec(d);
  if (m) return { amount: Number(m[1]), unit: m[2] as "S" | "M" | "H" };
  m = /^P(\d+)([DW])$/.exec(d);
  if (m) return { amount: Number(m[1]), unit: m[2] as "D" | "W" };
  return null;
}

export function joinDuration(amount: number, unit: "S" | "M" | "H" | "D" | "W"): string {
  const n = Math.max(1, Math.floor(amount || 0));
  return unit === "D" || unit === "W" ? `P${n}${unit}` : `PT${n}${unit}`;
}

/** A rule error from the API ({field, message}) with its field. */
export interface FieldError {
  field: string;
  message: string;
}

export function ruleErrors(body: unknown): FieldError[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors
    .filter((e): e is FieldError => !!e && typeof e === "object" && typeof (e as FieldError).message === "string")
    .map((e) => ({ field: e.field ?? "", message: e.message }));
}

/** Errors that belong to the node at `path` itself (not to a nested group's children). */
export function errorsAt(errors: FieldError[], path: string, leaf: boolean): FieldError[] {
  return errors.filter((e) => {
    if (e.field === path) return true;
    if (!e.field.startsWith(path + ".") && !e.field.startsWith(path + "[")) return false;
    if (leaf) return true;
    // A group owns "path.and" / "path.or" themselves (empty group), not its children's paths.
    const rest = e.field.slice(path.length);
    return /^\.(and|or|not)$/.test(rest);
  });
}

/** Walks a rule and lists the paths the builder renders, so unplaced errors can be listed apart. */
export function renderedPaths(rule: Rule, path: string, out: { path: string; leaf: boolean }[] = []) {
  const k = kindOf(rule);
  if (k === "group") {
    out.push({ path, leaf: false });
    const op = "and" in rule ? "and" : "or";
    ((rule[op] ?? []) as Rule[]).forEach((c, i) => renderedPaths(c, `${path}.${op}[${i}]`, out));
  } else if (k === "not") {
    out.push({ path, leaf: false });
    renderedPaths(rule.not as Rule, `${path}.not`, out);
  } else out.push({ path, leaf: true });
  return out;
}
