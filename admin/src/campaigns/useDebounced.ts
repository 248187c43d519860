import { useEffect, useState } from 'react';

/** The value once it has stopped changing for `ms`: live counts and previews ask once per pause in typing. */
export function useDebounced<T>(value: T, ms = 400): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
