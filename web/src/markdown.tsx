// A service's content is Markdown written by its provider. It is rendered here into
// elements, never into an HTML string: a `<script>` or an `onerror=` in the text stays
// text, so there is nothing to sanitize away. The subset providers use: headings,
// paragraphs, bullet and numbered lists, **bold**, *italic*, `code` and links (http(s)
// only, opened without the page's opener), and the service's own checked pictures
// (`![说明](image:<id>)`, shown only when the API lists that id among its images).
import type { ComponentChildren } from "preact";

const INLINE = /(!\[[^\]]*\]\(image:[\w-]+\)|\*\*[^*]+\*\*|\*[^*]+\*|`[^`]+`|\[[^\]]+\]\([^)\s]+\))/;

type Pictures = Record<string, string>;

function inline(text: string, images: Pictures): ComponentChildren[] {
  return text.split(INLINE).filter(Boolean).map((part, i) => {
    const picture = /^!\[([^\]]*)\]\(image:([\w-]+)\)$/.exec(part);
    if (picture) return images[picture[2]] ? <img key={i} src={images[picture[2]]} alt={picture[1]} class="content-image" /> : picture[1];
    if (part.startsWith("**") && part.endsWith("**") && part.length > 4) return <b key={i}>{part.slice(2, -2)}</b>;
    if (part.startsWith("`") && part.endsWith("`") && part.length > 2) return <code key={i}>{part.slice(1, -1)}</code>;
    if (part.startsWith("*") && part.endsWith("*") && part.length > 2) return <i key={i}>{part.slice(1, -1)}</i>;
    const link = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(part);
    if (link) {
      return /^https?:\/\//i.test(link[2])
        ? <a key={i} href={link[2]} target="_blank" rel="noopener noreferrer nofollow">{link[1]}</a>
        : link[1];
    }
    return part;
  });
}

type Block = { kind: "h"; level: number; text: string } | { kind: "p"; text: string }
  | { kind: "ul" | "ol"; items: string[] };

function blocks(source: string): Block[] {
  const out: Block[] = [];
  for (const line of source.replace(/\r\n?/g, "\n").split("\n")) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    const last = out[out.length - 1];
    if (heading) out.push({ kind: "h", level: heading[1].length, text: heading[2] });
    else if (bullet || numbered) {
      const kind = bullet ? "ul" : "ol";
      const text = (bullet ?? numbered)![1];
      if (last && last.kind === kind) last.items.push(text);
      else out.push({ kind, items: [text] });
    } else if (!line.trim()) out.push({ kind: "p", text: "" });
    else if (last && last.kind === "p" && last.text) last.text += "\n" + line;
    else out.push({ kind: "p", text: line });
  }
  return out.filter((b) => b.kind !== "p" || b.text);
}

export function Markdown({ source, testid, images = {} }: {
  source: string | null | undefined; testid?: string; images?: Pictures;
}) {
  return (
    <div class="content markdown" data-testid={testid}>
      {blocks(source ?? "").map((b, i) => {
        switch (b.kind) {
          case "h": {
            // The page's own title is an h2: a provider's # and ## sit below it.
            const Tag = (["h3", "h3", "h4", "h5", "h5", "h5"] as const)[b.level - 1];
            return <Tag key={i}>{inline(b.text, images)}</Tag>;
          }
          case "ul": return <ul key={i}>{b.items.map((t, j) => <li key={j}>{inline(t, images)}</li>)}</ul>;
          case "ol": return <ol key={i}>{b.items.map((t, j) => <li key={j}>{inline(t, images)}</li>)}</ol>;
          default: return <p key={i}>{b.text.split("\n").map((l, j) => <>{j > 0 && <br />}{inline(l, images)}</>)}</p>;
        }
      })}
    </div>
  );
}
