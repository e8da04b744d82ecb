import { PageHeader } from "../../ui";

// Placeholder until this page is built (issue 7).
export function JourneyPage({ id }: { id: string }) {
  return <PageHeader title={"JourneyPage"} subtitle={String(id)} />;
}
