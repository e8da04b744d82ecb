import { useState, type ReactNode } from "react";
import { useT } from "../../i18n";
import {
  condKinds,
  countOps,
  errorsAt,
  filterOps,
  joinDuration,
  kindOf,
  newCondition,
  occurrenceOps,
  reachableKinds,
  splitDuration,
  traitOps,
  valueKind,
  withOp,
  type CondKind,
  type FieldError,
  type Rule,
} from "./rules";

// A visual editor for every condition of the rule language (docs/segments.md). Each node is edited in place and
// answers a new JSON object; server errors are shown on the node whose path they name.

export const RL = {
  en: {
    and: "All of (AND)",
    or: "Any of (OR)",
    addCondition: "+ Condition",
    addGroup: "+ Group",
    remove: "Remove",
    not: "NOT",
    notHint: "Negate: profiles for which this is false",
    emptyGroup: "No conditions yet. Add one to start defining the audience.",
    k_trait: "Trait",
    k_tag: "Tag",
    k_event: "Performed event",
    k_not_performed: "Didn't perform",
    k_sequence: "Event sequence",
    k_first_performed: "First performed",
    k_last_performed: "Last performed",
    k_reachable: "Reachable on",
    k_member_of: "In segment",
    k_bucket: "Random bucket",
    k_group: "Group (AND / OR)",
    k_unknown: "Unknown condition (edit in JSON)",
    traitPath: "trait path, e.g. plan or address.city",
    eventName: "event name, e.g. Order Completed",
    tagName: "tag",
    property: "property, e.g. path",
    op_eq: "equals",
    op_neq: "does not equal",
    op_gt: ">",
    op_gte: "≥",
    op_lt: "<",
    op_lte: "≤",
    op_contains: "contains",
    op_starts_with: "starts with",
    op_in: "is one of",
    op_not_in: "is not one of",
    op_exists: "exists",
    op_not_exists: "does not exist",
    op_before: "is before",
    op_after: "is after",
    op_within_last: "within the last",
    op_within_next: "within the next",
    op_more_than_ago: "more than … ago",
    op_more_than_ahead: "more than … ahead",
    op_present: "is present",
    op_absent: "is absent",
    op_at_least: "at least",
    op_exactly: "exactly",
    op_at_most: "at most",
    times: "times",
    inWindow: "in the last",
    ever: "ever (all history)",
    where: "where",
    addFilter: "+ Property filter",
    t_string: "text",
    t_number: "number",
    t_boolean: "true/false",
    listHint: "comma-separated",
    u_S: "seconds",
    u_M: "minutes",
    u_H: "hours",
    u_D: "days",
    u_W: "weeks",
    custom: "custom",
    first: "First",
    followedBy: "followed by",
    notFollowedBy: "not followed by",
    within: "within",
    matchOn: "same value of property (optional)",
    lookback: "counting first events from",
    noLookback: "any time",
    lookbackOn: "the last…",
    salt: "salt",
    percent: "percent",
    chooseSegment: "choose a segment…",
    time: "time",
  },
  zh: {
    and: "满足全部 (且)",
    or: "满足任一 (或)",
    addCondition: "+ 条件",
    addGroup: "+ 条件组",
    remove: "删除",
    not: "非",
    notHint: "取反：不满足此条件的用户",
    emptyGroup: "还没有条件。添加一个条件来定义人群。",
    k_trait: "用户属性",
    k_tag: "标签",
    k_event: "做过事件",
    k_not_performed: "未做过事件",
    k_sequence: "事件序列",
    k_first_performed: "首次发生时间",
    k_last_performed: "最近发生时间",
    k_reachable: "可触达渠道",
    k_member_of: "属于分群",
    k_bucket: "随机分桶",
    k_group: "条件组 (且 / 或)",
    k_unknown: "未知条件（请在 JSON 中编辑）",
    traitPath: "属性路径，如 plan 或 address.city",
    eventName: "事件名，如 Order Completed",
    tagName: "标签",
    property: "事件属性，如 path",
    op_eq: "等于",
    op_neq: "不等于",
    op_contains: "包含",
    op_starts_with: "开头是",
    op_in: "属于",
    op_not_in: "不属于",
    op_exists: "有值",
    op_not_exists: "无值",
    op_before: "早于",
    op_after: "晚于",
    op_within_last: "在过去",
    op_within_next: "在未来",
    op_more_than_ago: "距今超过",
    op_more_than_ahead: "距今之后超过",
    op_present: "有",
    op_absent: "没有",
    op_at_least: "至少",
    op_exactly: "恰好",
    op_at_most: "至多",
    times: "次",
    inWindow: "在过去",
    ever: "全部历史",
    where: "且满足",
    addFilter: "+ 属性筛选",
    t_string: "文本",
    t_number: "数值",
    t_boolean: "布尔",
    listHint: "用逗号分隔",
    u_S: "秒",
    u_M: "分钟",
    u_H: "小时",
    u_D: "天",
    u_W: "周",
    custom: "自定义",
    first: "先发生",
    followedBy: "之后发生了",
    notFollowedBy: "之后未发生",
    within: "时间窗口",
    matchOn: "按属性匹配同一对象（可选）",
    lookback: "首个事件统计范围",
    noLookback: "不限",
    lookbackOn: "最近…",
    salt: "盐值",
    percent: "百分比",
    chooseSegment: "选择分群…",
    time: "时间",
  },
};

type T = ReturnType<typeof useT<typeof RL.en>>;

export interface BuilderContext {
  errors: FieldError[];
  segments: { id: string; name: string }[];
  selfId: string | null;
}

export function RuleGroup({
  rule,
  path,
  onChange,
  onRemove,
  ctx,
  depth = 0,
}: {
  rule: Rule;
  path: string;
  onChange: (r: Rule) => void;
  onRemove?: () => void;
  ctx: BuilderContext;
  depth?: number;
}) {
  const t = useT(RL);
  const op: "and" | "or" = "and" in rule ? "and" : "or";
  const children = (rule[op] ?? []) as Rule[];
  const setChildren = (c: Rule[]) => onChange({ [op]: c });
  const errs = errorsAt(ctx.errors, path, false);
  return (
    <div className={`rule-group depth-${depth % 2}`} data-testid="rule-group" data-path={path}>
      <div className="rule-group-head">
        <select
          value={op}
          onChange={(e) => onChange({ [e.target.value]: children })}
          data-testid="group-op"
          aria-label={t("and") + " / " + t("or")}
        >
          <option value="and">{t("and")}</option>
          <option value="or">{t("or")}</option>
        </select>
        <span className="spacer" />
        {onRemove && (
          <button className="btn ghost small" onClick={onRemove} data-testid="group-remove">
            {t("remove")}
          </button>
        )}
      </div>
      <NodeErrors errors={errs} />
      {children.length === 0 && <p className="muted rule-empty">{t("emptyGroup")}</p>}
      {children.map((c, i) => (
        <RuleNode
          key={i}
          rule={c}
          path={`${path}.${op}[${i}]`}
          ctx={ctx}
          depth={depth + 1}
          onChange={(n) => setChildren(children.map((x, j) => (j === i ? n : x)))}
          onRemove={() => setChildren(children.filter((_, j) => j !== i))}
        />
      ))}
      <div className="row rule-group-foot">
        <button className="btn small" onClick={() => setChildren([...children, newCondition("trait")])} data-testid="rule-add-condition">
          {t("addCondition")}
        </button>
        <button className="btn small ghost" onClick={() => setChildren([...children, { and: [] }])} data-testid="rule-add-group">
          {t("addGroup")}
        </button>
      </div>
    </div>
  );
}

/** One child of a group: a condition, a nested group, or either of them negated with NOT. */
function RuleNode({
  rule,
  path,
  onChange,
  onRemove,
  ctx,
  depth,
}: {
  rule: Rule;
  path: string;
  onChange: (r: Rule) => void;
  onRemove: () => void;
  ctx: BuilderContext;
  depth: number;
}) {
  const t = useT(RL);
  const negated = kindOf(rule) === "not" && rule.not && typeof rule.not === "object";
  const inner: Rule = negated ? (rule.not as Rule) : rule;
  const innerPath = negated ? `${path}.not` : path;
  const setInner = (r: Rule) => onChange(negated ? { not: r } : r);
  const toggleNot = () => onChange(negated ? inner : { not: inner });
  const kind = kindOf(inner);
  const notErrs = negated ? errorsAt(ctx.errors, path, false).filter((e) => e.field === path || e.field === path + ".not") : [];
  if (kind === "group")
    return (
      <div className="rule-node">
        <label className="rule-not" title={t("notHint")}>
          <input type="checkbox" checked={!!negated} onChange={toggleNot} data-testid="group-not" /> {t("not")}
        </label>
        <NodeErrors errors={notErrs} />
        <RuleGroup rule={inner} path={innerPath} onChange={setInner} onRemove={onRemove} ctx={ctx} depth={depth} />
      </div>
    );
  const errs = [...notErrs, ...errorsAt(ctx.errors, innerPath, true)];
  return (
    <div className={errs.length ? "rule-cond has-error" : "rule-cond"} data-testid="rule-cond" data-path={innerPath}>
      <div className="rule-cond-line">
        <label className="rule-not" title={t("notHint")}>
          <input type="checkbox" checked={!!negated} onChange={toggleNot} data-testid="cond-not" /> {t("not")}
        </label>
        <select
          value={kind === "not" || kind === "unknown" ? "" : kind}
          onChange={(e) => setInner(newCondition(e.target.value as CondKind))}
          data-testid="cond-type"
          className="cond-type"
        >
          {(kind === "unknown" || kind === "not") && <option value="">{t("k_unknown")}</option>}
          {condKinds.map((k) => (
            <option key={k} value={k}>
              {t(`k_${k}` as keyof typeof RL.en)}
            </option>
          ))}
        </select>
        <div className="rule-cond-body">
          <ConditionEditor rule={inner} kind={kind} onChange={setInner} ctx={ctx} t={t} />
        </div>
        <button className="btn ghost small" onClick={onRemove} data-testid="cond-remove" aria-label={t("remove")} title={t("remove")}>
          ×
        </button>
      </div>
      <NodeErrors errors={errs} />
    </div>
  );
}

function NodeErrors({ errors }: { errors: FieldError[] }) {
  if (errors.length === 0) return null;
  return (
    <ul className="rule-errors" data-testid="cond-error">
      {errors.map((e, i) => (
        <li key={i}>{e.message}</li>
      ))}
    </ul>
  );
}

function ConditionEditor({ rule, kind, onChange, ctx, t }: { rule: Rule; kind: string; onChange: (r: Rule) => void; ctx: BuilderContext; t: T }) {
  const set = (patch: Rule) => {
    const next = { ...rule, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete next[k];
    onChange(next);
  };
  switch (kind) {
    case "trait":
      return (
        <>
          <input value={rule.trait ?? ""} placeholder={t("traitPath")} aria-label={t("traitPath")} onChange={(e) => set({ trait: e.target.value })} data-testid="cond-trait" />
          <Comparison c={rule} ops={traitOps} onChange={onChange} t={t} />
        </>
      );
    case "tag":
      return (
        <>
          <input value={rule.tag ?? ""} placeholder={t("tagName")} aria-label={t("tagName")} onChange={(e) => set({ tag: e.target.value })} data-testid="cond-tag" />
          <select value={rule.op ?? "present"} onChange={(e) => set({ op: e.target.value === "present" ? undefined : e.target.value })} data-testid="cond-op">
            <option value="present">{t("op_present")}</option>
            <option value="absent">{t("op_absent")}</option>
          </select>
        </>
      );
    case "event":
      return (
        <>
          <input value={rule.event ?? ""} placeholder={t("eventName")} aria-label={t("eventName")} onChange={(e) => set({ event: e.target.value })} data-testid="cond-event" />
          <select
            value={rule.count?.op ?? "at_least"}
            onChange={(e) => set({ count: { op: e.target.value, value: rule.count?.value ?? 1 } })}
            data-testid="cond-count-op"
          >
            {countOps.map((o) => (
              <option key={o} value={o}>
                {t(`op_${o}`)}
              </option>
            ))}
          </select>
          <input
            type="number"
            min={0}
            className="num"
            value={rule.count?.value ?? 1}
            onChange={(e) => set({ count: { op: rule.count?.op ?? "at_least", value: Number(e.target.value) } })}
            data-testid="cond-count-value"
          />
          <span className="muted">{t("times")}</span>
          <Window value={rule.within} onChange={(w) => set({ within: w })} t={t} />
          <Filters where={rule.where} onChange={(w) => set({ where: w })} t={t} />
        </>
      );
    case "not_performed":
      return (
        <>
          <input
            value={rule.not_performed ?? ""}
            placeholder={t("eventName")} aria-label={t("eventName")}
            onChange={(e) => set({ not_performed: e.target.value })}
            data-testid="cond-event"
          />
          <Window value={rule.within} onChange={(w) => set({ within: w })} t={t} />
          <Filters where={rule.where} onChange={(w) => set({ where: w })} t={t} />
        </>
      );
    case "first_performed":
    case "last_performed":
      return (
        <>
          <input value={rule[kind] ?? ""} placeholder={t("eventName")} aria-label={t("eventName")} onChange={(e) => set({ [kind]: e.target.value })} data-testid="cond-event" />
          <Comparison c={rule} ops={occurrenceOps} onChange={onChange} t={t} />
          <Filters where={rule.where} onChange={(w) => set({ where: w })} t={t} />
        </>
      );
    case "sequence":
      return <Sequence seq={rule.sequence ?? {}} onChange={(s) => onChange({ sequence: s })} t={t} />;
    case "reachable":
      return (
        <select value={rule.reachable ?? "email"} onChange={(e) => set({ reachable: e.target.value })} data-testid="cond-reachable">
          {[...new Set([...reachableKinds, String(rule.reachable ?? "email")])].map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      );
    case "member_of": {
      const options = ctx.segments.filter((s) => s.id !== ctx.selfId);
      return (
        <select value={rule.member_of ?? ""} onChange={(e) => set({ member_of: e.target.value })} data-testid="cond-segment">
          <option value="">{t("chooseSegment")}</option>
          {rule.member_of && !options.some((s) => s.id === rule.member_of) && <option value={rule.member_of}>{rule.member_of}</option>}
          {options.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name} ({s.id})
            </option>
          ))}
        </select>
      );
    }
    case "bucket":
      return (
        <>
          <input
            value={rule.bucket?.salt ?? ""}
            placeholder={t("salt")} aria-label={t("salt")}
            onChange={(e) => onChange({ bucket: { ...rule.bucket, salt: e.target.value } })}
            data-testid="cond-salt"
          />
          <input
            type="number"
            className="num"
            min={0}
            max={100}
            step={0.01}
            value={rule.bucket?.percent ?? 10}
            onChange={(e) => onChange({ bucket: { ...rule.bucket, percent: Number(e.target.value) } })}
            data-testid="cond-percent"
          />
          <span className="muted">%</span>
        </>
      );
    default:
      return <code className="mono rule-raw">{JSON.stringify(rule)}</code>;
  }
}

/** op + value of a trait condition, a where filter or an occurrence time. */
function Comparison({ c, ops, onChange, t, testPrefix = "cond" }: { c: Rule; ops: readonly string[]; onChange: (r: Rule) => void; t: T; testPrefix?: string }) {
  const op: string = c.op ?? ops[0];
  const kind = valueKind(op);
  return (
    <>
      <select value={op} onChange={(e) => onChange(withOp(c, e.target.value))} data-testid={`${testPrefix}-op`}>
        {!ops.includes(op) && <option value={op}>{op}</option>}
        {ops.map((o) => (
          <option key={o} value={o}>
            {t(`op_${o}` as keyof typeof RL.en)}
          </option>
        ))}
      </select>
      <ValueInput kind={kind} value={c.value} onChange={(v) => onChange({ ...c, value: v })} t={t} testId={`${testPrefix}-value`} />
    </>
  );
}

function scalarType(v: unknown): "string" | "number" | "boolean" {
  return typeof v === "number" ? "number" : typeof v === "boolean" ? "boolean" : "string";
}

function coerce(text: string, type: "string" | "number" | "boolean"): string | number | boolean {
  if (type === "number") return text.trim() === "" || isNaN(Number(text)) ? 0 : Number(text);
  if (type === "boolean") return text === "true";
  return text;
}

function ValueInput({ kind, value, onChange, t, testId }: { kind: string; value: unknown; onChange: (v: unknown) => void; t: T; testId: string }) {
  const [listText, setListText] = useState<string | null>(null);
  if (kind === "none") return null;
  if (kind === "number")
    return (
      <input type="number" className="num" value={typeof value === "number" ? value : 0} onChange={(e) => onChange(Number(e.target.value))} data-testid={testId} />
    );
  if (kind === "date")
    return <input value={typeof value === "string" ? value : ""} placeholder="2026-01-01" onChange={(e) => onChange(e.target.value)} data-testid={testId} className="date" />;
  if (kind === "duration") return <DurationInput value={value} onChange={onChange} t={t} testId={testId} />;
  if (kind === "list") {
    const items = Array.isArray(value) ? value : [];
    const type = scalarType(items[0]);
    const text = listText ?? items.map(String).join(", ");
    const commit = (s: string, ty = type) =>
      onChange(
        s
          .split(",")
          .map((x) => x.trim())
          .filter((x) => x !== "")
          .map((x) => coerce(x, ty)),
      );
    return (
      <>
        <input
          value={text}
          placeholder={t("listHint")} aria-label={t("listHint")}
          onChange={(e) => {
            setListText(e.target.value);
            commit(e.target.value);
          }}
          onBlur={() => setListText(null)}
          data-testid={testId}
          className="list"
        />
        <TypeSelect type={type} onChange={(ty) => commit(text, ty)} t={t} />
      </>
    );
  }
  const type = scalarType(value);
  return (
    <>
      {type === "boolean" ? (
        <select value={String(value)} onChange={(e) => onChange(e.target.value === "true")} data-testid={testId}>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : (
        <input
          type={type === "number" ? "number" : "text"}
          className={type === "number" ? "num" : undefined}
          value={value === undefined || value === null ? "" : String(value)}
          onChange={(e) => onChange(coerce(e.target.value, type))}
          data-testid={testId}
        />
      )}
      <TypeSelect type={type} onChange={(ty) => onChange(coerce(String(value ?? ""), ty))} t={t} />
    </>
  );
}

function TypeSelect({ type, onChange, t }: { type: "string" | "number" | "boolean"; onChange: (t: "string" | "number" | "boolean") => void; t: T }) {
  return (
    <select
      value={type}
      onChange={(e) => onChange(e.target.value as "string")}
      data-testid="cond-value-type"
      className="type-select"
      title={t(`t_${type}`)}
      aria-label={t(`t_${type}`)}
    >
      <option value="string">abc</option>
      <option value="number">123</option>
      <option value="boolean">true / false</option>
    </select>
  );
}

export function DurationInput({ value, onChange, t, testId }: { value: unknown; onChange: (v: string) => void; t: T; testId: string }) {
  const parts = splitDuration(value);
  const [custom, setCustom] = useState(parts === null && typeof value === "string" && value !== "");
  if (custom || parts === null)
    return (
      <span className="duration">
        <input value={typeof value === "string" ? value : ""} placeholder="P1DT12H" onChange={(e) => onChange(e.target.value)} data-testid={testId} className="dur-raw" />
        {parts !== null && (
          <button className="btn ghost small" onClick={() => setCustom(false)}>
            ↺
          </button>
        )}
      </span>
    );
  return (
    <span className="duration">
      <input type="number" min={1} className="num" value={parts.amount} onChange={(e) => onChange(joinDuration(Number(e.target.value), parts.unit))} data-testid={testId} />
      <select
        value={parts.unit}
        onChange={(e) => (e.target.value === "custom" ? setCustom(true) : onChange(joinDuration(parts.amount, e.target.value as "D")))}
        data-testid={`${testId}-unit`}
      >
        {(["M", "H", "D", "W", "S"] as const).map((u) => (
          <option key={u} value={u}>
            {t(`u_${u}`)}
          </option>
        ))}
        <option value="custom">{t("custom")}…</option>
      </select>
    </span>
  );
}

/** Optional "in the last D" window; without it the condition reads all history. */
function Window({ value, onChange, t }: { value: unknown; onChange: (v: string | undefined) => void; t: T }) {
  return (
    <span className="window">
      <select value={value ? "window" : "ever"} onChange={(e) => onChange(e.target.value === "window" ? "P30D" : undefined)} data-testid="cond-window">
        <option value="window">{t("inWindow")}</option>
        <option value="ever">{t("ever")}</option>
      </select>
      {!!value && <DurationInput value={value} onChange={onChange} t={t} testId="cond-within" />}
    </span>
  );
}

function Filters({ where, onChange, t }: { where: unknown; onChange: (w: Rule[] | undefined) => void; t: T }) {
  const list = Array.isArray(where) ? (where as Rule[]) : [];
  const set = (l: Rule[]) => onChange(l.length ? l : undefined);
  return (
    <div className="rule-filters">
      {list.map((f, i) => (
        <div className="row rule-filter" key={i} data-testid="where-filter">
          <span className="muted">{t("where")}</span>
          <input
            value={f.property ?? ""}
            placeholder={t("property")} aria-label={t("property")}
            onChange={(e) => set(list.map((x, j) => (j === i ? { ...x, property: e.target.value } : x)))}
            data-testid="where-property"
          />
          <Comparison c={f} ops={filterOps} onChange={(n) => set(list.map((x, j) => (j === i ? n : x)))} t={t} testPrefix="where" />
          <button className="btn ghost small" onClick={() => set(list.filter((_, j) => j !== i))} data-testid="where-remove" aria-label={t("remove")}>
            ×
          </button>
        </div>
      ))}
      <button className="btn ghost small" onClick={() => set([...list, { property: "", op: "eq", value: "" }])} data-testid="cond-add-filter">
        {t("addFilter")}
      </button>
    </div>
  );
}

function Sequence({ seq, onChange, t }: { seq: Rule; onChange: (s: Rule) => void; t: T }) {
  const followKey = "followed_by" in seq ? "followed_by" : "not_followed_by";
  const step = (key: string, testId: string): ReactNode => {
    const s: Rule = seq[key] ?? { event: "" };
    return (
      <>
        <input value={s.event ?? ""} placeholder={t("eventName")} aria-label={t("eventName")} onChange={(e) => onChange({ ...seq, [key]: { ...s, event: e.target.value } })} data-testid={testId} />
        <Filters where={s.where} onChange={(w) => onChange({ ...seq, [key]: w ? { ...s, where: w } : { event: s.event } })} t={t} />
      </>
    );
  };
  const without = (k: string) => {
    const n = { ...seq };
    delete n[k];
    return n;
  };
  return (
    <div className="rule-seq">
      <div className="row">
        <span className="muted">{t("first")}</span>
        {step("first", "seq-first")}
      </div>
      <div className="row">
        <select
          value={followKey}
          onChange={(e) => {
            const n = without(followKey);
            n[e.target.value] = seq[followKey] ?? { event: "" };
            onChange(n);
          }}
          data-testid="seq-follow"
        >
          <option value="not_followed_by">{t("notFollowedBy")}</option>
          <option value="followed_by">{t("followedBy")}</option>
        </select>
        {step(followKey, "seq-then")}
      </div>
      <div className="row">
        <span className="muted">{t("within")}</span>
        <DurationInput value={seq.within} onChange={(v) => onChange({ ...seq, within: v })} t={t} testId="seq-within" />
        <span className="muted">{t("matchOn")}</span>
        <input
          value={seq.match ?? ""}
          placeholder="cart_id"
          onChange={(e) => onChange(e.target.value ? { ...seq, match: e.target.value } : without("match"))}
          data-testid="seq-match"
        />
        <span className="muted">{t("lookback")}</span>
        <select value={seq.lookback ? "yes" : "no"} onChange={(e) => onChange(e.target.value === "yes" ? { ...seq, lookback: "P7D" } : without("lookback"))} data-testid="seq-lookback-on">
          <option value="no">{t("noLookback")}</option>
          <option value="yes">{t("lookbackOn")}</option>
        </select>
        {seq.lookback && <DurationInput value={seq.lookback} onChange={(v) => onChange({ ...seq, lookback: v })} t={t} testId="seq-lookback" />}
      </div>
    </div>
  );
}
