import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import { api, ApiError, onUnauthorized, setCsrfToken, type Session } from "./api";
import { setLang, useLang, useT } from "./i18n";
import { linkProps, match, navigate, useLocation } from "./router";
import { ErrorBoundary, Loading } from "./ui";
import { SignIn } from "./SignIn";

// Pages load on demand: the canvas (React Flow) and the charts (ECharts) are fetched only where they are used.
const Dashboard = lazy(() => import("./pages/dashboard/Dashboard").then((m) => ({ default: m.Dashboard })));
const ProfilesPage = lazy(() => import("./pages/profiles/ProfilesPage").then((m) => ({ default: m.ProfilesPage })));
const ProfilePage = lazy(() => import("./pages/profiles/ProfilePage").then((m) => ({ default: m.ProfilePage })));
const SegmentsPage = lazy(() => import("./pages/segments/SegmentsPage").then((m) => ({ default: m.SegmentsPage })));
const SegmentPage = lazy(() => import("./pages/segments/SegmentPage").then((m) => ({ default: m.SegmentPage })));
const JourneysPage = lazy(() => import("./pages/journeys/JourneysPage").then((m) => ({ default: m.JourneysPage })));
const JourneyPage = lazy(() => import("./pages/journeys/JourneyPage").then((m) => ({ default: m.JourneyPage })));
const TemplatesPage = lazy(() => import("./pages/templates/TemplatesPage").then((m) => ({ default: m.TemplatesPage })));
const TemplatePage = lazy(() => import("./pages/templates/TemplatePage").then((m) => ({ default: m.TemplatePage })));
const DeliveryPage = lazy(() => import("./pages/delivery/DeliveryPage").then((m) => ({ default: m.DeliveryPage })));
const TasksPage = lazy(() => import("./pages/tasks/TasksPage").then((m) => ({ default: m.TasksPage })));
const AuditPage = lazy(() => import("./pages/audit/AuditPage").then((m) => ({ default: m.AuditPage })));

const L = {
  en: {
    dashboard: "Dashboard",
    profiles: "Profiles",
    segments: "Segments",
    journeys: "Journeys",
    templates: "Templates",
    delivery: "Delivery",
    tasks: "Tasks",
    audit: "Audit & approvals",
    signOut: "Sign out",
    workspace: "Workspace",
    notFound: "There is no page here.",
    backHome: "Back to the dashboard",
  },
  zh: {
    dashboard: "概览",
    profiles: "用户",
    segments: "分群",
    journeys: "旅程",
    templates: "模板",
    delivery: "触达设置",
    tasks: "任务",
    audit: "审计与审批",
    signOut: "退出登录",
    workspace: "工作区",
    notFound: "此页面不存在。",
    backHome: "返回概览",
  },
};

type Route = { pattern: string; render: (p: Record<string, string>) => ReactNode; nav?: keyof typeof L.en };

const routes: Route[] = [
  { pattern: "/", render: () => <Dashboard />, nav: "dashboard" },
  { pattern: "/profiles", render: () => <ProfilesPage />, nav: "profiles" },
  { pattern: "/profiles/:userId", render: (p) => <ProfilePage userId={p.userId} />, nav: "profiles" },
  { pattern: "/segments", render: () => <SegmentsPage />, nav: "segments" },
  { pattern: "/segments/new", render: () => <SegmentPage id={null} />, nav: "segments" },
  { pattern: "/segments/:id", render: (p) => <SegmentPage id={p.id} />, nav: "segments" },
  { pattern: "/journeys", render: () => <JourneysPage />, nav: "journeys" },
  { pattern: "/journeys/:id", render: (p) => <JourneyPage id={p.id} />, nav: "journeys" },
  { pattern: "/templates", render: () => <TemplatesPage />, nav: "templates" },
  { pattern: "/templates/:id", render: (p) => <TemplatePage id={p.id} />, nav: "templates" },
  { pattern: "/delivery", render: () => <DeliveryPage />, nav: "delivery" },
  { pattern: "/tasks", render: () => <TasksPage />, nav: "tasks" },
  { pattern: "/audit", render: () => <AuditPage />, nav: "audit" },
];

const navItems: { key: keyof typeof L.en; to: string; icon: string }[] = [
  { key: "dashboard", to: "/", icon: "◫" },
  { key: "profiles", to: "/profiles", icon: "☺" },
  { key: "segments", to: "/segments", icon: "◎" },
  { key: "journeys", to: "/journeys", icon: "⇶" },
  { key: "templates", to: "/templates", icon: "✎" },
  { key: "delivery", to: "/delivery", icon: "✉" },
  { key: "tasks", to: "/tasks", icon: "✓" },
  { key: "audit", to: "/audit", icon: "☰" },
];

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  useLang(); // re-render on language change

  useEffect(() => {
    if (import.meta.env.DEV && import.meta.env.VITE_DEV_SESSION === "1") {
      // Development only: the vite proxy adds the admin key to every request (see vite.config.ts).
      setSession({ workspace: "dev", keyId: "dev", csrfToken: "", expiresAt: "" });
      return;
    }
    api
      .get<Session>("/api/v1/session")
      .then((s) => {
        setCsrfToken(s.csrfToken);
        setSession(s);
      })
      .catch(() => setSession(null));
    return onUnauthorized(() => {
      setCsrfToken(null);
      setSession(null);
    });
  }, []);

  if (session === undefined) return <Loading />;
  if (session === null)
    return (
      <SignIn
        onSignedIn={(s) => {
          setCsrfToken(s.csrfToken);
          setSession(s);
        }}
      />
    );
  return <Shell session={session} onSignedOut={() => setSession(null)} />;
}

function Shell({ session, onSignedOut }: { session: Session; onSignedOut: () => void }) {
  const t = useT(L);
  const lang = useLang();
  const { path } = useLocation();
  let page: ReactNode = null;
  let active: string | undefined;
  for (const r of routes) {
    const params = match(r.pattern, path);
    if (params) {
      page = r.render(params);
      active = r.nav;
      break;
    }
  }
  const signOut = async () => {
    try {
      await api.del("/api/v1/session");
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
    }
    setCsrfToken(null);
    onSignedOut();
    navigate("/", { replace: true });
  };
  return (
    <div className="shell">
      <nav className="sidebar">
        <div className="brand">
          <span className="logo">触</span> Chuda
        </div>
        {navItems.map((n) => (
          <a key={n.key} {...linkProps(n.to)} className={active === n.key ? "nav active" : "nav"} data-testid={`nav-${n.key}`}>
            <span className="nav-icon">{n.icon}</span>
            {t(n.key)}
          </a>
        ))}
        <div className="sidebar-foot">
          <div className="workspace" title={session.keyId}>
            {t("workspace")}: <strong data-testid="workspace">{session.workspace}</strong>
          </div>
          <div className="lang-switch">
            <button className={lang === "en" ? "active" : ""} onClick={() => setLang("en")} data-testid="lang-en">
              EN
            </button>
            <button className={lang === "zh" ? "active" : ""} onClick={() => setLang("zh")} data-testid="lang-zh">
              中文
            </button>
          </div>
          <button className="btn ghost" onClick={signOut} data-testid="sign-out">
            {t("signOut")}
          </button>
        </div>
      </nav>
      <main className="content" key={path}>
        <ErrorBoundary>
          <Suspense fallback={<Loading />}>{page}</Suspense>
        </ErrorBoundary>
        {page === null && (
          <div className="empty">
            <h3>{t("notFound")}</h3>
            <a {...linkProps("/")}>{t("backHome")}</a>
          </div>
        )}
      </main>
    </div>
  );
}
