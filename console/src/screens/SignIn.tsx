import { Alert, Button, Paper, Select, Stack, Textarea, TextInput, Title } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { api, unwrap } from "../api/client";
import { parseTeams, validateDevSignIn, validatePastedToken, type DevSignIn, type Errors } from "../lib/signIn";
import { useFocusHeading } from "../lib/useFocusHeading";

export function SignInScreen({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const heading = useFocusHeading<HTMLHeadingElement>();
  const options = useQuery({
    queryKey: ["sign-in-options"],
    queryFn: ({ signal }) => unwrap(api.GET("/api/sign-in/options", { signal })),
  });

  return (
    <Stack maw={480} mx="auto" mt="xl">
      <Title order={1} ref={heading} tabIndex={-1}>
        Sign in
      </Title>
      {options.data?.dev_tokens && <DevSignInForm roles={options.data.roles} onSignedIn={onSignedIn} />}
      <TokenForm onSignedIn={onSignedIn} />
    </Stack>
  );
}

function DevSignInForm({
  roles,
  onSignedIn,
}: {
  roles: string[];
  onSignedIn: (token: string) => void;
}) {
  const [form, setForm] = useState<DevSignIn>({ user: "", role: "rep", teams: "" });
  const [errors, setErrors] = useState<Errors<DevSignIn>>({});
  const mint = useMutation({
    mutationFn: (f: DevSignIn) =>
      unwrap(
        api.POST("/api/dev/token", {
          body: { user: f.user.trim(), role: f.role as "rep", teams: parseTeams(f.teams) },
        }),
      ),
    onSuccess: (answer) => onSignedIn(answer.token),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const found = validateDevSignIn(form, roles);
    setErrors(found);
    if (Object.keys(found).length === 0) mint.mutate(form);
  };
  return (
    <Paper withBorder p="md" component="form" onSubmit={submit} aria-labelledby="dev-sign-in">
      <Stack>
        <Title order={2} size="h4" id="dev-sign-in">
          Dev mode: sign in as anyone
        </Title>
        <TextInput
          label="User"
          name="user"
          required
          value={form.user}
          error={errors.user}
          onChange={(e) => setForm({ ...form, user: e.currentTarget.value })}
        />
        <Select
          label="Role"
          name="role"
          required
          data={roles}
          value={form.role}
          error={errors.role}
          allowDeselect={false}
          onChange={(role) => setForm({ ...form, role: role ?? "rep" })}
        />
        <TextInput
          label="Teams"
          name="teams"
          description="Team codes, separated by commas"
          value={form.teams}
          error={errors.teams}
          onChange={(e) => setForm({ ...form, teams: e.currentTarget.value })}
        />
        {mint.error && <Alert color="red" title="Not signed in">{mint.error.message}</Alert>}
        <Button type="submit" loading={mint.isPending}>
          Sign in
        </Button>
      </Stack>
    </Paper>
  );
}

function TokenForm({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const problem = validatePastedToken(token);
    setError(problem);
    if (!problem) onSignedIn(token.trim());
  };
  return (
    <Paper withBorder p="md" component="form" onSubmit={submit} aria-labelledby="token-sign-in">
      <Stack>
        <Title order={2} size="h4" id="token-sign-in">
          Sign in with a bearer token
        </Title>
        <Textarea
          label="Bearer token"
          name="token"
          autosize
          minRows={2}
          value={token}
          error={error}
          onChange={(e) => setToken(e.currentTarget.value)}
        />
        <Button type="submit" variant="default">
          Use this token
        </Button>
      </Stack>
    </Paper>
  );
}
