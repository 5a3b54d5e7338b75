import { useEffect, useRef } from "react";

/** Focus after navigation: a screen's heading takes the focus when the screen opens, so a
 * screen reader announces it and the keyboard starts from there. */
export function useFocusHeading<T extends HTMLElement>(ready = true) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (ready) ref.current?.focus();
  }, [ready]);
  return ref;
}
