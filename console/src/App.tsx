import { Anchor, AppShell, Button, Group, Text, Title, VisuallyHidden } from "@mantine/core";
import { useEffect, useState } from "react";
import { Link, Navigate, Route, Routes, useLocation, useNavigate } from "react-router";

import { whenSignedOut } from "./api/client";
import { managesPlans } from "./lib/manager";
import { isExpired, readClaims, storedToken, storeToken, type Person } from "./lib/session";
import { PersonContext } from "./lib/usePerson";
import { Customer360Screen } from "./screens/Customer360";
import { CustomerEditScreen } from "./screens/CustomerEdit";
import { CustomerImportScreen } from "./screens/CustomerImport";
import { CustomerNewScreen } from "./screens/CustomerNew";
import { CustomerRecordScreen } from "./screens/CustomerRecord";
import { CustomerSearchScreen } from "./screens/CustomerSearch";
import { ListDetailScreen } from "./screens/ListDetail";
import { ListNewScreen } from "./screens/ListNew";
import { ListsScreen } from "./screens/Lists";
import { PlanScreen } from "./screens/Plan";
import { PlanAddEditScreen } from "./screens/PlanAddEdit";
import { PlansScreen } from "./screens/Plans";
import { SignInScreen } from "./screens/SignIn";
import { TeamPlansScreen } from "./screens/TeamPlans";

/** Who the stored token is for; an expired or unreadable token signs the person out. */
function currentPerson(): Person | null {
  const token = storedToken();
  const person = token ? readClaims(token) : null;
  if (token && (!person || isExpired(person))) storeToken(null);
  return person && !isExpired(person) ? person : null;
}

export function App() {
  const [person, setPerson] = useState<Person | null>(currentPerson);
  const navigate = useNavigate();
  const location = useLocation();

  useEffect(() => whenSignedOut(() => setPerson(null)), []);

  const signIn = (token: string) => {
    storeToken(token);
    setPerson(readClaims(token));
    const from = (location.state as { from?: string } | null)?.from;
    navigate(from && from !== "/sign-in" ? from : "/customers", { replace: true });
  };
  const signOut = () => {
    storeToken(null);
    setPerson(null);
    navigate("/sign-in");
  };

  if (!person) {
    return (
      <AppShell padding="md">
        <AppShell.Main>
          <Routes>
            <Route path="/sign-in" element={<SignInScreen onSignedIn={signIn} />} />
            <Route
              path="*"
              element={<Navigate to="/sign-in" replace state={{ from: location.pathname }} />}
            />
          </Routes>
        </AppShell.Main>
      </AppShell>
    );
  }

  return (
    <PersonContext.Provider value={person}>
      <AppShell header={{ height: 56 }} padding="md">
        <AppShell.Header>
          <Group h="100%" px="md" justify="space-between" component="nav" aria-label="Main">
            <Group>
              <Title order={2} size="h4">
                <Link to="/customers" style={{ color: "inherit", textDecoration: "none" }}>
                  Customer data platform
                </Link>
              </Title>
              <Anchor component={Link} to="/customers">
                Customers
              </Anchor>
              <Anchor component={Link} to="/customers/new">
                New customer
              </Anchor>
              <Anchor component={Link} to="/customers/import">
                Import
              </Anchor>
              <Anchor component={Link} to="/plans">
                Plans
              </Anchor>
              <Anchor component={Link} to="/lists">
                Lists
              </Anchor>
              {managesPlans(person) && (
                <Anchor component={Link} to="/team-plans">
                  Team plans
                </Anchor>
              )}
            </Group>
            <Group gap="sm">
              <Text size="sm">
                <VisuallyHidden>Signed in as </VisuallyHidden>
                {person.user} · {person.role}
                {person.teams.length ? ` · ${person.teams.join(", ")}` : ""}
              </Text>
              <Button variant="default" size="xs" onClick={signOut}>
                Sign out
              </Button>
            </Group>
          </Group>
        </AppShell.Header>
        <AppShell.Main>
          <Routes>
            <Route path="/customers" element={<CustomerSearchScreen />} />
            <Route path="/customers/new" element={<CustomerNewScreen />} />
            <Route path="/customers/import" element={<CustomerImportScreen />} />
            <Route path="/customers/:id" element={<CustomerRecordScreen />} />
            <Route path="/customers/:id/edit" element={<CustomerEditScreen />} />
            <Route path="/customers/:id/360" element={<Customer360Screen />} />
            <Route path="/plans" element={<PlansScreen />} />
            <Route path="/plans/:id" element={<PlanScreen />} />
            <Route path="/plans/:id/add-edit" element={<PlanAddEditScreen />} />
            <Route path="/team-plans" element={<TeamPlansScreen />} />
            <Route path="/lists" element={<ListsScreen />} />
            <Route path="/lists/new" element={<ListNewScreen />} />
            <Route path="/lists/:id" element={<ListDetailScreen />} />
            <Route path="*" element={<Navigate to="/customers" replace />} />
          </Routes>
        </AppShell.Main>
      </AppShell>
    </PersonContext.Provider>
  );
}
