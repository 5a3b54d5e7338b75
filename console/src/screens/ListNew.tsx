import { Alert, Button, Fieldset, Group, NativeSelect, SimpleGrid, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";

import { api, unwrap } from "../api/client";
import {
  changedCount,
  CRITERIA,
  emptyDraft,
  fromSearchBody,
  listFieldErrors,
  USAGES,
  type CriterionKey,
  type ListDraft,
} from "../lib/lists";
import { useFocusHeading } from "../lib/useFocusHeading";

/** Seed 003: a static list made of the customers a search finds, in two steps: count them,
 * then create the list if the search still finds that many. Problems show at their fields
 * (a criterion the search refuses, a list field the lists service refuses). */
export function ListNewScreen() {
  const heading = useFocusHeading<HTMLHeadingElement>();
  const navigate = useNavigate();
  const queries = useQueryClient();
  const [draft, setDraft] = useState<ListDraft>(emptyDraft);
  const [count, setCount] = useState<number | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [notice, setNotice] = useState<string | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const countRef = useRef<HTMLParagraphElement>(null);

  const [counted, setCounted] = useState(0); // each count answer moves the focus to it
  useEffect(() => {
    formRef.current?.querySelector<HTMLElement>("[aria-invalid='true']")?.focus();
  }, [errors]);
  useEffect(() => {
    if (counted) countRef.current?.focus();
  }, [counted]);

  const change = (next: ListDraft) => {
    setDraft(next);
    setCount(null); // a count holds for the criteria it was made with
    setNotice(null);
  };

  const counting = useMutation({
    mutationFn: () => unwrap(api.POST("/api/lists/from-search", { body: fromSearchBody(draft) })),
    onMutate: () => {
      setErrors({});
      setNotice(null);
    },
    onSuccess: (answer) => {
      setCount(answer.count);
      setCounted((n) => n + 1);
    },
    onError: (error) => setErrors(listFieldErrors(error)),
  });
  const creating = useMutation({
    mutationFn: (confirmed: number) =>
      unwrap(api.POST("/api/lists/from-search", { body: fromSearchBody(draft, confirmed) })),
    onMutate: () => setErrors({}),
    onSuccess: (answer) => {
      queries.invalidateQueries({ queryKey: ["lists"] });
      if (answer.list) navigate(`/lists/${encodeURIComponent(answer.list.id)}`);
    },
    onError: (error) => {
      const now = changedCount(error);
      if (now !== null) {
        setCount(now);
        setNotice(`The search finds ${now} customers now, not ${count}: check the count and create again.`);
        setCounted((n) => n + 1);
      } else setErrors(listFieldErrors(error));
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    counting.mutate();
  };
  const criterion = (key: CriterionKey, label: string) => (
    <TextInput
      key={key}
      label={label}
      value={draft.criteria[key] ?? ""}
      error={errors[`criteria.${key}`]}
      onChange={(e) => change({ ...draft, criteria: { ...draft.criteria, [key]: e.currentTarget.value } })}
    />
  );

  return (
    <Stack maw={900}>
      <Title order={1} ref={heading} tabIndex={-1}>
        New list from a search
      </Title>
      <form ref={formRef} onSubmit={submit} noValidate aria-label="New list">
        <Stack>
          {errors.form && (
            <Alert color="red.9" title="Not done" role="alert">
              {errors.form}
            </Alert>
          )}
          <Fieldset legend="The list">
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <TextInput
                label="Name"
                required
                value={draft.name}
                error={errors.name}
                onChange={(e) => change({ ...draft, name: e.currentTarget.value })}
              />
              <NativeSelect
                label="Usage"
                value={draft.usage}
                error={errors.usage}
                data={USAGES.map((u) => ({ value: u, label: u }))}
                onChange={(e) => change({ ...draft, usage: e.currentTarget.value })}
              />
              <TextInput
                label="Leave out customers with these suppressions"
                description="Separated by commas, e.g. do-not-mail"
                value={draft.excludedSuppressions}
                error={errors.excludedSuppressions}
                onChange={(e) => change({ ...draft, excludedSuppressions: e.currentTarget.value })}
              />
              <TextInput
                label="Require these traits"
                description="Separated by commas; customers must have all of them"
                value={draft.requiredTraits}
                error={errors.requiredTraits}
                onChange={(e) => change({ ...draft, requiredTraits: e.currentTarget.value })}
              />
            </SimpleGrid>
          </Fieldset>
          <Fieldset legend="Customers who match">
            <SimpleGrid cols={{ base: 1, sm: 3 }}>{CRITERIA.map((c) => criterion(c.key, c.label))}</SimpleGrid>
          </Fieldset>
          <Group>
            <Button type="submit" loading={counting.isPending}>
              Count customers
            </Button>
          </Group>
        </Stack>
      </form>
      {count !== null && (
        <Stack gap="xs" role="region" aria-label="Count">
          <Text ref={countRef} tabIndex={-1} role="status">
            {count === 1 ? "1 customer matches" : `${count} customers match`} these criteria.
          </Text>
          {notice && (
            <Text size="sm" c="orange.9">
              {notice}
            </Text>
          )}
          <Group>
            <Button onClick={() => creating.mutate(count)} loading={creating.isPending} disabled={!draft.name.trim()}>
              Create the list of {count} customers
            </Button>
            {!draft.name.trim() && <Text size="sm">The list needs a name.</Text>}
          </Group>
        </Stack>
      )}
    </Stack>
  );
}
