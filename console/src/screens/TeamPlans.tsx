import { Anchor, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";

import { api, unwrap, type Schemas } from "../api/client";
import { formatDate } from "../lib/format";
import { managedTeams, plansForReview } from "../lib/manager";
import { usePerson } from "../lib/usePerson";
import { useFocusHeading } from "../lib/useFocusHeading";
import { Failure, Loading } from "./common";
import { usePlans } from "./Plans";

type Plan = Schemas["Plan"];
type Team = Schemas["Team"];

/** Seed 000, a manager's view: the teams they manage (territory and reps) and each team's plans,
 * the submitted ones waiting for review first. The plans are those the API shows this person:
 * their own teams' only. */
export function TeamPlansScreen() {
  const person = usePerson();
  const plans = usePlans();
  const teams = useQuery({
    queryKey: ["teams"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/teams", { signal })),
  });
  const ready = plans.isSuccess && teams.isSuccess;
  const heading = useFocusHeading<HTMLHeadingElement>(ready);

  if (plans.isPending || teams.isPending) return <Loading what="the team plans" />;
  if (plans.error) return <Failure error={plans.error} what="plans" />;
  if (teams.error) return <Failure error={teams.error} what="teams" />;
  const mine = managedTeams(person, teams.data);

  return (
    <Stack>
      <Title order={1} ref={heading} tabIndex={-1}>
        Team plans
      </Title>
      <Text size="sm">
        The plans of the teams you manage. A submitted plan waits for your review; open it to see its list as submitted
        and, if it needs more work, reopen it for its reps.
      </Text>
      {mine.length === 0 && <Text>You manage no team.</Text>}
      {mine.map((team) => (
        <TeamSection key={team.id} team={team} plans={plans.data} />
      ))}
    </Stack>
  );
}

function TeamSection({ team, plans }: { team: Team; plans: Plan[] }) {
  const { submitted, drafts } = plansForReview(plans, team.id);
  const headingId = `team-${team.id}`;
  return (
    <Paper withBorder p="md" component="section" aria-labelledby={headingId}>
      <Stack gap="sm">
        <Title order={2} size="h3" id={headingId}>
          Team {team.name} ({team.id})
        </Title>
        <Text size="sm">
          Territory: {team.bricks.length ? team.bricks.join(", ") : "no bricks"} · Reps:{" "}
          {team.reps?.length ? team.reps.join(", ") : "none"}
        </Text>
        <Title order={3} size="h4">
          Submitted for review ({submitted.length})
        </Title>
        {submitted.length === 0 ? (
          <Text size="sm">No submitted plan.</Text>
        ) : (
          <Table striped aria-label={`Submitted plans of ${team.name}`}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Plan</Table.Th>
                <Table.Th scope="col">Period</Table.Th>
                <Table.Th scope="col">Submitted</Table.Th>
                <Table.Th scope="col">By</Table.Th>
                <Table.Th scope="col">Customers in the list</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {submitted.map((p) => (
                <Table.Tr key={p.id}>
                  <Table.Td>
                    <PlanLink plan={p} />
                  </Table.Td>
                  <Table.Td>{p.period}</Table.Td>
                  <Table.Td>{formatDate(p.submitted_at)}</Table.Td>
                  <Table.Td>{p.submitted_by ?? ""}</Table.Td>
                  <Table.Td>{p.snapshot_members ?? ""}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        <Title order={3} size="h4">
          Drafts ({drafts.length})
        </Title>
        {drafts.length === 0 ? (
          <Text size="sm">No draft plan.</Text>
        ) : (
          <Table striped aria-label={`Draft plans of ${team.name}`}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Plan</Table.Th>
                <Table.Th scope="col">Period</Table.Th>
                <Table.Th scope="col">Targeted segments</Table.Th>
                <Table.Th scope="col">Last reopened</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {drafts.map((p) => {
                const last = p.reopened?.at(-1);
                return (
                  <Table.Tr key={p.id}>
                    <Table.Td>
                      <PlanLink plan={p} />
                    </Table.Td>
                    <Table.Td>{p.period}</Table.Td>
                    <Table.Td>{p.targeted_segments.map((t) => `${t.segmentation}/${t.segment}`).join(", ")}</Table.Td>
                    <Table.Td>{last ? `${formatDate(last.at)} by ${last.by ?? "?"}` : "never"}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        )}
      </Stack>
    </Paper>
  );
}

function PlanLink({ plan }: { plan: Plan }) {
  return (
    <Anchor component={Link} to={`/plans/${encodeURIComponent(plan.id)}`}>
      {plan.id}
    </Anchor>
  );
}
