import { Stack, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";

import { api, unwrap } from "../api/client";
import { createBody, emptyForm, fieldErrors } from "../lib/customerForm";
import { useFocusHeading } from "../lib/useFocusHeading";
import { CustomerFormFields } from "./CustomerForm";

/** Seed 004: a customer entered by hand; the record opens once it is saved. */
export function CustomerNewScreen() {
  const heading = useFocusHeading<HTMLHeadingElement>();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [form, setForm] = useState(emptyForm);
  const [errors, setErrors] = useState<Record<string, string>>({});

  const create = useMutation({
    mutationFn: () => unwrap(api.POST("/api/customers", { body: createBody(form) })),
    onSuccess: (customer) => {
      queries.setQueryData(["customer", customer.id], customer);
      navigate(`/customers/${customer.id}`);
    },
    onError: (error) => setErrors(fieldErrors(error)),
  });

  return (
    <Stack>
      <Title order={1} ref={heading} tabIndex={-1}>
        New customer
      </Title>
      <CustomerFormFields
        form={form}
        onChange={setForm}
        errors={errors}
        onSubmit={() => create.mutate()}
        submitLabel="Save"
        saving={create.isPending}
      />
    </Stack>
  );
}
