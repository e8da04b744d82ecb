import { PageHeader } from "../../ui";

// Placeholder until this page is built (issue 7).
export function ProfilePage({ userId }: { userId: string }) {
  return <PageHeader title={"ProfilePage"} subtitle={String(userId)} />;
}
