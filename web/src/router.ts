// Routing in the URL's fragment (#/orders/ord_1): the console is one static file set,
// served from any path prefix without server rewrites.
import { useEffect, useState } from "preact/hooks";

export function currentRoute(): string[] {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path] = hash.split("?");
  return path.split("/").filter(Boolean).map(decodeURIComponent);
}

export function useRoute(): string[] {
  const [route, setRoute] = useState(currentRoute());
  useEffect(() => {
    const onChange = () => setRoute(currentRoute());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function go(...parts: string[]) {
  location.hash = "#/" + parts.map(encodeURIComponent).join("/");
}

export const href = (...parts: string[]) => "#/" + parts.map(encodeURIComponent).join("/");
