import type { FeatureMapsResponse, RunDetail } from '../../src/serve/api-types.js';
import { get, inlined, post } from './api.js';
import { h, pct, section } from './dom.js';
import { mapGrid } from './pictures.js';

// The run page's feature maps: one picture through the network, a test image by index or one the
// reader uploads, and every conv and pool layer's maps of it.

const maxUpload = 5 * 1024 * 1024;

export function mapsSection(d: RunDetail, name: (c: number) => string): HTMLElement {
  const body = h('div', { 'aria-live': 'polite' });
  // Only the latest request is drawn: a slow test image must not replace an upload asked for after it.
  let asked = 0;
  const ask = (what: string, answer: () => Promise<FeatureMapsResponse>) => {
    const mine = ++asked;
    body.replaceChildren(h('p', { class: 'note' }, `computing the maps of ${what}…`));
    answer().then(
      (r) => mine === asked && show(r),
      (e: Error) => mine === asked && fail(e),
    );
  };
  const show = (r: FeatureMapsResponse) => {
    const top = r.probabilities
      .map((p, c) => ({ p, c }))
      .sort((a, b) => b.p - a.p)
      .slice(0, 3);
    const [, , ih, iw] = r.input.shape;
    body.replaceChildren(
      h('h3', {}, r.title),
      h('p', {}, `prediction: ${top.map((t) => `${name(t.c)}: ${pct(t.p, 1)}`).join(', ')}`),
      h('h3', {}, `input ${ih}×${iw}, as the model takes it`),
      mapGrid(r.input, Math.max(2, Math.round(84 / iw)), undefined, ['input']),
      ...r.layers.map((l) => {
        const [n, , lh, lw] = l.shape;
        const dead = l.zero.filter(Boolean).length;
        return h(
          'div',
          {},
          h('h3', {}, `${l.name} (${l.kind}): ${n} maps of ${lh}×${lw}${dead ? `, ${dead} all 0` : ''}`),
          mapGrid(l, Math.max(1, Math.round(56 / lw)), l.zero),
        );
      }),
    );
  };
  const fail = (e: Error) => body.replaceChildren(h('p', { class: 'error' }, e.message));
  const index = h('input', { type: 'number', min: 0, value: 0, 'aria-label': 'test image index' });
  const go = () =>
    ask(`test image ${index.value}`, () => get<FeatureMapsResponse>('/api/maps', { id: d.row.id, index: index.value }));
  const file = h('input', { type: 'file', accept: 'image/png,image/jpeg', 'aria-label': 'upload an image' });
  file.addEventListener('change', () => {
    const f = file.files?.[0];
    file.value = ''; // so that choosing the same file again asks again
    if (!f) return;
    if (f.size > maxUpload) return fail(new Error(`${f.name} is ${(f.size / 1048576).toFixed(1)} MB; at most 5 MB`));
    ask(f.name, () => post<FeatureMapsResponse>('/api/maps', { id: d.row.id }, f));
  });
  go();
  return section(
    'Feature maps',
    'One image through the network: every conv and pool layer’s output, each map scaled from its own smallest (black) to largest (white) value (hover a map for its range); maps that are 0 everywhere are marked "all 0".',
    h(
      'div',
      { class: 'bar' },
      h('label', {}, 'test image ', index),
      h('button', { type: 'button', onclick: go }, 'show'),
      inlined() ? null : h('label', {}, 'or your own PNG/JPEG ', file),
    ),
    body,
  );
}
