import { Alert, Anchor, Badge, Button, Group, List, Paper, Stack, Switch, Table, Text, Title } from "@mantine/core";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useParams } from "react-router";

import { api, download, unwrap, type Schemas } from "../api/client";
import { formatDate } from "../lib/format";
import { describeListReason, describeUsage, exclusions, owners, rulesOf } from "../lib/lists";
import { useFocusHeading } from "../lib/useFocusHeading";
import { Failure, Loading } from "./common";
import { useSavedSearches } from "./Lists";

type StaticList = Schemas["StaticList"];
const PAGE = 50;

/** Seeds 002 and 003: a list or group with its rules, how it would be used now (customers on
 * it, used, left out and why), its members (the left-out ones on request, with the reasons),
 * CSV export of the customers it uses, and for a group, taking in its saved search's matches. */
export function ListDetailScreen() {
  const { id = "" } = useParams();
  const summary = useQuery({
    queryKey: ["list", id, "summary"],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/lists/{list_id}/summary", { params: { path: { list_id: id } }, signal })),
  });
  const heading = useFocusHeading<HTMLHeadingElement>(summary.isSuccess);

  if (summary.isPending) return <Loading what="the list" />;
  if (summary.error) return <Failure error={summary.error} what="list" />;
  const { list, ...usage } = summary.data;
  const left = exclusions(usage);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} ref={heading} tabIndex={-1}>
          {list.kind === "group" ? "Group" : "List"} {list.name}
        </Title>
        <Badge variant="outline" color="gray.8">
          {list.kind === "group" ? "group" : "static list"}
        </Badge>
      </Group>
      {list.description && <Text>{list.description}</Text>}
      <Text size="sm" c="dimmed">
        Usage {list.usage} · rules: {rulesOf(list)} · made from {list.source} · owners {owners(list)}
        {list.created_by ? ` · created by ${list.created_by} ${formatDate(list.created_at)}` : ""}
      </Text>
      {list.kind === "group" && <GroupSearch list={list} />}
      <Paper withBorder p="md" component="section" aria-labelledby="usage-heading">
        <Stack gap="xs">
          <Title order={2} size="h3" id="usage-heading">
            Used now
          </Title>
          <Text>{describeUsage(usage)}</Text>
          {left.length > 0 && (
            <List aria-label="Left out, by reason" size="sm">
              {left.map((e) => (
                <List.Item key={e.code}>
                  {e.title}: {e.count}
                </List.Item>
              ))}
            </List>
          )}
        </Stack>
      </Paper>
      <Members list={list} />
    </Stack>
  );
}

function GroupSearch({ list }: { list: StaticList }) {
  const searches = useSavedSearches();
  const queries = useQueryClient();
  const search = (searches.data ?? []).find((s) => s.id === list.saved_search_id);
  const add = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/api/lists/{list_id}/add-matching", { params: { path: { list_id: list.id } } })),
    onSuccess: () => queries.invalidateQueries({ queryKey: ["list", list.id] }),
  });
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="search-heading">
      <Stack gap="xs">
        <Title order={2} size="h3" id="search-heading">
          Saved search
        </Title>
        {list.saved_search_id ? (
          <>
            <Text size="sm">
              {search ? `${search.name}: ${criteriaText(search.criteria)}` : list.saved_search_id}
            </Text>
            <Group>
              <Button variant="default" onClick={() => add.mutate()} loading={add.isPending}>
                Add customers who match the saved search
              </Button>
            </Group>
            {add.data && (
              <Text size="sm" role="status">
                {add.data.matched} matched: {add.data.added} added, {add.data.already_listed} already in the group.
              </Text>
            )}
            {add.error && (
              <Alert color="red.9" title="Not added" role="alert">
                {add.error.message}
              </Alert>
            )}
          </>
        ) : (
          <Text size="sm">This group has no saved search.</Text>
        )}
      </Stack>
    </Paper>
  );
}

function criteriaText(criteria: Record<string, unknown>): string {
  const given = Object.entries(criteria).filter(([, v]) => v !== null && v !== undefined && v !== "");
  return given.length ? given.map(([k, v]) => `${k.replace(/_/g, " ")} ${String(v)}`).join(", ") : "every customer";
}

function Members({ list }: { list: StaticList }) {
  const [withExcluded, setWithExcluded] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);
  const members = useInfiniteQuery({
    queryKey: ["list", list.id, "customers", withExcluded],
    initialPageParam: null as string | null,
    queryFn: ({ signal, pageParam }) =>
      unwrap(
        api.GET("/api/lists/{list_id}/customers", {
          params: {
            path: { list_id: list.id },
            query: { include_excluded: withExcluded, limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) },
          },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const items = members.data?.pages.flatMap((p) => p.items) ?? [];

  const exportCsv = async () => {
    setExportError(null);
    try {
      await download(`/api/lists/${encodeURIComponent(list.id)}/customers.csv`, `${list.id}.csv`);
    } catch (error) {
      setExportError((error as Error).message);
    }
  };

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="members-heading">
      <Stack>
        <Title order={2} size="h3" id="members-heading">
          Customers
        </Title>
        <Group justify="space-between">
          <Switch
            label="Show the customers left out too"
            checked={withExcluded}
            onChange={(e) => setWithExcluded(e.currentTarget.checked)}
          />
          <Button variant="default" onClick={exportCsv}>
            Export CSV
          </Button>
        </Group>
        {exportError && (
          <Alert color="red.9" title="Export failed" role="alert">
            {exportError}
          </Alert>
        )}
        {members.error ? (
          <Failure error={members.error} what="customers" />
        ) : members.isPending ? (
          <Loading what="the customers" />
        ) : items.length === 0 ? (
          <Text size="sm">{withExcluded ? "No customer on the list." : "No customer is used: every one is left out."}</Text>
        ) : (
          <Table striped aria-label="Customers on the list">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">MDM code</Table.Th>
                <Table.Th scope="col">Used</Table.Th>
                <Table.Th scope="col">Why left out</Table.Th>
                <Table.Th scope="col">Added</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((m) => (
                <Table.Tr key={m.customer_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/customers/${encodeURIComponent(m.customer_id)}`}>
                      {m.name ?? m.customer_id}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{m.mdm_code ?? ""}</Table.Td>
                  <Table.Td>{m.included ? "yes" : "left out"}</Table.Td>
                  <Table.Td>{m.reasons.map((r) => describeListReason(r)).join("; ")}</Table.Td>
                  <Table.Td>{formatDate(m.added_at)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {members.hasNextPage && (
          <Group>
            <Button variant="default" onClick={() => members.fetchNextPage()} loading={members.isFetchingNextPage}>
              More customers
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}
