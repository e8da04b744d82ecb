import { useState } from "react";
import { api, ApiError, qs } from "../../api";
import { useFormat, useT } from "../../i18n";
import { linkProps, navigate, useLocation } from "../../router";
import { Badge, Empty, ErrorBox, Loading, PageHeader, useAsync } from "../../ui";

// The follow-up list of sales and service staff: tasks created by journeys' task steps (docs/api.md "Tasks").

interface TaskView {
  id: number;
  journey: string | null;
  instanceId: number;
  profileId: number;
  userId: string | null;
  step: string;
  title: string;
  note: string | null;
  assignee: string;
  fromQueue: boolean;
  dueAt: string;
  status: "open" | "done";
  createdAt: string;
  doneAt: string | null;
}

interface TaskPage {
  tasks: TaskView[];
  next: string | null;
}

const L = {
  en: {
    title: "Tasks",
    subtitle: "Follow-ups that journeys' task steps create for sales and service staff, ordered by due time.",
    assignee: "Assignee",
    assigneePlaceholder: "person or queue, e.g. wang.fang@example.com",
    anyone: "everyone",
    status: "Status",
    open: "Open",
    done: "Done",
    all: "All",
    dueBefore: "Due before",
    clear: "Clear filters",
    task: "Task",
    profile: "Profile",
    journey: "Journey",
    due: "Due",
    overdue: "overdue",
    queue: "queue",
    markDone: "Mark done",
    doneAt: "done {at}",
    alreadyDone: "Task {id} was already marked done (perhaps by a colleague); the list is refreshed.",
    gone: "Task {id} no longer exists.",
    more: "Load more",
    emptyTitle: "No tasks here",
    emptyHint: "Tasks come from journeys' task steps (for example the B2B lead follow-up: a sales call after a contact form). Publish such a journey, or change the filters above.",
    emptyFiltered: "No task matches these filters.",
    count: "{n} shown",
  },
  zh: {
    title: "任务",
    subtitle: "旅程中的任务节点为销售和客服人员创建的跟进任务，按到期时间排序。",
    assignee: "负责人",
    assigneePlaceholder: "人员或队列，如 wang.fang@example.com",
    anyone: "所有人",
    status: "状态",
    open: "待处理",
    done: "已完成",
    all: "全部",
    dueBefore: "到期早于",
    clear: "清除筛选",
    task: "任务",
    profile: "用户",
    journey: "旅程",
    due: "到期时间",
    overdue: "已逾期",
    queue: "队列",
    markDone: "标记完成",
    doneAt: "完成于 {at}",
    alreadyDone: "任务 {id} 已被标记为完成（可能是同事操作的），列表已刷新。",
    gone: "任务 {id} 已不存在。",
    more: "加载更多",
    emptyTitle: "暂无任务",
    emptyHint: "任务来自旅程中的任务节点（例如 B2B 线索跟进：用户提交联系表单后安排销售回电）。发布此类旅程，或调整上方筛选条件。",
    emptyFiltered: "没有符合筛选条件的任务。",
    count: "已显示 {n} 条",
  },
};

export function TasksPage() {
  const t = useT(L);
  const f = useFormat();
  const { query } = useLocation();
  const assignee = query.get("assignee") ?? "";
  const status = query.get("status") ?? "open";
  const dueBefore = query.get("due_before") ?? "";
  const [assigneeDraft, setAssigneeDraft] = useState(assignee);
  const [extra, setExtra] = useState<{ tasks: TaskView[]; next: string | null } | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const [now] = useState(() => Date.now());

  const setFilter = (patch: Record<string, string>) => {
    const next = { assignee, status, due_before: dueBefore, ...patch };
    setExtra(null);
    navigate(`/tasks${qs({ assignee: next.assignee, status: next.status === "open" ? "" : next.status, due_before: next.due_before })}`, { replace: true });
  };
  const dueIso = dueBefore ? new Date(dueBefore).toISOString() : "";
  const page = useAsync(
    (signal) =>
      api.get<TaskPage>(`/api/v1/tasks${qs({ assignee, status: status === "all" ? "" : status, due_before: dueIso, limit: 100 })}`, { signal }),
    [assignee, status, dueIso],
  );

  const tasks = [...(page.data?.tasks ?? []), ...(extra?.tasks ?? [])];
  const next = extra ? extra.next : page.data?.next ?? null;
  // Assignees seen so far, for the picker.
  const assignees = [...new Set(tasks.map((x) => x.assignee))].sort();

  const loadMore = async () => {
    if (!next) return;
    try {
      const r = await api.get<TaskPage>(
        `/api/v1/tasks${qs({ assignee, status: status === "all" ? "" : status, due_before: dueIso, after: next, limit: 100 })}`,
      );
      setExtra((e) => ({ tasks: [...(e?.tasks ?? []), ...r.tasks], next: r.next }));
    } catch (e) {
      setActionError(e);
    }
  };

  const markDone = async (task: TaskView) => {
    setBusy(task.id);
    setActionError(null);
    setNotice(null);
    try {
      await api.post(`/api/v1/tasks/${task.id}/done`);
      setExtra(null);
      page.reload();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        setNotice(t("alreadyDone", { id: task.id }));
        setExtra(null);
        page.reload();
      } else if (e instanceof ApiError && e.status === 404) {
        setNotice(t("gone", { id: task.id }));
        page.reload();
      } else setActionError(e);
    } finally {
      setBusy(null);
    }
  };

  const filtered = assignee !== "" || status !== "open" || dueBefore !== "";

  return (
    <div className="tk-page">
      <PageHeader title={t("title")} subtitle={t("subtitle")} />
      <form
        className="panel row tk-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter({ assignee: assigneeDraft.trim() });
        }}
      >
        <label className="row">
          {t("assignee")}
          <input
            value={assigneeDraft}
            onChange={(e) => setAssigneeDraft(e.target.value)}
            onBlur={() => assigneeDraft.trim() !== assignee && setFilter({ assignee: assigneeDraft.trim() })}
            list="tk-assignees"
            placeholder={t("assigneePlaceholder")}
            className="tk-assignee"
            data-testid="task-assignee"
          />
          <datalist id="tk-assignees">
            {assignees.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label className="row">
          {t("status")}
          <select value={status} onChange={(e) => setFilter({ status: e.target.value })} data-testid="task-status">
            <option value="open">{t("open")}</option>
            <option value="done">{t("done")}</option>
            <option value="all">{t("all")}</option>
          </select>
        </label>
        <label className="row">
          {t("dueBefore")}
          <input type="datetime-local" value={dueBefore} onChange={(e) => setFilter({ due_before: e.target.value })} data-testid="task-due-before" />
        </label>
        {filtered && (
          <button
            type="button"
            className="btn small ghost"
            onClick={() => {
              setAssigneeDraft("");
              setExtra(null);
              navigate("/tasks", { replace: true });
            }}
          >
            {t("clear")}
          </button>
        )}
      </form>
      {notice && (
        <div className="tpl-note" role="status" data-testid="task-notice">
          {notice}
        </div>
      )}
      {actionError ? <ErrorBox error={actionError} /> : null}
      {page.error ? <ErrorBox error={page.error} onRetry={page.reload} /> : null}
      {!page.data ? (
        page.error ? null : <Loading />
      ) : tasks.length === 0 ? (
        <Empty title={t("emptyTitle")} hint={filtered ? t("emptyFiltered") : t("emptyHint")} />
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>{t("task")}</th>
                  <th>{t("assignee")}</th>
                  <th>{t("profile")}</th>
                  <th>{t("journey")}</th>
                  <th>{t("due")}</th>
                  <th>{t("status")}</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {tasks.map((task) => {
                  const overdue = task.status === "open" && new Date(task.dueAt).getTime() < now;
                  return (
                    <tr key={task.id} data-testid="task-row" data-task-id={task.id} className={overdue ? "tk-overdue" : undefined}>
                      <td>
                        <strong>{task.title}</strong>
                        {task.note && <div className="muted">{task.note}</div>}
                      </td>
                      <td>
                        <a
                          href={`/tasks${qs({ assignee: task.assignee })}`}
                          onClick={(e) => {
                            e.preventDefault();
                            setAssigneeDraft(task.assignee);
                            setFilter({ assignee: task.assignee });
                          }}
                        >
                          {task.assignee}
                        </a>{" "}
                        {task.fromQueue && <Badge>{t("queue")}</Badge>}
                      </td>
                      <td>
                        {task.userId ? <a {...linkProps(`/profiles/${encodeURIComponent(task.userId)}`)}>{task.userId}</a> : <span className="muted">#{task.profileId}</span>}
                      </td>
                      <td>
                        {task.journey ? <a {...linkProps(`/journeys/${encodeURIComponent(task.journey)}`)}>{task.journey}</a> : "—"}
                        <div className="muted mono">{task.step}</div>
                      </td>
                      <td className={overdue ? "tk-due-overdue" : undefined}>
                        {f.dateTime(task.dueAt)} {overdue && <Badge tone="bad">{t("overdue")}</Badge>}
                      </td>
                      <td>
                        {task.status === "done" ? (
                          <span>
                            <Badge tone="ok">{t("done")}</Badge>
                            <div className="muted">{t("doneAt", { at: f.dateTime(task.doneAt) })}</div>
                          </span>
                        ) : (
                          <Badge tone="warn">{t("open")}</Badge>
                        )}
                      </td>
                      <td>
                        {task.status === "open" && (
                          <button className="btn small primary" onClick={() => markDone(task)} disabled={busy === task.id} data-testid="task-done">
                            ✓ {t("markDone")}
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <div className="row">
            <span className="muted">{t("count", { n: tasks.length })}</span>
            <span className="spacer" />
            {next && (
              <button className="btn" onClick={loadMore} data-testid="task-more">
                {t("more")}
              </button>
            )}
          </div>
        </>
      )}
    </div>
  );
}
