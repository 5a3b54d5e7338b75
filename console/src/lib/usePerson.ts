import { createContext, useContext } from "react";

import type { Person } from "./session";

/** The signed-in person, for screens that show or hide what their role may do. */
export const PersonContext = createContext<Person | null>(null);

export function usePerson(): Person {
  const person = useContext(PersonContext);
  if (!person) throw new Error("usePerson outside a signed-in screen");
  return person;
}
