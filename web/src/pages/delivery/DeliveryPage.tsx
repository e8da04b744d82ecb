import { PageHeader } from "../../ui";

// Placeholder until this page is built (issue 7).
export function DeliveryPage() {
  return <PageHeader title={"DeliveryPage"} />;
}
