import { Alert, Anchor, Button, Group, Loader, Stack, Table, Text, TextInput, Title, VisuallyHidden } from "@mantine/core";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useSearchParams } from "react-router";

import { searchCustomers } from "../api/client";
import { quickSearchQuery } from "../lib/customerSearch";
import { displayName, SEARCH_DEBOUNCE_MS, searchTerm } from "../lib/search";
import { useDebounced } from "../lib/useDebounced";
import { useFocusHeading } from "../lib/useFocusHeading";
import { StatusBadge } from "./StatusBadge";

export function CustomerSearchScreen() {
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [params, setParams] = useSearchParams();
  const [typed, setTyped] = useState(params.get("q") ?? "");
  const term = searchTerm(useDebounced(typed, SEARCH_DEBOUNCE_MS));

  // A new term replaces the query: TanStack Query aborts the stale request (its signal).
  const results = useInfiniteQuery(quickSearchQuery(term, searchCustomers));
  const customers = results.data?.pages.flatMap((p) => p.items) ?? [];

  const change = (value: string) => {
    setTyped(value);
    setParams(value ? { q: value } : {}, { replace: true });
  };

  return (
    <Stack>
      <Title order={1} ref={heading} tabIndex={-1}>
        Customers
      </Title>
      <form role="search" onSubmit={(e) => e.preventDefault()}>
        <TextInput
          label="Quick search"
          description="Name, email, phone or MDM code (at least 2 letters)"
          type="search"
          value={typed}
          onChange={(e) => change(e.currentTarget.value)}
          rightSection={results.isFetching ? <Loader size="xs" aria-hidden /> : null}
          maw={520}
        />
      </form>
      {results.error && (
        <Alert color="red" title="Search failed">
          {results.error.message}
        </Alert>
      )}
      {term !== null && results.isSuccess && (
        <Text size="sm" role="status">
          {customers.length === 0
            ? "No customer matches."
            : `${customers.length}${results.hasNextPage ? "+" : ""} found`}
        </Text>
      )}
      {customers.length > 0 && (
        <Table striped highlightOnHover aria-label="Customers found" stickyHeader>
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Name</Table.Th>
              <Table.Th scope="col">Email</Table.Th>
              <Table.Th scope="col">MDM code</Table.Th>
              <Table.Th scope="col">City</Table.Th>
              <Table.Th scope="col">Status</Table.Th>
              <Table.Th scope="col">
                <VisuallyHidden>Views</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {customers.map((c) => (
              <Table.Tr key={c.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/customers/${c.id}`}>
                    {displayName(c)}
                  </Anchor>
                </Table.Td>
                <Table.Td>{c.email ?? "—"}</Table.Td>
                <Table.Td>{c.mdm_code ?? "—"}</Table.Td>
                <Table.Td>{c.addresses?.find((a) => a.primary)?.city ?? c.addresses?.[0]?.city ?? "—"}</Table.Td>
                <Table.Td>
                  <StatusBadge status={c.status} />
                </Table.Td>
                <Table.Td>
                  <Anchor component={Link} to={`/customers/${c.id}/360`} aria-label={`360 of ${displayName(c)}`}>
                    360
                  </Anchor>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {results.hasNextPage && (
        <Group>
          <Button variant="default" onClick={() => results.fetchNextPage()} loading={results.isFetchingNextPage}>
            More customers
          </Button>
        </Group>
      )}
    </Stack>
  );
}
