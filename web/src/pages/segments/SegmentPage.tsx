import { PageHeader } from "../../ui";

// Placeholder until this page is built (issue 7).
export function SegmentPage({ id }: { id: string | null }) {
  return <PageHeader title={"SegmentPage"} subtitle={String(id)} />;
}
