import { Alert, Button, Fieldset, Group, NativeSelect, SimpleGrid, Stack, Text, TextInput } from "@mantine/core";
import { useEffect, useRef, type FormEvent, type ReactNode } from "react";

import {
  ADDRESS_FIELDS,
  CONTACT_FIELDS,
  NAME_FIELDS,
  type AddressKey,
  type ContentType,
  type CustomerForm,
  type CustomerKey,
} from "../lib/customerForm";

const CONTENT_TYPES: { value: ContentType; label: string }[] = [
  { value: "unknown", label: "Unknown" },
  { value: "short_text", label: "Short Text" },
  { value: "html", label: "HTML" },
  { value: "text", label: "Text" },
];

/** Seed 004's customer profile form: the manual's fields, each problem shown at its field;
 * after a refused save the first field at fault takes the focus. */
export function CustomerFormFields({
  form,
  onChange,
  errors,
  onSubmit,
  submitLabel,
  saving,
  children,
}: {
  form: CustomerForm;
  onChange: (form: CustomerForm) => void;
  errors: Record<string, string>;
  onSubmit: () => void;
  submitLabel: string;
  saving: boolean;
  children?: ReactNode;
}) {
  const formRef = useRef<HTMLFormElement>(null);
  useEffect(() => {
    const first = formRef.current?.querySelector<HTMLElement>("[aria-invalid='true']");
    first?.focus();
  }, [errors]);

  const field = (key: CustomerKey, label: string, extra: Record<string, unknown> = {}) => (
    <TextInput
      key={key}
      name={key}
      label={label}
      value={form.fields[key]}
      error={errors[key]}
      onChange={(e) => onChange({ ...form, fields: { ...form.fields, [key]: e.currentTarget.value } })}
      {...extra}
    />
  );
  const addressField = (key: AddressKey, label: string) => (
    <TextInput
      key={key}
      name={key}
      label={label}
      value={form.address[key]}
      error={errors[key]}
      onChange={(e) => onChange({ ...form, address: { ...form.address, [key]: e.currentTarget.value } })}
    />
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSubmit();
  };

  return (
    <form ref={formRef} onSubmit={submit} noValidate aria-label="Customer profile">
      <Stack>
        {errors.form && (
          <Alert color="red.9" title="Not saved" role="alert">
            {errors.form}
          </Alert>
        )}
        {children}
        <Fieldset legend="Name">
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>{NAME_FIELDS.map(([k, l]) => field(k, l))}</SimpleGrid>
        </Fieldset>
        <Fieldset legend="Contact">
          <Text size="sm" mb="xs" id="contact-rule">
            A customer needs an email address or an SMS number.
          </Text>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
            {CONTACT_FIELDS.map(([k, l]) =>
              field(k, l, {
                type: k === "email" ? "email" : "tel",
                ...(k === "email" || k === "sms" ? { description: "Email or SMS is needed" } : {}),
              }),
            )}
          </SimpleGrid>
        </Fieldset>
        <Fieldset legend="Address">
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }}>{ADDRESS_FIELDS.map(([k, l]) => addressField(k, l))}</SimpleGrid>
        </Fieldset>
        <Fieldset legend="Other">
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
            {field("date_of_birth", "Birth date", { type: "date" })}
            <NativeSelect
              label="Content type"
              data={CONTENT_TYPES}
              value={form.content_type}
              onChange={(e) => onChange({ ...form, content_type: e.currentTarget.value as ContentType })}
            />
          </SimpleGrid>
        </Fieldset>
        <Group>
          <Button type="submit" loading={saving}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
