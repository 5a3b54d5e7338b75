import { Badge } from "@mantine/core";

/** A customer's status; filled dark shades keep white text at 4.5:1 or more. */
export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge variant="filled" color={status === "active" ? "blue.8" : status === "void" ? "red.9" : "gray.8"}>
      {status}
    </Badge>
  );
}
