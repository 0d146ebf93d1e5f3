import type {
  BankResponse,
  CellImage,
  FilterSet,
  ImagesResponse,
  PendingResponse,
  RunDetail,
} from '../../src/serve/api-types.js';
import { get, inlined } from './api.js';
import { h, pct, section } from './dom.js';
import { mapsSection } from './maps-view.js';
import { bars, colorBar, diverging, mapGrid, pngTile, sequential, tile } from './pictures.js';

// The run page's views of the model itself. The numbers come from the server, which runs the
// run's model on its test images with the library's own code; the page only draws them.

export function modelSections(d: RunDetail, onStop: (f: () => void) => void): HTMLElement[] {
  void onStop;
  const s = d.summary ?? {};
  const names = (s.classNames as string[] | undefined) ?? [];
  const cm = s.confusionMatrix as number[][] | undefined;
  const name = (c: number) => names[c] ?? String(c);
  const out: HTMLElement[] = [];
  const why = d.canCompute.reason ? h('p', { class: 'note' }, d.canCompute.reason) : null;
  if (cm) {
    const recall = cm.map(
      (row, c) =>
        row[c] /
        Math.max(
          1,
          row.reduce((a, b) => a + b, 0),
        ),
    );
    out.push(
      section(
        'Accuracy per class',
        'The share of each class’s test images classified correctly (recall).',
        bars(
          cm.map((_, c) => name(c)),
          recall,
          (v) => pct(v, 1),
        ),
      ),
    );
    out.push(confusionSection(d, cm, name));
  }
  if (d.config?.features) out.push(bankSection(d));
  if (!d.canCompute.model) {
    if (d.row.status === 'completed') out.push(section('Model', null, why));
    return out;
  }
  out.push(filtersSection(d));
  if (d.canCompute.data) out.push(mapsSection(d, name), mistakesSection(d, name));
  else out.push(section('Feature maps and mistakes', null, why));
  return out;
}

/**
 * GETs test images that need the run's test probabilities. A run without them saved has the
 * server compute them first (a pass over the test set): meanwhile `into` shows how far it is.
 */
async function getImages(
  path: string,
  params: Record<string, string | number>,
  into: HTMLElement,
): Promise<ImagesResponse | null> {
  for (let shown = false; ; ) {
    const r = await get<ImagesResponse | PendingResponse>(path, params);
    if (!('pending' in r)) return r;
    if (into.isConnected) shown = true;
    else if (shown) return null; // the page moved on
    const { done, total, queued } = r.pending;
    into.replaceChildren(
      r.note ? h('p', { class: 'error' }, r.note) : '',
      h(
        'p',
        { class: 'note', role: 'status' },
        queued > 0
          ? `The server computes the test images’ class probabilities one run at a time: waiting for ${queued} other run${queued > 1 ? 's' : ''}…`
          : `Computing the test images’ class probabilities (this run has none saved): ${done.toLocaleString('en')} of ${total.toLocaleString('en')} images…`,
      ),
      h('progress', { max: total, value: done, 'aria-label': 'test images evaluated' }),
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Test images with their true and predicted class and the probability of each class. */
function imageCards(r: ImagesResponse, name: (c: number) => string): HTMLElement {
  const card = (im: CellImage) => {
    const top = im.probabilities
      .map((p, c) => ({ p, c }))
      .sort((a, b) => b.p - a.p)
      .slice(0, 3);
    return h(
      'figure',
      { class: 'card' },
      pngTile(im.image, Math.max(1, Math.round(56 / im.image.height))),
      h(
        'figcaption',
        {},
        h('b', {}, `#${im.index}`),
        ` true ${name(im.label)}, predicted ${name(im.predicted)}`,
        h('br'),
        top.map((t) => `${name(t.c)}: ${pct(t.p, 1)}`).join(', '),
      ),
    );
  };
  return h(
    'div',
    {},
    r.note ? h('p', { class: 'error' }, r.note) : '',
    h('p', { class: 'note' }, `${r.images.length} of ${r.total} images`),
    h('div', { class: 'cards' }, r.images.map(card)),
  );
}

function confusionSection(d: RunDetail, cm: number[][], name: (c: number) => string): HTMLElement {
  const shown = h('div', { class: 'cell-images', 'aria-live': 'polite' });
  const canClick = d.canCompute.data;
  const open = async (t: number, p: number) => {
    shown.replaceChildren(h('p', { class: 'note' }, `true ${name(t)}, predicted ${name(p)}: loading…`));
    try {
      const r = await getImages('/api/cell', { id: d.row.id, label: t, predicted: p }, shown);
      if (r) shown.replaceChildren(h('h3', {}, `True ${name(t)}, predicted ${name(p)}`), imageCards(r, name));
    } catch (e) {
      shown.replaceChildren(h('p', { class: 'error' }, (e as Error).message));
    }
  };
  const grid = h(
    'table',
    { class: 'confusion' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'true \\ predicted'),
        cm.map((_, c) => h('th', {}, name(c))),
      ),
    ),
    h(
      'tbody',
      {},
      cm.map((row, t) => {
        const total = Math.max(
          1,
          row.reduce((a, b) => a + b, 0),
        );
        return h(
          'tr',
          {},
          h('th', {}, name(t)),
          row.map((v, p) => {
            const share = v / total;
            const [r, g, b] = sequential(Math.sqrt(share));
            const style = `background:rgb(${r | 0},${g | 0},${b | 0});color:${share > 0.35 ? '#fff' : '#111'}`;
            const label = `true ${name(t)}, predicted ${name(p)}: ${v} images (${pct(share, 1)} of the row)`;
            return h(
              'td',
              { style },
              canClick && v > 0
                ? h('button', { type: 'button', 'aria-label': label, title: label, onclick: () => void open(t, p) }, v)
                : h('span', { title: label }, v),
            );
          }),
        );
      }),
    ),
  );
  return section(
    'Confusion matrix',
    `Rows are true classes, columns predictions; the colour is the square root of the share of the row.${canClick ? ' Click a cell to see its images.' : ''}`,
    h('div', { class: 'scroll' }, grid),
    colorBar(0, 1, (t) => sequential(Math.sqrt(t)), false, 'share of the row'),
    shown,
  );
}

/**
 * Filter tiles drawn at first, and more each time "show more" is pressed: a wide layer has tens of
 * thousands (convts-cifar: 65,536 in each of three), and drawing them all at once stalls the page
 * for minutes.
 */
const tilesAtOnce = 1024;

/** A layer's filters as tiles on one diverging colour scale, numbered filter·input channel. */
function filterTiles(s: FilterSet): HTMLElement[] {
  const m = Math.max(Math.abs(s.min), Math.abs(s.max)) || 1;
  const per = s.shape[0];
  const scale = Math.max(2, Math.round(28 / s.shape[3]));
  const grid = h('div', { class: 'tiles' });
  const more = h('button', { type: 'button' });
  const draw = (n: number) => {
    const from = grid.childElementCount;
    for (let i = from; i < Math.min(per, from + n); i++)
      grid.append(
        h(
          'figure',
          { class: 'tile' },
          tile(s, i, scale, -m, m, (v) => diverging(v / m)),
          h('figcaption', {}, s.inChannels === 1 ? String(i) : `${Math.floor(i / s.inChannels)}·${i % s.inChannels}`),
        ),
      );
    const left = per - grid.childElementCount;
    more.textContent = `showing ${grid.childElementCount.toLocaleString('en')} of ${per.toLocaleString('en')} — show ${Math.min(left, tilesAtOnce * 4).toLocaleString('en')} more`;
    more.hidden = left === 0;
  };
  more.onclick = () => draw(tilesAtOnce * 4);
  draw(tilesAtOnce);
  return [grid, h('div', { class: 'bar' }, more), colorBar(-m, m, diverging, true, `${s.name} weight`)];
}

/** Task 1: the fixed filter bank that made the run's features, and its maps of a test image. */
function bankSection(d: RunDetail): HTMLElement {
  const body = h('div', { 'aria-live': 'polite' }, h('p', { class: 'note' }, 'loading…'));
  const index = h('input', { type: 'number', min: 0, value: 0, 'aria-label': 'test image index for the bank' });
  const show = (r: BankResponse) => {
    const parts: (HTMLElement | null)[] = [
      h('p', {}, `Feature file ${r.file}, bank ${r.bankName ?? 'unknown'}.`),
      r.reason ? h('p', { class: 'note' }, r.reason) : null,
    ];
    if (r.filters)
      parts.push(
        h('h3', {}, `${r.filters.shape[0]} filters of ${r.filters.shape[2]}×${r.filters.shape[3]}`),
        ...filterTiles(r.filters),
      );
    if (r.maps)
      parts.push(
        h('h3', {}, `Responses to ${r.maps.title}: ${r.maps.maps.shape[2]}×${r.maps.maps.shape[3]} each`),
        mapGrid(r.maps.input, Math.max(2, Math.round(84 / r.maps.input.shape[2]))),
        mapGrid(r.maps.maps, Math.max(1, Math.round(48 / r.maps.maps.shape[3]))),
      );
    body.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  };
  const go = () =>
    get<BankResponse>('/api/bank', { id: d.row.id, index: index.value }).then(show, (e: Error) =>
      body.replaceChildren(h('p', { class: 'error' }, e.message)),
    );
  void go();
  return section(
    'Filter bank',
    'The fixed bank the run’s features were extracted with (not trained): each filter on one colour scale, then its response to a test image before pooling, each map scaled on its own.',
    inlined()
      ? null
      : h(
          'div',
          { class: 'bar' },
          h('label', {}, 'test image ', index),
          h('button', { type: 'button', onclick: () => void go() }, 'show'),
        ),
    body,
  );
}

function filtersSection(d: RunDetail): HTMLElement {
  const body = h('div', {}, h('p', { class: 'note' }, 'loading…'));
  get<FilterSet[]>('/api/filters', { id: d.row.id }).then(
    (sets) =>
      body.replaceChildren(
        sets.length ? '' : h('p', { class: 'note' }, 'The model has no conv layers.'),
        ...sets.map((s) =>
          h(
            'div',
            {},
            h(
              'h3',
              {},
              `${s.name}: ${s.shape[0] / s.inChannels} filters × ${s.inChannels} input channels of ${s.shape[2]}×${s.shape[3]}`,
            ),
            ...filterTiles(s),
          ),
        ),
      ),
    (e: Error) => body.replaceChildren(h('p', { class: 'error' }, e.message)),
  );
  return section(
    'Filters',
    'Every conv layer’s weights, one tile per output filter × input channel (numbered in that order), on one colour scale per layer.',
    body,
  );
}

function mistakesSection(d: RunDetail, name: (c: number) => string): HTMLElement {
  const body = h('div', {}, h('p', { class: 'note' }, 'loading…'));
  getImages('/api/mistakes', { id: d.row.id, limit: 24 }, body).then(
    (r) => r && body.replaceChildren(imageCards(r, name)),
    (e: Error) => body.replaceChildren(h('p', { class: 'error' }, e.message)),
  );
  return section('Worst mistakes', 'Misclassified test images whose true class got the lowest probability.', body);
}
