import { Anchor, Badge, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";

import { api, unwrap } from "../api/client";
import { useFocusHeading } from "../lib/useFocusHeading";
import { Failure, Loading } from "./common";

export function usePlans() {
  return useQuery({
    queryKey: ["plans"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/plans", { signal })),
  });
}

export function PlanStatus({ status }: { status: string }) {
  return (
    <Badge variant="filled" color={status === "submitted" ? "gray.8" : "blue.8"}>
      {status}
    </Badge>
  );
}

/** Seed 000: the plans of the signed-in person's teams. */
export function PlansScreen() {
  const plans = usePlans();
  const heading = useFocusHeading<HTMLHeadingElement>(!plans.isPending);

  if (plans.isPending) return <Loading what="the plans" />;
  if (plans.error) return <Failure error={plans.error} what="plans" />;
  return (
    <Stack>
      <Title order={1} ref={heading} tabIndex={-1}>
        Plans
      </Title>
      {plans.data.length === 0 ? (
        <Text>No plan of your teams yet.</Text>
      ) : (
        <Table striped aria-label="Plans">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Plan</Table.Th>
              <Table.Th scope="col">Team</Table.Th>
              <Table.Th scope="col">Period</Table.Th>
              <Table.Th scope="col">Targeted segments</Table.Th>
              <Table.Th scope="col">Status</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {plans.data.map((p) => (
              <Table.Tr key={p.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/plans/${encodeURIComponent(p.id)}`}>
                    {p.id}
                  </Anchor>
                </Table.Td>
                <Table.Td>{p.team_id}</Table.Td>
                <Table.Td>{p.period}</Table.Td>
                <Table.Td>{p.targeted_segments.map((t) => `${t.segmentation}/${t.segment}`).join(", ")}</Table.Td>
                <Table.Td>
                  <PlanStatus status={p.status} />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
