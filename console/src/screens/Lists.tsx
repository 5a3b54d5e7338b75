import { Anchor, Badge, Button, Group, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";

import { api, unwrap, type Schemas } from "../api/client";
import { owners, rulesOf } from "../lib/lists";
import { useFocusHeading } from "../lib/useFocusHeading";
import { Failure, Loading } from "./common";

type StaticList = Schemas["StaticList"];

export function useSavedSearches() {
  return useQuery({
    queryKey: ["saved-searches"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/saved-searches", { signal })),
  });
}

export function ListLink({ list }: { list: StaticList }) {
  return (
    <Anchor component={Link} to={`/lists/${encodeURIComponent(list.id)}`}>
      {list.name}
    </Anchor>
  );
}

/** Seeds 002 and 003: the groups (owned by teams and reps, tied to a saved search) and the
 * static lists the person may see, each leading to its members. */
export function ListsScreen() {
  const lists = useQuery({
    queryKey: ["lists"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/lists", { signal })),
  });
  const searches = useSavedSearches();
  const heading = useFocusHeading<HTMLHeadingElement>(lists.isSuccess);

  if (lists.isPending) return <Loading what="the lists" />;
  if (lists.error) return <Failure error={lists.error} what="lists" />;
  const searchName = new Map((searches.data ?? []).map((s) => [s.id, s.name]));
  const groups = lists.data.filter((l) => l.kind === "group");
  const statics = lists.data.filter((l) => l.kind !== "group");

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} ref={heading} tabIndex={-1}>
          Lists and groups
        </Title>
        <Button component={Link} to="/lists/new">
          New list from a search
        </Button>
      </Group>
      <Paper withBorder p="md" component="section" aria-labelledby="groups-heading">
        <Stack>
          <Title order={2} size="h3" id="groups-heading">
            Groups ({groups.length})
          </Title>
          {groups.length === 0 ? (
            <Text size="sm">No group yet.</Text>
          ) : (
            <Table striped aria-label="Groups">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Group</Table.Th>
                  <Table.Th scope="col">Owners</Table.Th>
                  <Table.Th scope="col">Saved search</Table.Th>
                  <Table.Th scope="col">Usage</Table.Th>
                  <Table.Th scope="col">Rules</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {groups.map((g) => (
                  <Table.Tr key={g.id}>
                    <Table.Td>
                      <ListLink list={g} /> {g.available_to_all && <Badge variant="outline" color="gray.8">all</Badge>}
                    </Table.Td>
                    <Table.Td>{owners(g)}</Table.Td>
                    <Table.Td>
                      {g.saved_search_id ? (searchName.get(g.saved_search_id) ?? g.saved_search_id) : "none"}
                    </Table.Td>
                    <Table.Td>{g.usage}</Table.Td>
                    <Table.Td>{rulesOf(g)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      </Paper>
      <Paper withBorder p="md" component="section" aria-labelledby="static-heading">
        <Stack>
          <Title order={2} size="h3" id="static-heading">
            Static lists ({statics.length})
          </Title>
          {statics.length === 0 ? (
            <Text size="sm">No static list yet.</Text>
          ) : (
            <Table striped aria-label="Static lists">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">List</Table.Th>
                  <Table.Th scope="col">Usage</Table.Th>
                  <Table.Th scope="col">Rules</Table.Th>
                  <Table.Th scope="col">Made from</Table.Th>
                  <Table.Th scope="col">Created by</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {statics.map((l) => (
                  <Table.Tr key={l.id}>
                    <Table.Td>
                      <ListLink list={l} />
                    </Table.Td>
                    <Table.Td>{l.usage}</Table.Td>
                    <Table.Td>{rulesOf(l)}</Table.Td>
                    <Table.Td>{l.source}</Table.Td>
                    <Table.Td>{l.created_by ?? ""}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Stack>
      </Paper>
    </Stack>
  );
}
