import { PageHeader } from "../../ui";

// Placeholder until this page is built (issue 7).
export function TasksPage() {
  return <PageHeader title={"TasksPage"} />;
}
