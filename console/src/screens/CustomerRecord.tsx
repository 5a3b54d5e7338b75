import { Anchor, Badge, Group, Paper, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";

import { api, unwrap, type Schemas } from "../api/client";
import { formatDate, formatDay } from "../lib/format";
import { displayName } from "../lib/search";
import { useFocusHeading } from "../lib/useFocusHeading";
import { StatusBadge } from "./StatusBadge";
import { Failure, Loading } from "./common";

type Customer = Schemas["Customer"];

const DETAILS: [keyof Customer, string][] = [
  ["salutation", "Salutation"],
  ["first_name", "First name"],
  ["middle_name", "Middle name"],
  ["last_name", "Last name"],
  ["organization", "Organization"],
  ["job_title", "Job title"],
  ["kind", "Kind"],
  ["customer_type", "Customer type"],
  ["mdm_code", "MDM code"],
  ["alt_customer_id", "Alternate id"],
  ["email", "Email"],
  ["phone", "Phone"],
  ["work_phone", "Work phone"],
  ["sms", "SMS"],
  ["fax", "Fax"],
  ["preferred_contact_method", "Preferred contact"],
  ["gender", "Gender"],
  ["marital_status", "Marital status"],
  ["date_of_birth", "Date of birth"],
];

export function useCustomer(id: string) {
  return useQuery({
    queryKey: ["customer", id],
    queryFn: ({ signal }) =>
      unwrap(api.GET("/api/customers/{customer_id}", { params: { path: { customer_id: id } }, signal })),
  });
}

export function CustomerRecordScreen() {
  const { id = "" } = useParams();
  const customer = useCustomer(id);
  const heading = useFocusHeading<HTMLHeadingElement>(customer.isSuccess);

  if (customer.isPending) return <Loading what="the customer" />;
  if (customer.error) return <Failure error={customer.error} what="customer" />;
  const c = customer.data;

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={1} ref={heading} tabIndex={-1}>
          {displayName(c)}
        </Title>
        <Group>
          <StatusBadge status={c.status} />
          <Anchor component={Link} to={`/customers/${c.id}/edit`}>
            Edit
          </Anchor>
          <Anchor component={Link} to={`/customers/${c.id}/360`}>
            Customer 360
          </Anchor>
        </Group>
      </Group>
      <Text size="sm" c="dimmed">
        Version {c.version} · created {formatDate(c.created_at)} · updated {formatDate(c.updated_at)}
      </Text>
      <CustomerDetails customer={c} />
      <Addresses customer={c} />
      {(c.traits?.length ?? 0) > 0 && (
        <Paper withBorder p="md" component="section" aria-labelledby="traits">
          <Title order={2} size="h4" id="traits" mb="xs">
            Traits
          </Title>
          <Group gap="xs">
            {c.traits!.map((t) => (
              <Badge key={t} variant="outline" color="gray.8">
                {t}
              </Badge>
            ))}
          </Group>
        </Paper>
      )}
    </Stack>
  );
}

export function CustomerDetails({ customer }: { customer: Customer }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="details">
      <Title order={2} size="h4" id="details" mb="xs">
        Details
      </Title>
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} component="dl" spacing="xs" m={0}>
        {DETAILS.filter(([key]) => customer[key] !== null && customer[key] !== undefined).map(([key, label]) => (
          <div key={key}>
            <Text component="dt" size="xs" c="dimmed">
              {label}
            </Text>
            <Text component="dd" m={0} style={{ overflowWrap: "anywhere" }}>
              {key === "date_of_birth" ? formatDay(String(customer[key])) : String(customer[key])}
            </Text>
          </div>
        ))}
      </SimpleGrid>
    </Paper>
  );
}

function Addresses({ customer }: { customer: Customer }) {
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="addresses">
      <Title order={2} size="h4" id="addresses" mb="xs">
        Addresses
      </Title>
      {customer.addresses.length === 0 ? (
        <Text>No address.</Text>
      ) : (
        <Table aria-labelledby="addresses">
          <Table.Thead>
            <Table.Tr>
              <Table.Th scope="col">Address</Table.Th>
              <Table.Th scope="col">City</Table.Th>
              <Table.Th scope="col">Postal code</Table.Th>
              <Table.Th scope="col">Country</Table.Th>
              <Table.Th scope="col">Brick</Table.Th>
              <Table.Th scope="col">Primary</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {customer.addresses.map((a, i) => (
              <Table.Tr key={i}>
                <Table.Td>{[a.line1, a.line2].filter(Boolean).join(", ")}</Table.Td>
                <Table.Td>{a.city ?? "—"}</Table.Td>
                <Table.Td>{a.postal_code ?? "—"}</Table.Td>
                <Table.Td>{a.country ?? "—"}</Table.Td>
                <Table.Td>{a.brick ?? "—"}</Table.Td>
                <Table.Td>{a.primary ? "Yes" : "No"}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Paper>
  );
}
