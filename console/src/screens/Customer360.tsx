import { Anchor, Badge, Button, Group, Paper, SimpleGrid, Stack, Table, Tabs, Text, Title } from "@mantine/core";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";

import { api, unwrap, type Schemas } from "../api/client";
import { formatAmount, formatDate, formatDay } from "../lib/format";
import { displayName } from "../lib/search";
import { timelineLabel } from "../lib/timeline";
import { useFocusHeading } from "../lib/useFocusHeading";
import { Failure, Loading, Unavailable } from "./common";
import { CustomerDetails } from "./CustomerRecord";

type View = Schemas["Customer360"];

export function Customer360Screen() {
  const { id = "" } = useParams();
  const view = useQuery({
    queryKey: ["customer-360", id],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/customers/{customer_id}/360", { params: { path: { customer_id: id } }, signal })),
  });
  const heading = useFocusHeading<HTMLHeadingElement>(view.isSuccess);

  if (view.isPending) return <Loading what="the Customer 360" />;
  if (view.error) return <Failure error={view.error} what="customer" />;
  const v = view.data;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} ref={heading} tabIndex={-1}>
          {displayName(v.customer)}: Customer 360
        </Title>
        <Anchor component={Link} to={`/customers/${v.customer.id}`}>
          Customer record
        </Anchor>
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <CustomerDetails customer={v.customer} />
        <LoyaltyCard part={v.loyalty} />
      </SimpleGrid>
      <Tabs defaultValue="purchases" keepMounted={false}>
        <Tabs.List aria-label="Customer 360 parts">
          <Tabs.Tab value="purchases">Purchases</Tabs.Tab>
          <Tabs.Tab value="coupons">Coupons</Tabs.Tab>
          <Tabs.Tab value="segments">Segments</Tabs.Tab>
          <Tabs.Tab value="lists">Lists</Tabs.Tab>
          <Tabs.Tab value="timeline">Timeline</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="purchases" pt="md">
          <PurchasesPart part={v.purchases} />
        </Tabs.Panel>
        <Tabs.Panel value="coupons" pt="md">
          <CouponsPart part={v.coupons} />
        </Tabs.Panel>
        <Tabs.Panel value="segments" pt="md">
          <SegmentsPart part={v.segments} />
        </Tabs.Panel>
        <Tabs.Panel value="lists" pt="md">
          <ListsPart part={v.lists} />
        </Tabs.Panel>
        <Tabs.Panel value="timeline" pt="md">
          <Timeline customerId={v.customer.id} first={v.timeline} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text component="dt" size="xs" c="dimmed">
        {label}
      </Text>
      <Text component="dd" m={0} style={{ overflowWrap: "anywhere" }}>
        {children}
      </Text>
    </div>
  );
}

function Stars({ label, value }: { label: string; value: number | null | undefined }) {
  if (value === null || value === undefined) return <Field label={label}>—</Field>;
  return (
    <Field label={label}>
      <span role="img" aria-label={`${value} of 5 stars`}>{"★".repeat(value) + "☆".repeat(Math.max(0, 5 - value))}</span>
    </Field>
  );
}

function LoyaltyCard({ part }: { part: View["loyalty"] }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="loyalty">
      <Title order={2} size="h4" id="loyalty" mb="xs">
        Loyalty card
      </Title>
      {part.status === "unavailable" && <Unavailable what="Loyalty" service={part.service} />}
      {part.status === "absent" && <Text>Not a loyalty member.</Text>}
      {part.status === "available" && part.data && <LoyaltyFields member={part.data} />}
    </Paper>
  );
}

function LoyaltyFields({ member }: { member: Schemas["LoyaltyMember"] }) {
  const m = member.metrics;
  const expiry = member.points.next_expiry;
  return (
    <SimpleGrid cols={{ base: 2, sm: 3 }} component="dl" spacing="xs" m={0}>
      <Field label="Status">{member.status}</Field>
      <Field label="Tier">
        <Badge variant="filled" color="blue.8">{member.tier ?? "—"}</Badge>
        {member.next_tier ? ` (${member.next_tier.points_needed} to ${member.next_tier.tier})` : ""}
      </Field>
      <Field label="Points balance">{member.points_balance}</Field>
      <Field label="Pending points">{member.points.pending}</Field>
      <Field label="Spent points">{member.points.spent}</Field>
      <Field label="Expired points">{member.points.expired}</Field>
      <Field label="Next expiry">{expiry ? `${expiry.points} on ${formatDay(expiry.at)}` : "—"}</Field>
      <Field label="Lifetime spend">{formatAmount(m.lifetime_spend)}</Field>
      <Field label="Orders">{m.orders}</Field>
      <Field label="Last purchase">{formatDate(m.last_purchase_at)}</Field>
      <Field label="Top categories">{m.top_categories?.map((c) => c.category).join(", ") || "—"}</Field>
      <Field label="Last NPS">{m.last_nps?.nps ?? "—"}</Field>
      <Stars label="Recency" value={member.rfm?.recency} />
      <Stars label="Frequency" value={member.rfm?.frequency} />
      <Stars label="Monetary" value={member.rfm?.monetary} />
      <Field label="Referral code">{member.referral_code ?? "—"}</Field>
    </SimpleGrid>
  );
}

function PurchasesPart({ part }: { part: View["purchases"] }) {
  if (part.status === "unavailable") return <Unavailable what="Purchases" service={part.service} />;
  const items = part.data?.items ?? [];
  if (items.length === 0) return <Text>No purchases.</Text>;
  return (
    <Table striped aria-label="Purchases">
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Order</Table.Th>
          <Table.Th scope="col">When</Table.Th>
          <Table.Th scope="col">Store</Table.Th>
          <Table.Th scope="col">Products</Table.Th>
          <Table.Th scope="col">Total</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {items.map((p) => (
          <Table.Tr key={p.order_id}>
            <Table.Td>
              {p.order_id}
              {p.returned_at ? " (returned)" : ""}
            </Table.Td>
            <Table.Td>{formatDate(p.purchased_at)}</Table.Td>
            <Table.Td>{p.store ?? "—"}</Table.Td>
            <Table.Td>{p.lines?.map((l) => `${l.quantity} × ${l.product}`).join(", ")}</Table.Td>
            <Table.Td>{formatAmount(p.total, p.currency)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

const COUPON_TABS = [
  ["active", "Active"],
  ["applied", "Applied"],
  ["lapsed", "Lapsed"],
] as const;

function CouponsPart({ part }: { part: View["coupons"] }) {
  if (part.status === "unavailable") return <Unavailable what="Coupons" service={part.service} />;
  const tabs = part.data ?? { active: [], applied: [], lapsed: [] };
  return (
    <Tabs defaultValue="active" variant="pills">
      <Tabs.List aria-label="Coupons by state">
        {COUPON_TABS.map(([key, label]) => (
          <Tabs.Tab key={key} value={key}>
            {label} ({tabs[key].length})
          </Tabs.Tab>
        ))}
      </Tabs.List>
      {COUPON_TABS.map(([key, label]) => (
        <Tabs.Panel key={key} value={key} pt="sm">
          {tabs[key].length === 0 ? (
            <Text>No {label.toLowerCase()} coupons.</Text>
          ) : (
            <Table aria-label={`${label} coupons`}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th scope="col">Code</Table.Th>
                  <Table.Th scope="col">Promotion</Table.Th>
                  <Table.Th scope="col">Discount</Table.Th>
                  <Table.Th scope="col">Issued</Table.Th>
                  <Table.Th scope="col">{key === "applied" ? "Redeemed" : "Expires"}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {tabs[key].map((c) => (
                  <Table.Tr key={c.id}>
                    <Table.Td>{c.id}</Table.Td>
                    <Table.Td>{c.name ?? c.definition}</Table.Td>
                    <Table.Td>{discountLabel(c.discount)}</Table.Td>
                    <Table.Td>{formatDate(c.issued_at)}</Table.Td>
                    <Table.Td>
                      {key === "applied"
                        ? `${formatDate(c.redeemed_at)}${c.order_id ? ` (${c.order_id})` : ""}`
                        : formatDay(c.expires_at)}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Tabs.Panel>
      ))}
    </Tabs>
  );
}

function discountLabel(d: Schemas["Discount"] | null | undefined): string {
  if (!d) return "—";
  return d.kind === "percent" ? `${d.value}%` : `${d.value} ${d.kind}`;
}

function SegmentsPart({ part }: { part: View["segments"] }) {
  if (part.status === "unavailable") return <Unavailable what="Segments" service={part.service} />;
  const segmentations = Object.entries(part.data?.segmentations ?? {});
  if (segmentations.length === 0) return <Text>In no segmentation yet.</Text>;
  return (
    <Table aria-label="Segments">
      <Table.Thead>
        <Table.Tr>
          <Table.Th scope="col">Segmentation</Table.Th>
          <Table.Th scope="col">Segment</Table.Th>
          <Table.Th scope="col">Profile values</Table.Th>
          <Table.Th scope="col">Rule version</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {segmentations.map(([code, a]) => (
          <Table.Tr key={code}>
            <Table.Td>{code}</Table.Td>
            <Table.Td>{a.segment ?? "none"}</Table.Td>
            <Table.Td>
              {Object.entries(a.profile ?? {})
                .map(([k, val]) => `${k}: ${val}`)
                .join(", ") || "—"}
            </Table.Td>
            <Table.Td>{a.rule_version}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function ListsPart({ part }: { part: View["lists"] }) {
  if (part.status === "unavailable") return <Unavailable what="Lists" service={part.service} />;
  const plans = part.data?.plans ?? [];
  const lists = part.data?.lists ?? [];
  if (plans.length === 0 && lists.length === 0) return <Text>On no list.</Text>;
  return (
    <Stack>
      {plans.length > 0 && (
        <Table aria-label="Plan lists">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Plan</Table.Th>
              <Table.Th scope="col">Segments</Table.Th>
              <Table.Th scope="col">Bricks</Table.Th>
              <Table.Th scope="col">Since</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {plans.map((p) => (
              <Table.Tr key={p.plan_id}>
                <Table.Td>{p.plan_id}</Table.Td>
                <Table.Td>
                  {Object.entries(p.segments ?? {})
                    .map(([code, segment]) => `${code}: ${segment ?? "none"}`)
                    .join(", ") || "—"}
                </Table.Td>
                <Table.Td>{p.bricks?.join(", ") ?? "—"}</Table.Td>
                <Table.Td>{formatDate(p.since)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {lists.length > 0 && (
        <Table aria-label="Static lists and groups">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">List</Table.Th>
              <Table.Th scope="col">Kind</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {lists.map((l) => (
              <Table.Tr key={l.id}>
                <Table.Td>{l.name}</Table.Td>
                <Table.Td>{l.kind ?? "—"}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

function Timeline({ customerId, first }: { customerId: string; first: View["timeline"] }) {
  // The view brings the first page; later pages come from /360/timeline?before=...
  const more = useInfiniteQuery({
    queryKey: ["customer-360-timeline", customerId, first.data.next_before],
    enabled: false,
    initialPageParam: first.data.next_before,
    queryFn: ({ signal, pageParam }) =>
      unwrap(
        api.GET("/api/customers/{customer_id}/360/timeline", {
          params: { path: { customer_id: customerId }, query: { before: pageParam, limit: 20 } },
          signal,
        }),
      ),
    getNextPageParam: (page) => page.next_before ?? undefined,
  });
  const pages = more.data?.pages ?? [];
  const items = [...first.data.items, ...pages.flatMap((p) => p.items)];
  const next = pages.length ? pages[pages.length - 1].next_before : first.data.next_before;
  const loyaltyMissing = first.loyalty !== "included" || pages.some((p) => p.parts.loyalty === "unavailable");
  return (
    <Stack>
      {loyaltyMissing && <Unavailable what="Loyalty history" service="loyalty" />}
      {items.length === 0 ? (
        <Text>Nothing yet.</Text>
      ) : (
        <Table aria-label="Timeline">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">When</Table.Th>
              <Table.Th scope="col">What</Table.Th>
              <Table.Th scope="col">From</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((item, i) => (
              <Table.Tr key={`${item.at}-${i}`}>
                <Table.Td>{formatDate(item.at)}</Table.Td>
                <Table.Td>{timelineLabel(item)}</Table.Td>
                <Table.Td>{item.source}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {next && (
        <Group>
          <Button
            variant="default"
            loading={more.isFetching}
            onClick={() => (pages.length ? more.fetchNextPage() : more.refetch())}
          >
            Older entries
          </Button>
        </Group>
      )}
      {more.error && <Failure error={more.error} what="timeline" />}
    </Stack>
  );
}
