import {
  Alert,
  Anchor,
  Button,
  Fieldset,
  Group,
  List,
  NativeSelect,
  Radio,
  SimpleGrid,
  Stack,
  Stepper,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useMutation, useQueries, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router";

import { api, unwrap, type Schemas } from "../api/client";
import { profileChanges, profileEdit, type Profiles } from "../lib/targeting";
import { useFocusHeading } from "../lib/useFocusHeading";
import { Failure, Loading } from "./common";
import { Reasons, usePlan } from "./Plan";

type Lookup = Schemas["Lookup"];
type Computed = Schemas["Computed"];
type Kind = "person" | "account";

const heldProfiles = (lookup: Lookup): Profiles =>
  Object.fromEntries(Object.entries(lookup.segmentations).map(([code, held]) => [code, { ...(held.profile ?? {}) }]));

/** Seed 000's add/edit flow in its three steps: find by MDM code; change profile values and
 * compute the segments and membership before and after; review and save. Only while the plan
 * is a draft. */
export function PlanAddEditScreen() {
  const { id = "" } = useParams();
  const plan = usePlan(id);
  const heading = useFocusHeading<HTMLHeadingElement>(plan.isSuccess);
  if (plan.isPending) return <Loading what="the plan" />;
  if (plan.error) return <Failure error={plan.error} what="plan" />;
  const back = `/plans/${encodeURIComponent(id)}`;
  return (
    <Stack>
      <Title order={1} ref={heading} tabIndex={-1}>
        Add/Edit customer: plan {id}
      </Title>
      <Anchor component={Link} to={back}>
        Back to the plan's list
      </Anchor>
      {plan.data.status !== "draft" ? (
        <Alert color="gray" title="Submitted: read-only" role="status">
          This plan is submitted: customers can no longer be added or edited.
        </Alert>
      ) : (
        <Flow planId={id} />
      )}
    </Stack>
  );
}

function Flow({ planId }: { planId: string }) {
  const [params] = useSearchParams();
  const [step, setStep] = useState(0);
  const [lookup, setLookup] = useState<Lookup | null>(null);
  const [values, setValues] = useState<Profiles>({});
  const [computed, setComputed] = useState<Computed | null>(null);

  const found = (answer: Lookup) => {
    setLookup(answer);
    setValues(heldProfiles(answer));
    setComputed(null);
    setStep(1);
  };
  const change = (next: Profiles) => {
    setValues(next);
    setComputed(null);
  };

  return (
    <Stepper active={step} onStepClick={(s) => s < step && setStep(s)} allowNextStepsSelect={false}>
      <Stepper.Step label="Find" description="By MDM code">
        <FindStep
          planId={planId}
          initialCode={params.get("mdm_code") ?? ""}
          initialKind={params.get("kind") === "account" ? "account" : "person"}
          onFound={found}
        />
      </Stepper.Step>
      <Stepper.Step label="Profile" description="Values and segments">
        {lookup && (
          <ProfileStep
            planId={planId}
            lookup={lookup}
            values={values}
            onChange={change}
            computed={computed}
            onComputed={setComputed}
            onNext={() => setStep(2)}
            onBack={() => setStep(0)}
          />
        )}
      </Stepper.Step>
      <Stepper.Step label="Review" description="And save">
        {lookup && computed && (
          <ReviewStep planId={planId} lookup={lookup} values={values} computed={computed} onBack={() => setStep(1)} />
        )}
      </Stepper.Step>
    </Stepper>
  );
}

function StepHeading({ children }: { children: string }) {
  const ref = useFocusHeading<HTMLHeadingElement>();
  return (
    <Title order={2} size="h3" ref={ref} tabIndex={-1} mt="md">
      {children}
    </Title>
  );
}

function FindStep({
  planId,
  initialCode,
  initialKind,
  onFound,
}: {
  planId: string;
  initialCode: string;
  initialKind: Kind;
  onFound: (lookup: Lookup) => void;
}) {
  const [code, setCode] = useState(initialCode);
  const [kind, setKind] = useState<Kind>(initialKind);
  const search = useMutation({
    mutationFn: () =>
      unwrap(
        api.GET("/api/plans/{plan_id}/lookup", {
          params: { path: { plan_id: planId }, query: { mdm_code: code.trim(), kind } },
        }),
      ),
    onSuccess: onFound,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (code.trim()) search.mutate();
  };
  return (
    <Stack>
      <StepHeading>1. Find the customer or account</StepHeading>
      <form onSubmit={submit} aria-label="Find by MDM code">
        <Stack>
          <TextInput label="MDM code" value={code} onChange={(e) => setCode(e.currentTarget.value)} required maw={320} />
          <Radio.Group label="Search for" value={kind} onChange={(v) => setKind(v as Kind)}>
            <Group mt="xs">
              <Radio value="person" label="Customer" />
              <Radio value="account" label="Account" />
            </Group>
          </Radio.Group>
          <Text size="sm" c="dimmed">
            An account can be added only if the team targets account segments.
          </Text>
          <Group>
            <Button type="submit" loading={search.isPending}>
              Search
            </Button>
          </Group>
          {search.error && (
            <Alert color="red.9" title="Cannot add or edit this customer" role="alert">
              {search.error.message}
            </Alert>
          )}
        </Stack>
      </form>
    </Stack>
  );
}

function useSegmentations(codes: string[]) {
  return useQueries({
    queries: codes.map((code) => ({
      queryKey: ["segmentation", code],
      staleTime: 60_000,
      queryFn: ({ signal }: { signal: AbortSignal }) =>
        unwrap(api.GET("/api/segmentations/{code}", { params: { path: { code } }, signal })),
    })),
  });
}

function Membership({ label, explanation }: { label: string; explanation: Schemas["Explanation"] }) {
  return (
    <div>
      <Text fw={600} size="sm">
        {label}: {explanation.in_list ? "in the list" : "not in the list"}
      </Text>
      {explanation.reasons.length > 0 && <Reasons reasons={explanation.reasons} />}
    </div>
  );
}

function ProfileStep({
  planId,
  lookup,
  values,
  onChange,
  computed,
  onComputed,
  onNext,
  onBack,
}: {
  planId: string;
  lookup: Lookup;
  values: Profiles;
  onChange: (values: Profiles) => void;
  computed: Computed | null;
  onComputed: (computed: Computed) => void;
  onNext: () => void;
  onBack: () => void;
}) {
  const codes = Object.keys(lookup.segmentations);
  const definitions = useSegmentations(codes);
  const before = heldProfiles(lookup);
  const edit = profileEdit(before, values);
  const compute = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/api/plans/{plan_id}/customers/{customer_id}/compute", {
          params: { path: { plan_id: planId, customer_id: lookup.customer_id } },
          body: edit!,
        }),
      ),
    onSuccess: onComputed,
  });
  const result = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (computed) result.current?.focus();
  }, [computed]);

  return (
    <Stack>
      <StepHeading>2. Profile values and segments</StepHeading>
      <Text fw={700}>
        {lookup.name ?? lookup.customer_id} ({lookup.kind === "account" ? "account" : "customer"} {lookup.mdm_code})
      </Text>
      <Text size="sm">
        {lookup.primary_address_only ? "Primary address bricks" : "Bricks"}: {lookup.bricks.join(", ") || "none"}
      </Text>
      <Membership label="Now" explanation={lookup.membership} />
      <form
        aria-label="Profile values"
        onSubmit={(e) => {
          e.preventDefault();
          if (edit) compute.mutate();
        }}
      >
        <Stack>
          {codes.map((code, i) => {
            const held = lookup.segmentations[code];
            const definition = definitions[i]?.data;
            return (
              <Fieldset key={code} legend={`${definition?.name ?? code} (${code})`}>
                <Text size="sm" mb="xs">
                  Segment now: {held.segment ?? "none"} · targeted: {held.targeted_segments.join(", ") || "none"}
                </Text>
                {definitions[i]?.error && <Failure error={definitions[i].error!} what="segmentation" />}
                <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
                  {(definition?.dimensions ?? []).map((d) => (
                    <NativeSelect
                      key={d.name}
                      label={`${code}: ${d.name}`}
                      value={values[code]?.[d.name] ?? ""}
                      onChange={(e) =>
                        onChange({ ...values, [code]: { ...(values[code] ?? {}), [d.name]: e.currentTarget.value } })
                      }
                      data={[
                        { value: "", label: held.profile?.[d.name] ? "(keep)" : "(no value)" },
                        ...d.values.map((v) => ({ value: v, label: v })),
                      ]}
                    />
                  ))}
                </SimpleGrid>
              </Fieldset>
            );
          })}
          <Group>
            <Button variant="default" onClick={onBack}>
              Back
            </Button>
            <Button type="submit" disabled={!edit} loading={compute.isPending}>
              Compute segments
            </Button>
          </Group>
          {!edit && <Text size="sm">Change or add a profile value, then compute the segments.</Text>}
          {compute.error && (
            <Alert color="red.9" title="Not computed" role="alert">
              {compute.error.message}
            </Alert>
          )}
        </Stack>
      </form>
      {computed && (
        <Stack ref={result} tabIndex={-1} aria-label="Computed segments" role="region">
          <ComputedTable computed={computed} />
          <Group>
            <Button onClick={onNext}>Next: review</Button>
          </Group>
        </Stack>
      )}
    </Stack>
  );
}

function ComputedTable({ computed }: { computed: Computed }) {
  return (
    <Stack>
      <Table aria-label="Segments before and after">
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">Segmentation</Table.Th>
            <Table.Th scope="col">Segment now</Table.Th>
            <Table.Th scope="col">Segment after</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {Object.entries(computed.segmentations).map(([code, c]) => (
            <Table.Tr key={code}>
              <Table.Td>{code}</Table.Td>
              <Table.Td>{c.current.segment ?? "none"}</Table.Td>
              <Table.Td>{c.proposed.segment ?? "none"}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <Membership label="List membership now" explanation={computed.membership.current} />
        <Membership label="List membership after" explanation={computed.membership.proposed} />
      </SimpleGrid>
    </Stack>
  );
}

function ReviewStep({
  planId,
  lookup,
  values,
  computed,
  onBack,
}: {
  planId: string;
  lookup: Lookup;
  values: Profiles;
  computed: Computed;
  onBack: () => void;
}) {
  const queries = useQueryClient();
  const before = heldProfiles(lookup);
  const changes = profileChanges(before, values);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT("/api/plans/{plan_id}/customers/{customer_id}/profiles", {
          params: { path: { plan_id: planId, customer_id: lookup.customer_id } },
          body: profileEdit(before, values)!,
        }),
      ),
  });
  const expected = computed.membership.proposed.in_list;
  // The list follows the saved values by events: ask until it shows what the compute foresaw.
  const settled = useQuery<Schemas["Explanation"]>({
    queryKey: ["plan", planId, "settled", lookup.customer_id, save.submittedAt],
    enabled: save.isSuccess,
    refetchInterval: (q) => (q.state.data?.in_list === expected || q.state.dataUpdateCount > 40 ? false : 500),
    queryFn: ({ signal }): Promise<Schemas["Explanation"]> =>
      unwrap(
        api.GET("/api/plans/{plan_id}/explain/{customer_id}", {
          params: { path: { plan_id: planId, customer_id: lookup.customer_id } },
          signal,
        }),
      ),
  });
  const done = settled.data?.in_list === expected;
  useEffect(() => {
    // the list and any "why not" answer read before the save are out of date now
    if (done) queries.invalidateQueries({ queryKey: ["plan", planId] });
  }, [done, planId, queries]);

  return (
    <Stack>
      <StepHeading>3. Review and save</StepHeading>
      <Text fw={700}>{lookup.name ?? lookup.customer_id}</Text>
      <List aria-label="Changes">
        {changes.map((c) => (
          <List.Item key={`${c.segmentation}.${c.dimension}`}>
            {c.segmentation}: {c.dimension} {c.from ?? "(no value)"} → {c.to}
          </List.Item>
        ))}
      </List>
      <ComputedTable computed={computed} />
      {!save.isSuccess && (
        <Group>
          <Button variant="default" onClick={onBack}>
            Back
          </Button>
          <Button onClick={() => save.mutate()} loading={save.isPending}>
            Save
          </Button>
        </Group>
      )}
      {save.error && (
        <Alert color="red.9" title="Not saved" role="alert">
          {save.error.message}
        </Alert>
      )}
      {save.isSuccess && (
        <Alert color="gray" title="Saved" role="status">
          <Stack gap="xs">
            <Text size="sm">
              {done
                ? `The list has taken the change: ${lookup.name ?? "the customer"} is ${expected ? "in" : "not in"} the list.`
                : "The profile values are saved; the list is taking the change…"}
            </Text>
            <Anchor component={Link} to={`/plans/${encodeURIComponent(planId)}`}>
              Back to the plan's list
            </Anchor>
          </Stack>
        </Alert>
      )}
    </Stack>
  );
}
