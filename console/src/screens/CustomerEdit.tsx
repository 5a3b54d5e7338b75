import { Alert, Button, Group, Stack, Text, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate, useParams } from "react-router";

import { api, unwrap, type Schemas } from "../api/client";
import { editPatch, fieldErrors, formFromCustomer, isConflict, type CustomerForm } from "../lib/customerForm";
import { displayName } from "../lib/search";
import { useFocusHeading } from "../lib/useFocusHeading";
import { useCustomer } from "./CustomerRecord";
import { CustomerFormFields } from "./CustomerForm";
import { Failure, Loading } from "./common";

/** Edit a customer with the version it was read at (If-Match): if someone changed the record
 * meanwhile the API refuses (409/412) and the screen says so and offers a reload. */
export function CustomerEditScreen() {
  const { id = "" } = useParams();
  const customer = useCustomer(id);
  if (customer.isPending) return <Loading what="the customer" />;
  if (customer.error) return <Failure error={customer.error} what="customer" />;
  return <EditForm key={customer.data.version} customer={customer.data} reload={() => customer.refetch()} />;
}

function EditForm({ customer, reload }: { customer: Schemas["Customer"]; reload: () => void }) {
  const heading = useFocusHeading<HTMLHeadingElement>();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [form, setForm] = useState<CustomerForm>(() => formFromCustomer(customer));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [conflict, setConflict] = useState<string | null>(null);

  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH("/api/customers/{customer_id}", {
          params: { path: { customer_id: customer.id }, header: { "if-match": `"${customer.version}"` } },
          body: editPatch(customer, form),
        }),
      ),
    onSuccess: (saved) => {
      queries.setQueryData(["customer", saved.id], saved);
      navigate(`/customers/${saved.id}`);
    },
    onError: (error) => {
      setErrors(fieldErrors(error));
      setConflict(isConflict(error) ? error.message : null);
    },
  });
  const submit = () => {
    if (Object.keys(editPatch(customer, form)).length === 0) navigate(`/customers/${customer.id}`);
    else save.mutate();
  };

  return (
    <Stack>
      <Title order={1} ref={heading} tabIndex={-1}>
        Edit {displayName(customer)}
      </Title>
      <Text size="sm" c="dimmed">
        Editing version {customer.version}
      </Text>
      <CustomerFormFields
        form={form}
        onChange={setForm}
        errors={errors}
        onSubmit={submit}
        submitLabel="Save changes"
        saving={save.isPending}
      >
        {conflict !== null && (
          <Alert color="red.9" title="Someone else changed this customer" role="alert">
            <Stack gap="xs">
              <Text size="sm" c="white">
                The record changed since you opened it at version {customer.version}, so your changes were not
                saved ({conflict}). Reload it to see the current record, then make your changes again.
              </Text>
              <Group>
                <Button variant="default" onClick={reload}>
                  Reload the record
                </Button>
              </Group>
            </Stack>
          </Alert>
        )}
      </CustomerFormFields>
    </Stack>
  );
}
