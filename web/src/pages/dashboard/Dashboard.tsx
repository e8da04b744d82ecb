import { PageHeader } from "../../ui";

// Placeholder until this page is built (issue 7).
export function Dashboard() {
  return <PageHeader title={"Dashboard"} />;
}
