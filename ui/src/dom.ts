// A tiny element builder: text always goes in as text, never as HTML.

import { levelColor } from "./i18n";

type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Ratings per level as one coloured bar, lowest level on the left. */
export function levelBar(levels: number[], scale: number) {
  const total = levels.reduce((a, b) => a + b, 0) || 1;
  const bar = h("div", { class: "levels", role: "img" });
  bar.setAttribute("aria-label", levels.join(" / "));
  levels.forEach((n, i) => {
    if (!n) return;
    const seg = h("span", { title: String(n) }, n);
    seg.style.flexGrow = String(n / total);
    seg.style.background = levelColor(i + 1, scale);
    bar.append(seg);
  });
  return bar;
}
