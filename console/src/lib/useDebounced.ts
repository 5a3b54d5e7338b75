import { useEffect, useMemo, useState } from "react";

import { Debouncer } from "./debounce";

/** `value`, once it has stayed the same for `delayMs`. */
export function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  const debouncer = useMemo(() => new Debouncer<T>(delayMs, setSettled), [delayMs]);
  useEffect(() => {
    debouncer.offer(value);
  }, [debouncer, value]);
  useEffect(() => () => debouncer.cancel(), [debouncer]);
  return settled;
}
