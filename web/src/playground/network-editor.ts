// The network: a built-in or a JSON spec typed in the editor, checked as it is typed (spec-check.ts).
import { builtinNames, builtinSpec, fitToData } from '../../../src/model/builtins.js';
import type { ModelSpec } from '../../../src/model/spec.js';
import { checkSpec } from './spec-check.js';

export interface NetworkEditor {
  /** The spec as last checked, or null with the problem in the status line. */
  spec(): ModelSpec | null;
  problem(): string;
  /**
   * Shows this built-in, made for the loaded data (its input shape and one output per class), unless
   * the user is editing a custom spec, which is checked against the new data instead.
   */
  suggest(name: string): void;
}

export function networkEditor(
  builtin: HTMLSelectElement,
  editor: HTMLTextAreaElement,
  status: HTMLElement,
  data: () => { shape: number[]; classNames: string[] } | undefined,
): NetworkEditor {
  let timer = 0;
  let spec: ModelSpec | null = null;
  const check = () => {
    clearTimeout(timer);
    const d = data();
    const r = checkSpec(editor.value, d?.shape, d?.classNames.length);
    spec = r.spec;
    status.textContent = r.message;
    status.classList.toggle('bad', !r.spec);
  };
  // Typing is checked once it pauses; a built-in chosen (or suggested by new data) at once, so Start takes it.
  const changed = () => {
    clearTimeout(timer);
    timer = window.setTimeout(check, 150);
  };
  const show = (name: string) => {
    const d = data();
    const spec = builtinSpec(name);
    editor.value = JSON.stringify(d ? fitToData(spec, d.shape, d.classNames.length) : spec, null, 1);
    check();
  };
  builtin.append(...builtinNames.map((n) => new Option(n, n)), new Option('custom', 'custom'));
  builtin.onchange = () => (builtin.value === 'custom' ? changed() : show(builtin.value));
  editor.oninput = () => {
    builtin.value = 'custom';
    changed();
  };
  show('seed-mnist');
  const suggest = (name: string) => {
    if (builtin.value === 'custom') return check();
    builtin.value = name;
    show(name);
  };
  return { spec: () => spec, problem: () => status.textContent ?? '', suggest };
}
