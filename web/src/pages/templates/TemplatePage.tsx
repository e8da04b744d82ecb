import { PageHeader } from "../../ui";

// Placeholder until this page is built (issue 7).
export function TemplatePage({ id }: { id: string }) {
  return <PageHeader title={"TemplatePage"} subtitle={String(id)} />;
}
