import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import {
  applyNodeChanges,
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type Edge,
  type Node,
  type NodeChange,
  type EdgeChange,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { api, ApiError } from "../../api";
import { Chart } from "../../Chart";
import { useFormat, useT } from "../../i18n";
import { linkProps } from "../../router";
import { Badge, ErrorBox, Field, Loading, Modal, useAsync, useInterval, useLeaveGuard } from "../../ui";
import { L } from "./strings";
import { nodeTypes, outcomeLabel, type StepNodeData, type TriggerNodeData } from "./nodes";
import { LinkFields, RawStep, StepForm, TriggerForm, type Catalogs } from "./forms";
import { StatusBadge } from "./JourneysPage";
import {
  autoLayout,
  journeyErrors,
  links,
  newStep,
  NODE_WIDTH,
  removeSteps,
  renameStep,
  setLink,
  startOf,
  STEP_ICONS,
  STEP_TYPES,
  storedLayout,
  TRIGGER_OFFSET,
  uniqueStepId,
  type Definition,
  type JourneyError,
  type JourneyStats,
  type JourneyVersionView,
  type JourneyView,
  type Position,
  type PublishView,
  type SegmentItem,
  type Step,
  type StepStats,
  type TemplateItem,
  type ValidationView,
} from "./model";

const TRIGGER = "__trigger";
const DRAG_TYPE = "application/x-chuda-step";
/** Top-level keys whose faults belong to the trigger node. */
const TRIGGER_KEYS = ["trigger", "entry_filter", "re_entry", "entry_cap", "goal", "exit", "time_zone", "name", "description", "start"];

type Message = { tone: "ok" | "warn" | "bad" | "info"; text: string } | null;

export function JourneyPage({ id }: { id: string }) {
  return (
    <ReactFlowProvider>
      <Editor id={id} />
    </ReactFlowProvider>
  );
}

function Editor({ id }: { id: string }) {
  const t = useT(L);
  const flow = useReactFlow();
  const path = `/api/v1/journeys/${encodeURIComponent(id)}`;

  const [journey, setJourney] = useState<JourneyView | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [viewVersion, setViewVersion] = useState<number | null>(null); // null: the latest (editable)
  const [def, setDef] = useState<Definition | null>(null);
  const [baseline, setBaseline] = useState("");
  const [layoutDirty, setLayoutDirty] = useState(false);
  const [nodes, setNodes] = useState<Node[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [selectedEdge, setSelectedEdge] = useState<string | null>(null);
  const [errors, setErrors] = useState<JourneyError[]>([]);
  const [message, setMessage] = useState<Message>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [conflict, setConflict] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [stats, setStats] = useState<JourneyStats | null>(null);
  const [dialog, setDialog] = useState<"publish" | "reject" | "archive" | null>(null);
  const pending = useRef<Record<string, Position>>({});
  const wrapper = useRef<HTMLDivElement>(null);

  const catalogsState = useAsync<Catalogs>(async (signal) => {
    const [templates, segments] = await Promise.all([
      api.get<TemplateItem[]>("/api/v1/templates", { signal }).catch(() => [] as TemplateItem[]),
      api.get<{ segments: SegmentItem[] }>("/api/v1/segments", { signal }).then((r) => r.segments).catch(() => [] as SegmentItem[]),
    ]);
    return { templates: Array.isArray(templates) ? templates : [], segments };
  }, []);
  const catalogs = catalogsState.data ?? { templates: [], segments: [] };

  const show = (d: Definition) => {
    pending.current = {};
    setNodes([]);
    setDef(d);
    setBaseline(JSON.stringify(d));
    setLayoutDirty(false);
    setSelectedEdge(null);
    setTimeout(() => flow.fitView({ maxZoom: 1, padding: 0.15 }), 80);
  };

  const load = useCallback(async () => {
    setLoadError(null);
    setConflict(false);
    setErrors([]);
    try {
      const j = await api.get<JourneyView>(path);
      setJourney(j);
      setViewVersion(null);
      show(j.definition);
    } catch (e) {
      setLoadError(e);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path]);

  useEffect(() => {
    load();
  }, [load]);


  const readOnly = !journey || journey.status === "archived" || (viewVersion !== null && viewVersion !== journey.latestVersion);
  const dirty = !!def && (JSON.stringify(def) !== baseline || layoutDirty);
  // Leaving the page (reload, close, an in-app link) with unsaved edits asks first.
  useLeaveGuard(dirty);

  // ---- stats: polled every 3 s while there is a live version ----
  const statsVersion = journey ? (viewVersion ?? journey.liveVersion ?? null) : null;
  const fetchStats = useCallback(async () => {
    try {
      setStats(await api.get<JourneyStats>(`${path}/stats`));
    } catch {
      /* the next poll tries again */
    }
  }, [path]);
  useEffect(() => {
    if (journey && journey.liveVersion !== null) fetchStats();
  }, [journey, fetchStats]);
  useInterval(fetchStats, journey && journey.liveVersion !== null ? 3000 : null);
  const stepStats = useMemo(() => {
    const m = new Map<string, StepStats>();
    if (stats && statsVersion !== null) for (const s of stats.steps) if (s.version === statsVersion) m.set(s.step, s);
    return m;
  }, [stats, statsVersion]);

  // ---- errors per node ----
  const errorsByNode = useMemo(() => {
    const m = new Map<string, string[]>();
    const add = (k: string, msg: string) => m.set(k, [...(m.get(k) ?? []), msg]);
    for (const e of errors) {
      if (e.step) add(e.step, e.message);
      else {
        const key = /^\$\.(?:definition\.)?([a-z_]+)/.exec(e.path)?.[1];
        if (key && TRIGGER_KEYS.includes(key)) add(TRIGGER, `${e.field || e.path}: ${e.message}`);
      }
    }
    return m;
  }, [errors]);
  const stepIds = useMemo(() => new Set(def?.steps.map((s) => s.id) ?? []), [def]);
  const outsideErrors = errors.filter((e) => !e.step || !stepIds.has(e.step));

  // ---- nodes: built from the definition; positions kept across edits ----
  useEffect(() => {
    if (!def) return;
    setNodes((prev) => {
      const prevById = new Map(prev.map((n) => [n.id, n]));
      const stored = storedLayout(def);
      const auto = autoLayout(def);
      const live = journey?.liveVersion !== null && journey?.liveVersion !== undefined;
      const result: Node[] = def.steps.map((step) => {
        const old = prevById.get(step.id);
        const position = old?.position ?? pending.current[step.id] ?? stored[step.id] ?? auto[step.id] ?? { x: 0, y: 0 };
        const data: StepNodeData = {
          step,
          stats: live ? (stepStats.get(step.id) ?? { version: statsVersion ?? 0, step: step.id, entered: 0, completed: 0, waiting: 0, converted: 0, exited: {} }) : null,
          errors: errorsByNode.get(step.id) ?? [],
          isStart: startOf(def) === step.id,
        };
        return { ...(old ?? {}), id: step.id, type: "step", position, data, draggable: !readOnly, connectable: !readOnly, deletable: !readOnly };
      });
      const start = startOf(def);
      const startNode = result.find((n) => n.id === start) ?? result[0];
      const oldTrigger = prevById.get(TRIGGER);
      const triggerPosition = oldTrigger?.position ?? (startNode ? { x: startNode.position.x, y: Math.min(...result.map((n) => n.position.y)) - TRIGGER_OFFSET } : { x: 0, y: 0 });
      const triggerData: TriggerNodeData = { def, errors: errorsByNode.get(TRIGGER) ?? [], entered: live && stats ? stats.entered : null };
      result.unshift({ ...(oldTrigger ?? {}), id: TRIGGER, type: "trigger", position: triggerPosition, data: triggerData, deletable: false, connectable: !readOnly });
      return result.map((n) => ({ ...n, selected: n.id === selected }));
    });
  }, [def, stepStats, errorsByNode, readOnly, journey, stats, statsVersion, selected]);

  // ---- edges: derived from the links ----
  const edges = useMemo<Edge[]>(() => {
    if (!def) return [];
    const result: Edge[] = [];
    const start = startOf(def);
    if (start && stepIds.has(start))
      result.push({ id: "start", source: TRIGGER, sourceHandle: "start", target: start, targetHandle: "in", data: { source: TRIGGER, outcome: "start" }, selected: selectedEdge === "start", deletable: !readOnly, className: "jn-edge-start" });
    for (const step of def.steps) {
      for (const l of links(step)) {
        if (!l.target || !stepIds.has(l.target)) continue;
        const edgeId = `${step.id}->${l.outcome}`;
        const label = outcomeLabel(t, step, l, false);
        result.push({
          id: edgeId,
          source: step.id,
          sourceHandle: l.outcome,
          target: l.target,
          targetHandle: "in",
          label,
          data: { source: step.id, outcome: l.outcome },
          selected: selectedEdge === edgeId,
          deletable: !readOnly,
          animated: (stepStats.get(step.id)?.waiting ?? 0) > 0,
          className: l.outcome === "timeout" || l.outcome === "no" ? "jn-edge-alt" : undefined,
        });
      }
    }
    return result;
  }, [def, stepIds, selectedEdge, readOnly, stepStats, t]);

  // ---- editing ----
  const updateStep = (stepId: string, next: Step) => setDef((d) => (d ? { ...d, steps: d.steps.map((s) => (s.id === stepId ? next : s)) } : d));

  const onNodesChange = useCallback(
    (changes: NodeChange[]) => {
      const kept = changes.filter((c) => c.type !== "remove" && c.type !== "select");
      if (kept.some((c) => c.type === "position" && c.dragging === false)) setLayoutDirty(true);
      if (kept.length) setNodes((ns) => applyNodeChanges(kept, ns));
    },
    [],
  );

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    for (const c of changes) if (c.type === "select") setSelectedEdge((cur) => (c.selected ? c.id : cur === c.id ? null : cur));
  }, []);

  const onConnect = useCallback(
    (c: Connection) => {
      if (readOnly || !c.target || c.target === TRIGGER) return;
      if (c.source === TRIGGER) {
        setDef((d) => (d ? { ...d, start: c.target } : d));
        return;
      }
      setDef((d) => (d ? { ...d, steps: d.steps.map((s) => (s.id === c.source ? setLink(s, c.sourceHandle ?? "next", c.target) : s)) } : d));
    },
    [readOnly],
  );

  const onEdgesDelete = useCallback(
    (deleted: Edge[]) => {
      if (readOnly) return;
      setDef((d) => {
        if (!d) return d;
        let next = d;
        for (const e of deleted) {
          const { source, outcome } = (e.data ?? {}) as { source?: string; outcome?: string };
          if (!source || !outcome) continue;
          if (source === TRIGGER) {
            next = { ...next };
            delete next.start;
          } else next = { ...next, steps: next.steps.map((s) => (s.id === source ? setLink(s, outcome, null) : s)) };
        }
        return next;
      });
      setSelectedEdge(null);
    },
    [readOnly],
  );

  const deleteSteps = useCallback(
    (ids: string[]) => {
      const steps = ids.filter((x) => x !== TRIGGER);
      if (readOnly || steps.length === 0) return;
      setDef((d) => (d ? removeSteps(d, steps) : d));
      setSelected((cur) => (cur && steps.includes(cur) ? null : cur));
    },
    [readOnly],
  );

  const addStep = (type: string, at: Position) => {
    if (!def || readOnly) return;
    const stepId = uniqueStepId(def, type);
    pending.current[stepId] = at;
    setDef({ ...def, steps: [...def.steps, newStep(type, stepId)] });
    setSelected(stepId);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const type = e.dataTransfer.getData(DRAG_TYPE) || e.dataTransfer.getData("text/plain");
    if (!(STEP_TYPES as readonly string[]).includes(type)) return;
    const p = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
    addStep(type, { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y - 30) });
  };

  /** Click (or Enter) on a palette item: the new step goes under the lowest one, in view. */
  const addBelow = (type: string) => {
    const steps = nodes.filter((n) => n.id !== TRIGGER);
    if (steps.length === 0) {
      const r = wrapper.current?.getBoundingClientRect();
      const p = r ? flow.screenToFlowPosition({ x: r.left + r.width / 2, y: r.top + r.height / 3 }) : { x: 0, y: 0 };
      addStep(type, { x: Math.round(p.x - NODE_WIDTH / 2), y: Math.round(p.y) });
      return;
    }
    const lowest = steps.reduce((a, b) => (b.position.y > a.position.y ? b : a));
    const at = { x: Math.round(lowest.position.x), y: Math.round(lowest.position.y + (lowest.measured?.height ?? 100) + 70) };
    addStep(type, at);
    setTimeout(() => flow.setCenter(at.x + NODE_WIDTH / 2, at.y + 60, { zoom: flow.getZoom(), duration: 200 }), 30);
  };

  /** Lays every step out again (top-down by depth from the start). */
  const arrange = () => {
    if (!def) return;
    const auto = autoLayout(def);
    setNodes((ns) =>
      ns.map((n) => {
        if (n.id === TRIGGER) {
          const start = startOf(def);
          const p = start ? auto[start] : undefined;
          return p ? { ...n, position: { x: p.x, y: p.y - TRIGGER_OFFSET } } : n;
        }
        return auto[n.id] ? { ...n, position: auto[n.id] } : n;
      }),
    );
    setLayoutDirty(true);
    setTimeout(() => flow.fitView({ maxZoom: 1, padding: 0.15, duration: 200 }), 120);
  };

  const rename = (from: string, to: string) => {
    const node = nodes.find((n) => n.id === from);
    if (node) pending.current[to] = node.position;
    setDef((d) => (d ? renameStep(d, from, to) : d));
    setSelected(to);
  };

  // ---- server actions ----
  const layoutOf = (): Record<string, { x: number; y: number }> => {
    const result: Record<string, { x: number; y: number }> = {};
    for (const n of nodes) if (n.id !== TRIGGER && stepIds.has(n.id)) result[n.id] = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
    return result;
  };

  const fail = (e: unknown) => {
    if (e instanceof ApiError && e.status === 412) {
      setConflict(true);
      return;
    }
    const found = e instanceof ApiError ? journeyErrors(e.body) : [];
    if (found.length) {
      setErrors(found);
      setMessage({ tone: "bad", text: (e as ApiError).title });
    } else setActionError(e);
  };

  /** Saves the edits as a new version; answers the saved journey (null when it failed). */
  const save = async (): Promise<JourneyView | null> => {
    if (!def || !journey) return null;
    setBusy("save");
    setActionError(null);
    setMessage(null);
    try {
      const definition = { ...def, layout: layoutOf() };
      const saved = await api.put<JourneyView>(path, { definition }, { headers: { "If-Match": `"${journey.revision}"` } });
      setJourney(saved);
      setDef(saved.definition);
      setBaseline(JSON.stringify(saved.definition));
      setLayoutDirty(false);
      setErrors([]);
      setMessage({ tone: "ok", text: t("savedVersion", { v: saved.latestVersion }) });
      return saved;
    } catch (e) {
      fail(e);
      return null;
    } finally {
      setBusy(null);
    }
  };

  const validate = async () => {
    if (!journey) return;
    let version = viewVersion ?? journey.latestVersion;
    if (dirty && !readOnly) {
      const saved = await save();
      if (!saved) return;
      version = saved.latestVersion;
    }
    setBusy("validate");
    setActionError(null);
    try {
      const r = await api.post<ValidationView>(`${path}/validate?version=${version}`);
      setErrors(r.errors);
      setMessage(r.valid ? { tone: "ok", text: t("validOk", { v: r.version }) } : { tone: "bad", text: `${t("problems")}: ${r.errors.length}` });
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const publish = async (migrate: boolean) => {
    if (!journey) return;
    setDialog(null);
    let version = journey.latestVersion;
    if (dirty && !readOnly) {
      const saved = await save();
      if (!saved) return;
      version = saved.latestVersion;
    }
    setBusy("publish");
    setActionError(null);
    try {
      const r = await api.post<PublishView>(`${path}/publish`, { version, migrate });
      setJourney(r.journey);
      setErrors([]);
      if (r.pendingApproval) setMessage({ tone: "info", text: t("pendingApprovalMsg", { v: version }) });
      else setMessage({ tone: "ok", text: t("published", { v: version }) + (migrate ? " " + t("migratedN", { n: r.migrated }) : "") });
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const lifecycle = async (action: "approve" | "reject" | "pause" | "resume" | "archive", body: unknown, done: string) => {
    if (!journey) return;
    setDialog(null);
    setBusy(action);
    setActionError(null);
    try {
      await api.post(`${path}/${action}`, body);
      const j = await api.get<JourneyView>(path);
      setJourney(j);
      setMessage({ tone: action === "archive" || action === "reject" ? "warn" : "ok", text: done });
    } catch (e) {
      fail(e);
    } finally {
      setBusy(null);
    }
  };

  const switchVersion = async (v: number) => {
    if (!journey) return;
    if (dirty && !window.confirm(t("unsaved") + " — " + t("reload") + "?")) return;
    setErrors([]);
    setMessage(null);
    setSelected(null);
    if (v === journey.latestVersion) {
      setViewVersion(null);
      show(journey.definition);
      return;
    }
    try {
      const version = await api.get<JourneyVersionView>(`${path}/versions/${v}`);
      setViewVersion(v);
      show(version.definition);
    } catch (e) {
      setActionError(e);
    }
  };

  // ---- render ----
  if (loadError) return <ErrorBox error={loadError} onRetry={load} />;
  if (!journey || !def) return <Loading />;

  const selectedStep = selected && selected !== TRIGGER ? def.steps.find((s) => s.id === selected) ?? null : null;
  const status = journey.status;
  const versionShown = viewVersion ?? journey.latestVersion;

  return (
    <div className="jn-editor">
      <div className="jn-toolbar">
        <a className="jn-back" title={t("back")} aria-label={t("back")} data-testid="journey-back" {...linkProps("/journeys")}>
          ←
        </a>
        <h1 className="jn-title" title={def.name || journey.name}>
          {def.name || journey.name}
        </h1>
        <span className="mono muted" data-testid="journey-id">
          {journey.id}
        </span>
        <StatusBadge status={status} />
        {journey.pendingVersion !== null && status !== "pending_approval" && <Badge tone="info">{t("status_pending_approval")}</Badge>}
        <label className="jn-version">
          {t("version")}
          <select data-testid="journey-version" value={versionShown} onChange={(e) => switchVersion(Number(e.target.value))}>
            {[...journey.versions].reverse().map((v) => (
              <option key={v} value={v}>
                v{v}
                {v === journey.latestVersion ? ` · ${t("latest")}` : ""}
                {v === journey.liveVersion ? ` · ${t("live")}` : ""}
                {v === journey.pendingVersion ? ` · ${t("pending")}` : ""}
              </option>
            ))}
          </select>
        </label>
        {!readOnly && (
          <span className={dirty ? "jn-dirty" : "jn-clean"} data-testid="journey-dirty" data-dirty={dirty ? "true" : "false"}>
            {dirty ? "● " + t("unsaved") : "✓ " + t("saved")}
          </span>
        )}
        <span className="spacer" />
        {!readOnly && (
          <button className="btn small ghost" data-testid="journey-arrange" title={t("arrangeHint")} onClick={arrange}>
            {t("arrange")}
          </button>
        )}
        {!readOnly && (
          <button className="btn small" data-testid="journey-save" disabled={!!busy || !dirty} onClick={() => save()}>
            {busy === "save" ? t("saving") : t("save")}
          </button>
        )}
        <button className="btn small" data-testid="journey-validate" disabled={!!busy} onClick={validate}>
          {t("validate")}
        </button>
        {status !== "archived" && viewVersion === null && (
          <button className="btn small primary" data-testid="journey-publish" disabled={!!busy} onClick={() => setDialog("publish")}>
            {t("publish")}
          </button>
        )}
        {journey.pendingVersion !== null && (
          <>
            <button className="btn small" data-testid="journey-approve" disabled={!!busy} onClick={() => lifecycle("approve", {}, t("approved", { v: journey.pendingVersion! }))}>
              {t("approve")}
            </button>
            <button className="btn small danger" data-testid="journey-reject" disabled={!!busy} onClick={() => setDialog("reject")}>
              {t("reject")}
            </button>
          </>
        )}
        {status === "published" && (
          <button className="btn small" data-testid="journey-pause" disabled={!!busy} onClick={() => lifecycle("pause", {}, t("paused"))}>
            {t("pause")}
          </button>
        )}
        {status === "paused" && (
          <button className="btn small" data-testid="journey-resume" disabled={!!busy} onClick={() => lifecycle("resume", {}, t("resumed"))}>
            {t("resume")}
          </button>
        )}
        {status !== "archived" && (
          <button className="btn small danger" data-testid="journey-archive" disabled={!!busy} onClick={() => setDialog("archive")}>
            {t("archive")}
          </button>
        )}
      </div>

      {conflict && (
        <div className="error-box" role="alert" data-testid="journey-conflict">
          {t("conflict")}{" "}
          <button className="btn small" onClick={load}>
            {t("reload")}
          </button>
        </div>
      )}
      {journey.pendingVersion !== null && journey.pendingBy && (
        <div className="jn-banner info" data-testid="journey-pending">
          {t("pendingBy", { v: journey.pendingVersion, key: journey.pendingBy })}
        </div>
      )}
      {readOnly && (
        <div className="jn-banner warn" data-testid="journey-readonly">
          {status === "archived" ? t("readOnlyArchived") : t("readOnlyOld", { v: versionShown })}
        </div>
      )}
      {message && (
        <div className={`jn-banner ${message.tone}`} data-testid="journey-message" role="status">
          {message.text}
          <button className="jn-dismiss" aria-label="×" onClick={() => setMessage(null)}>
            ×
          </button>
        </div>
      )}
      {outsideErrors.length > 0 && (
        <div className="error-box" data-testid="journey-errors">
          <strong>{t("problemsOutside")}</strong>
          <ul>
            {outsideErrors.map((e, i) => (
              <li key={i}>
                <span className="mono">{e.field || e.path}</span>: {e.message} <span className="muted">({e.code})</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      {actionError ? (
        <div className="jn-dismissible">
          <ErrorBox error={actionError} />
          <button className="jn-dismiss" aria-label="×" onClick={() => setActionError(null)}>
            ×
          </button>
        </div>
      ) : null}

      <Funnel journey={journey} stats={stats} version={statsVersion} />

      <div className="jn-body">
        <aside className="jn-palette" data-testid="palette">
          <h3>{t("palette")}</h3>
          <p className="field-hint">{t("paletteHint")}</p>
          {STEP_TYPES.map((type) => (
            <div
              key={type}
              className={`jn-palette-item jn-${type}${readOnly ? " disabled" : ""}`}
              data-testid={`palette-${type}`}
              draggable={!readOnly}
              role="button"
              tabIndex={readOnly ? -1 : 0}
              onDragStart={(e) => {
                e.dataTransfer.setData(DRAG_TYPE, type);
                e.dataTransfer.setData("text/plain", type);
                e.dataTransfer.effectAllowed = "move";
              }}
              onClick={() => addBelow(type)}
              onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && addBelow(type)}
            >
              <span className="jn-icon">{STEP_ICONS[type]}</span>
              <span>
                <strong>{t(`type_${type}` as "type_wait")}</strong>
                <small>{t(`desc_${type}` as "desc_wait")}</small>
              </span>
            </div>
          ))}
        </aside>

        <div className="jn-canvas" data-testid="journey-canvas" ref={wrapper} onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = "move";
        }} onDrop={onDrop}>
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onEdgesDelete={onEdgesDelete}
            onNodesDelete={(ns) => deleteSteps(ns.map((n) => n.id))}
            onNodeClick={(_, n) => {
              setSelected(n.id);
              setSelectedEdge(null);
            }}
            onPaneClick={() => {
              setSelected(null);
              setSelectedEdge(null);
            }}
            isValidConnection={(c) => c.target !== TRIGGER && c.source !== c.target}
            deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
            nodesDraggable={!readOnly}
            nodesConnectable={!readOnly}
            fitView
            fitViewOptions={{ maxZoom: 1, padding: 0.15 }}
            minZoom={0.2}
            proOptions={{ hideAttribution: true }}
          >
            <Background gap={20} />
            <Controls showInteractive={false} />
            <MiniMap pannable zoomable style={{ width: 150, height: 100 }} nodeColor={(n) => (n.id === TRIGGER ? "#fd7e14" : (n.data as StepNodeData).errors?.length ? "#e03131" : "#c5cad6")} />
          </ReactFlow>
        </div>

        <aside className="jn-side" data-testid="side-panel">
          {selected === TRIGGER ? (
            <>
              <h3>
                {STEP_ICONS.trigger} {t("trigger")}
              </h3>
              <NodeErrors list={errorsByNode.get(TRIGGER) ?? []} />
              <TriggerForm def={def} readOnly={readOnly} catalogs={catalogs} onChange={(d) => setDef(d)} />
            </>
          ) : selectedStep ? (
            <StepPanel
              key={selectedStep.id}
              step={selectedStep}
              def={def}
              readOnly={readOnly}
              catalogs={catalogs}
              errors={errorsByNode.get(selectedStep.id) ?? []}
              stats={journey.liveVersion !== null ? stepStats.get(selectedStep.id) ?? null : undefined}
              onChange={(s) => updateStep(selectedStep.id, s)}
              onRename={(to) => rename(selectedStep.id, to)}
              onDelete={() => deleteSteps([selectedStep.id])}
            />
          ) : (
            <p className="muted">{t("panelEmpty")}</p>
          )}
        </aside>
      </div>

      {dialog === "publish" && <PublishDialog version={dirty ? journey.latestVersion + 1 : journey.latestVersion} dirty={dirty} onClose={() => setDialog(null)} onPublish={publish} />}
      {dialog === "reject" && <RejectDialog onClose={() => setDialog(null)} onReject={(reason) => lifecycle("reject", reason ? { reason } : {}, t("rejected"))} />}
      {dialog === "archive" && (
        <Modal title={t("archiveTitle")} onClose={() => setDialog(null)}>
          <p>{t("archiveHint")}</p>
          <div className="row" style={{ justifyContent: "flex-end" }}>
            <button className="btn ghost" onClick={() => setDialog(null)}>
              {t("cancel")}
            </button>
            <button className="btn danger" data-testid="archive-confirm" onClick={() => lifecycle("archive", {}, t("archived"))}>
              {t("confirmArchive")}
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}

function NodeErrors({ list }: { list: string[] }) {
  const t = useT(L);
  if (list.length === 0) return null;
  return (
    <div className="error-box" data-testid="side-errors">
      <strong>{t("problems")}</strong>
      <ul>
        {list.map((e, i) => (
          <li key={i}>{e}</li>
        ))}
      </ul>
    </div>
  );
}

function StepPanel({ step, def, readOnly, catalogs, errors, stats, onChange, onRename, onDelete }: {
  step: Step;
  def: Definition;
  readOnly: boolean;
  catalogs: Catalogs;
  errors: string[];
  stats: StepStats | null | undefined;
  onChange: (s: Step) => void;
  onRename: (to: string) => void;
  onDelete: () => void;
}) {
  const t = useT(L);
  const f = useFormat();
  const [stepId, setStepId] = useState(step.id);
  const taken = stepId !== step.id && def.steps.some((s) => s.id === stepId);
  const idOk = stepId.length >= 1 && stepId.length <= 64 && !taken;
  const commit = () => {
    if (stepId !== step.id && idOk) onRename(stepId);
    else setStepId(step.id);
  };
  return (
    <>
      <h3>
        {STEP_ICONS[step.type]} {t(`type_${step.type}` as "type_wait")}
      </h3>
      <NodeErrors list={errors} />
      {stats !== undefined && (
        <div className="jn-step-stats" data-testid="side-stats">
          <h4 className="jn-sub">{t("stepStats")}</h4>
          <div className="jn-mini-stats">
            {(["entered", "waiting", "completed", "converted"] as const).map((k) => (
              <div key={k}>
                <span className="muted">{t(k)}</span>
                <b>{f.number(stats ? stats[k] : 0)}</b>
              </div>
            ))}
          </div>
          <div className="field-hint">
            {t("exitReasons")}:{" "}
            {stats && Object.keys(stats.exited).length
              ? Object.entries(stats.exited)
                  .map(([reason, n]) => `${reason} ${f.number(n)}`)
                  .join(" · ")
              : t("none")}
          </div>
        </div>
      )}
      <Field label={t("stepId")} hint={taken ? `'${stepId}' ≠ unique` : t("stepIdHint")}>
        <input
          data-testid="field-id"
          value={stepId}
          readOnly={readOnly}
          maxLength={64}
          onChange={(e) => setStepId(e.target.value.trim())}
          onBlur={commit}
          onKeyDown={(e) => e.key === "Enter" && commit()}
        />
      </Field>
      <StepForm step={step} readOnly={readOnly} catalogs={catalogs} onChange={onChange} />
      <LinkFields step={step} def={def} readOnly={readOnly} onChange={onChange} />
      <RawStep step={step} readOnly={readOnly} onApply={(s) => {
        if (s.id !== step.id) {
          onChange({ ...s, id: step.id });
          onRename(s.id);
        } else onChange(s);
      }} />
      {!readOnly && (
        <button className="btn danger small jn-delete" data-testid="delete-step" onClick={onDelete}>
          {t("deleteStep")}
        </button>
      )}
    </>
  );
}

function Funnel({ journey, stats, version }: { journey: JourneyView; stats: JourneyStats | null; version: number | null }) {
  const t = useT(L);
  const f = useFormat();
  const option = useMemo(
    () =>
      stats
        ? {
            grid: { left: 90, right: 40, top: 6, bottom: 6 },
            xAxis: { type: "value", show: false },
            yAxis: { type: "category", inverse: true, data: [t("entered"), t("active"), t("completed"), t("converted")], axisTick: { show: false } },
            tooltip: { trigger: "axis" },
            series: [
              {
                type: "bar",
                data: [stats.entered, stats.active, stats.completed, stats.converted],
                itemStyle: { color: "#fd7e14", borderRadius: 3 },
                label: { show: true, position: "right" },
                barWidth: 12,
              },
            ],
          }
        : null,
    [stats, t],
  );
  if (journey.liveVersion === null)
    return (
      <div className="jn-funnel muted" data-testid="funnel">
        {t("noLive")}
      </div>
    );
  return (
    <div className="jn-funnel" data-testid="funnel">
      <div className="jn-funnel-stats">
        <div>
          <span>{t("entered")}</span>
          <b data-testid="funnel-entered">{stats?.entered ?? 0}</b>
        </div>
        <div>
          <span>{t("active")}</span>
          <b data-testid="funnel-active">{stats?.active ?? 0}</b>
        </div>
        <div>
          <span>{t("completed")}</span>
          <b data-testid="funnel-completed">{stats?.completed ?? 0}</b>
        </div>
        <div>
          <span>{t("converted")}</span>
          <b data-testid="funnel-converted">{stats?.converted ?? 0}</b>
        </div>
        <div>
          <span>{t("rate")}</span>
          <b data-testid="funnel-rate">{f.percent(stats?.conversionRate ?? 0)}</b>
        </div>
        <small className="muted">{version !== null ? t("countsFor", { v: version }) : ""}</small>
      </div>
      {option && (
        <div className="jn-funnel-chart">
          <Chart option={option} height={92} testId="funnel-chart" />
        </div>
      )}
    </div>
  );
}

function PublishDialog({ version, dirty, onClose, onPublish }: { version: number; dirty: boolean; onClose: () => void; onPublish: (migrate: boolean) => void }) {
  const t = useT(L);
  const [migrate, setMigrate] = useState(false);
  return (
    <Modal title={t("publishTitle", { v: version })} onClose={onClose}>
      <p>{t("publishHint")}</p>
      {dirty && <p className="jn-banner info">{t("publishUnsaved")}</p>}
      <label className="jn-check">
        <input type="checkbox" data-testid="publish-migrate" checked={migrate} onChange={(e) => setMigrate(e.target.checked)} />
        {t("migrate")}
      </label>
      <div className="row" style={{ justifyContent: "flex-end", marginTop: 12 }}>
        <button className="btn ghost" onClick={onClose}>
          {t("cancel")}
        </button>
        <button className="btn primary" data-testid="publish-confirm" onClick={() => onPublish(migrate)}>
          {t("publish")}
        </button>
      </div>
    </Modal>
  );
}

function RejectDialog({ onClose, onReject }: { onClose: () => void; onReject: (reason: string) => void }) {
  const t = useT(L);
  const [reason, setReason] = useState("");
  return (
    <Modal title={t("rejectTitle")} onClose={onClose}>
      <Field label={t("reason")}>
        <input data-testid="reject-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
      </Field>
      <div className="row" style={{ justifyContent: "flex-end" }}>
        <button className="btn ghost" onClick={onClose}>
          {t("cancel")}
        </button>
        <button className="btn danger" data-testid="reject-confirm" onClick={() => onReject(reason.trim())}>
          {t("reject")}
        </button>
      </div>
    </Modal>
  );
}
