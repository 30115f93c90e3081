/** A few lines of DOM building instead of a framework: views build once and then write only what changed. */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (typeof v === 'function') el.addEventListener(k.replace(/^on/, '').toLowerCase(), v);
      else if (k === 'class') el.className = String(v);
      else if (k in el && typeof (el as unknown as Record<string, unknown>)[k] !== 'function' && !k.startsWith('data-') && !k.startsWith('aria-')) (el as unknown as Record<string, unknown>)[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A text node that is written only when its text changes. */
export class LiveText {
  readonly node = document.createTextNode('');
  set(text: string): void {
    if (this.node.data !== text) this.node.data = text;
  }
}

/** Sets a class name only when it changes. */
export function setClass(el: Element, name: string): void {
  if (el.className !== name) el.className = name;
}
