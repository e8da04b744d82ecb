import { useT } from "../../i18n";
import { navigate, useLocation } from "../../router";
import { PageHeader, Tabs } from "../../ui";
import { Policy } from "./Policy";
import { Providers } from "./Providers";
import { Sandbox } from "./Sandbox";
import { Suppressions } from "./Suppressions";
import { WorkspaceSettings } from "./WorkspaceSettings";

const L = {
  en: {
    title: "Delivery settings",
    subtitle: "Providers per channel, the rules marketing messages follow, and where test messages land.",
    providers: "Providers",
    policy: "Policy",
    sandbox: "Sandbox outbox",
    suppressions: "Suppressions",
    settings: "Workspace settings",
  },
  zh: {
    title: "触达设置",
    subtitle: "各渠道的服务商、营销消息遵循的规则，以及测试消息的去向。",
    providers: "服务商",
    policy: "触达策略",
    sandbox: "沙箱发件箱",
    suppressions: "屏蔽名单",
    settings: "工作区设置",
  },
};

type Tab = "providers" | "policy" | "sandbox" | "suppressions" | "settings";
const TABS: Tab[] = ["providers", "policy", "sandbox", "suppressions", "settings"];

export function DeliveryPage() {
  const t = useT(L);
  const { query } = useLocation();
  const q = query.get("tab") as Tab | null;
  const tab: Tab = q && TABS.includes(q) ? q : "providers";
  return (
    <div className="dl-page">
      <PageHeader title={t("title")} subtitle={t("subtitle")} />
      <Tabs
        tabs={TABS.map((k) => ({ key: k, label: t(k) }))}
        value={tab}
        onChange={(k) => navigate(k === "providers" ? "/delivery" : `/delivery?tab=${k}`, { replace: true })}
      />
      {tab === "providers" && <Providers />}
      {tab === "policy" && <Policy />}
      {tab === "sandbox" && <Sandbox />}
      {tab === "suppressions" && <Suppressions />}
      {tab === "settings" && <WorkspaceSettings />}
    </div>
  );
}
