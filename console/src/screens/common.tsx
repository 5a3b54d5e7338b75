import { Alert, Center, Loader, VisuallyHidden } from "@mantine/core";

import { ApiError } from "../api/client";

export function Loading({ what }: { what: string }) {
  return (
    <Center p="xl" role="status" aria-live="polite">
      <Loader aria-hidden />
      <VisuallyHidden>Loading {what}</VisuallyHidden>
    </Center>
  );
}

export function Failure({ error, what }: { error: Error; what: string }) {
  const status = error instanceof ApiError ? error.status : null;
  const title =
    status === 404 ? `No such ${what}` : status === 403 ? `Not allowed: this ${what} is not yours to see` : `${what} could not be read`;
  return (
    <Alert color="red" title={title} role="alert">
      {error.message}
    </Alert>
  );
}

/** A part of a view whose service did not answer: the rest of the screen still works. */
export function Unavailable({ what, service }: { what: string; service?: string | null }) {
  return (
    <Alert color="gray" title={`${what} unavailable`} role="status">
      {service ? `The ${service} service is not answering right now.` : "Not available right now."}{" "}
      The rest of the view still works; try again later.
    </Alert>
  );
}
