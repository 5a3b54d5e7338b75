import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  List,
  Modal,
  NativeSelect,
  Paper,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";

import { api, download, unwrap, type Schemas } from "../api/client";
import { formatDate } from "../lib/format";
import { canReopen } from "../lib/manager";
import { describeReason, listFilters } from "../lib/targeting";
import { useDebounced } from "../lib/useDebounced";
import { useFocusHeading } from "../lib/useFocusHeading";
import { usePerson } from "../lib/usePerson";
import { Failure, Loading } from "./common";
import { PlanStatus } from "./Plans";

type Plan = Schemas["Plan"];
const PAGE = 50;

export function usePlan(id: string) {
  return useQuery({
    queryKey: ["plan", id],
    queryFn: ({ signal }) => unwrap(api.GET("/api/plans/{plan_id}", { params: { path: { plan_id: id } }, signal })),
  });
}

/** Seed 000: a plan's list with its filters and export, why a customer is not in it, the way
 * into the add/edit flow, and submission (after which all of it is read-only). */
export function PlanScreen() {
  const { id = "" } = useParams();
  const plan = usePlan(id);
  const person = usePerson();
  const heading = useFocusHeading<HTMLHeadingElement>(plan.isSuccess);

  if (plan.isPending) return <Loading what="the plan" />;
  if (plan.error) return <Failure error={plan.error} what="plan" />;
  const p = plan.data;
  const draft = p.status === "draft";

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} ref={heading} tabIndex={-1}>
          Plan {p.id}
        </Title>
        <Group>
          <PlanStatus status={p.status} />
          {draft && <SubmitPlan plan={p} />}
          {canReopen(person, p) && <ReopenPlan plan={p} />}
        </Group>
      </Group>
      <Text size="sm" c="dimmed">
        Team {p.team_id} · period {p.period} · targets{" "}
        {p.targeted_segments.map((t) => `${t.segmentation}/${t.segment}`).join(", ")} ·{" "}
        {p.primary_address_only ? "primary addresses only" : "any address"}
      </Text>
      {!draft && (
        <Alert color="gray" title="Submitted: read-only" role="status">
          Submitted {formatDate(p.submitted_at)}
          {p.submitted_by ? ` by ${p.submitted_by}` : ""}
          {typeof p.snapshot_members === "number" ? ` with ${p.snapshot_members} customers in the list` : ""}. The list
          is frozen as it was then; customers can no longer be added or edited.
        </Alert>
      )}
      {(p.reopened ?? []).length > 0 && (
        <Text size="sm">
          Reopened {(p.reopened ?? []).map((r) => `${formatDate(r.at)} by ${r.by ?? "?"}`).join("; ")}
        </Text>
      )}
      <CustomerList plan={p} />
      <WhyNot plan={p} />
    </Stack>
  );
}

function SubmitPlan({ plan }: { plan: Plan }) {
  const [open, setOpen] = useState(false);
  const queries = useQueryClient();
  const submit = useMutation({
    mutationFn: () => unwrap(api.POST("/api/plans/{plan_id}/submit", { params: { path: { plan_id: plan.id } } })),
    onSuccess: (submitted) => {
      setOpen(false);
      queries.setQueryData(["plan", plan.id], submitted);
      queries.invalidateQueries({ queryKey: ["plan", plan.id] });
      queries.invalidateQueries({ queryKey: ["plans"] });
    },
  });
  return (
    <>
      <Button onClick={() => setOpen(true)}>Submit plan</Button>
      <Modal opened={open} onClose={() => setOpen(false)} title={`Submit plan ${plan.id}?`} closeButtonProps={{ "aria-label": "Close" }}>
        <Stack>
          <Text size="sm">
            The list is frozen as it stands now, and no customer can be added or edited afterwards (until a manager
            reopens the plan).
          </Text>
          {submit.error && (
            <Alert color="red.9" title="Not submitted" role="alert">
              {submit.error.message}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpen(false)}>
              Cancel
            </Button>
            <Button onClick={() => submit.mutate()} loading={submit.isPending}>
              Submit
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

/** A manager reviews a submitted plan and, if it needs more work, reopens it: a draft again,
 * its list catching up with what changed while it was locked. */
function ReopenPlan({ plan }: { plan: Plan }) {
  const [open, setOpen] = useState(false);
  const queries = useQueryClient();
  const reopen = useMutation({
    mutationFn: () => unwrap(api.POST("/api/plans/{plan_id}/reopen", { params: { path: { plan_id: plan.id } } })),
    onSuccess: (reopened) => {
      setOpen(false);
      queries.setQueryData(["plan", plan.id], reopened);
      queries.invalidateQueries({ queryKey: ["plan", plan.id] });
      queries.invalidateQueries({ queryKey: ["plans"] });
    },
  });
  // After a refusal (e.g. someone reopened it meanwhile) the plan is read again on closing.
  const close = () => {
    setOpen(false);
    if (reopen.isError) {
      reopen.reset();
      queries.invalidateQueries({ queryKey: ["plan", plan.id] });
    }
  };
  return (
    <>
      <Button variant="default" onClick={() => setOpen(true)}>
        Reopen plan
      </Button>
      <Modal opened={open} onClose={close} title={`Reopen plan ${plan.id}?`} closeButtonProps={{ "aria-label": "Close" }}>
        <Stack>
          <Text size="sm">
            The plan becomes a draft again: its reps can add and edit customers, and its list catches up with what
            changed since it was submitted. The list as submitted stays on record.
          </Text>
          {reopen.error && (
            // plain text: axe misreads an Alert's tinted background inside the modal
            <Text size="sm" c="red.9" role="alert">
              <strong>Not reopened:</strong> {reopen.error.message}
            </Text>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button onClick={() => reopen.mutate()} loading={reopen.isPending}>
              Reopen
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

function CustomerList({ plan }: { plan: Plan }) {
  const [segment, setSegment] = useState("");
  const [brickTyped, setBrickTyped] = useState("");
  const brick = useDebounced(brickTyped, 300);
  const filters = listFilters(segment, brick);
  const [exportError, setExportError] = useState<string | null>(null);

  const members = useInfiniteQuery({
    queryKey: ["plan", plan.id, "customers", filters, plan.status],
    initialPageParam: null as string | null,
    queryFn: ({ signal, pageParam }) =>
      unwrap(
        api.GET("/api/plans/{plan_id}/customers", {
          params: {
            path: { plan_id: plan.id },
            query: { ...filters, limit: PAGE, ...(pageParam ? { cursor: pageParam } : {}) },
          },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const items = members.data?.pages.flatMap((p) => p.items) ?? [];

  const exportCsv = async () => {
    setExportError(null);
    const query = new URLSearchParams(filters).toString();
    try {
      await download(`/api/plans/${encodeURIComponent(plan.id)}/customers.csv${query ? `?${query}` : ""}`, `${plan.id}.csv`);
    } catch (error) {
      setExportError((error as Error).message);
    }
  };

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="list-heading">
      <Stack>
        <Title order={2} size="h3" id="list-heading">
          Customer list
        </Title>
        <Group align="end" component="form" aria-label="Filters" onSubmit={(e: FormEvent) => e.preventDefault()}>
          <NativeSelect
            label="Segment"
            value={segment}
            onChange={(e) => setSegment(e.currentTarget.value)}
            data={[
              { value: "", label: "All segments" },
              ...plan.targeted_segments.map((t) => ({
                value: `${t.segmentation}/${t.segment}`,
                label: `${t.segmentation}: ${t.segment}`,
              })),
            ]}
          />
          <TextInput label="Brick" value={brickTyped} onChange={(e) => setBrickTyped(e.currentTarget.value)} w={160} />
          <Button variant="default" onClick={exportCsv}>
            Export CSV
          </Button>
          {plan.status === "draft" && (
            <Button component={Link} to={`/plans/${encodeURIComponent(plan.id)}/add-edit`}>
              Add/Edit customer
            </Button>
          )}
        </Group>
        {exportError && (
          <Alert color="red.9" title="Export failed" role="alert">
            {exportError}
          </Alert>
        )}
        {members.error && <Failure error={members.error} what="list" />}
        {members.isSuccess && (
          <Text size="sm" role="status">
            {items.length === 0 ? "No customer in the list." : `${items.length}${members.hasNextPage ? "+" : ""} in the list`}
          </Text>
        )}
        {items.length > 0 && (
          <Table striped aria-labelledby="list-heading">
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">Name</Table.Th>
                <Table.Th scope="col">MDM code</Table.Th>
                <Table.Th scope="col">Bricks</Table.Th>
                <Table.Th scope="col">Segments</Table.Th>
                <Table.Th scope="col">In the list since</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((m) => (
                <Table.Tr key={m.customer_id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/customers/${m.customer_id}`}>
                      {m.name ?? m.customer_id}
                    </Anchor>
                    {m.reasons?.some((r) => r.code === "manually-added") && (
                      <Badge ml="xs" variant="outline" color="gray.8">
                        added by hand
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>{m.mdm_code ?? "—"}</Table.Td>
                  <Table.Td>{m.bricks.join(", ") || "—"}</Table.Td>
                  <Table.Td>
                    {Object.entries(m.segments)
                      .map(([s, v]) => `${s}: ${v ?? "none"}`)
                      .join(", ")}
                  </Table.Td>
                  <Table.Td>{formatDate(m.since)}</Table.Td>
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

/** Find a customer by MDM code (the customer search, exact code), then ask the lists service. */
async function explainByMdmCode(planId: string, mdmCode: string, signal: AbortSignal) {
  const found = await unwrap(
    api.GET("/api/customers", { params: { query: { mdm_code: mdmCode, limit: 5 } }, signal }),
  );
  const customer = found.items.find((c) => c.mdm_code?.toLowerCase() === mdmCode.toLowerCase());
  if (!customer) return { mdmCode, explanation: null };
  const explanation = await unwrap(
    api.GET("/api/plans/{plan_id}/explain/{customer_id}", {
      params: { path: { plan_id: planId, customer_id: customer.id } },
      signal,
    }),
  );
  return { mdmCode, explanation };
}

function WhyNot({ plan }: { plan: Plan }) {
  const [typed, setTyped] = useState("");
  const [asked, setAsked] = useState<string | null>(null);
  const answer = useQuery({
    queryKey: ["plan", plan.id, "explain", asked, plan.status],
    enabled: asked !== null,
    queryFn: ({ signal }) => explainByMdmCode(plan.id, asked!, signal),
  });
  const result = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (answer.isSuccess) result.current?.focus();
  }, [answer.isSuccess, answer.data]);

  const ask = (e: FormEvent) => {
    e.preventDefault();
    const code = typed.trim();
    if (code) setAsked(code);
  };
  const e = answer.data?.explanation;

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="why-heading">
      <Stack>
        <Title order={2} size="h3" id="why-heading">
          Why is a customer not in my list?
        </Title>
        <Group align="end" component="form" onSubmit={ask} aria-label="Explain a customer">
          <TextInput label="MDM code" value={typed} onChange={(ev) => setTyped(ev.currentTarget.value)} required />
          <Button type="submit" variant="default" loading={answer.isFetching}>
            Explain
          </Button>
        </Group>
        {answer.error && <Failure error={answer.error} what="explanation" />}
        {answer.isSuccess && (
          <div ref={result} tabIndex={-1} aria-label="Explanation" role="region">
            {e === null || e === undefined ? (
              <Alert color="gray" title="Not found">
                No customer has MDM code {answer.data.mdmCode}.
              </Alert>
            ) : (
              <Explained explanation={e} plan={plan} mdmCode={answer.data.mdmCode} />
            )}
          </div>
        )}
      </Stack>
    </Paper>
  );
}

export function Reasons({ reasons }: { reasons: Schemas["Reason"][] }) {
  return (
    <List spacing="xs">
      {reasons.map((r, i) => {
        const told = describeReason(r);
        return (
          <List.Item key={`${r.code}-${i}`}>
            <Text fw={600} size="sm">
              {told.title}
            </Text>
            {told.facts.map((fact) => (
              <Text key={fact} size="sm">
                {fact}
              </Text>
            ))}
          </List.Item>
        );
      })}
    </List>
  );
}

function Explained({
  explanation: e,
  plan,
  mdmCode,
}: {
  explanation: Schemas["Explanation"];
  plan: Plan;
  mdmCode: string;
}) {
  const c = e.customer;
  return (
    <Stack gap="xs">
      <Text fw={700}>
        {c?.name ?? e.customer_id}: {e.in_list ? "in the list" : "not in the list"}
      </Text>
      {c && (
        <Text size="sm">
          Status {c.status} · bricks {c.bricks.join(", ") || "none"} · segments{" "}
          {Object.entries(c.segments)
            .map(([s, v]) => `${s}: ${v ?? "none"}`)
            .join(", ") || "none"}
        </Text>
      )}
      {e.reasons.length > 0 && <Reasons reasons={e.reasons} />}
      {plan.status === "draft" && c?.status === "active" && (
        <Group>
          <Button
            component={Link}
            variant="default"
            to={`/plans/${encodeURIComponent(plan.id)}/add-edit?mdm_code=${encodeURIComponent(mdmCode)}&kind=${c.kind === "account" ? "account" : "person"}`}
          >
            Add/Edit this customer
          </Button>
        </Group>
      )}
    </Stack>
  );
}
