import { h } from './dom.js';
import { runView } from './run-view.js';
import { runsView } from './runs-view.js';
import { sweepView } from './sweep-view.js';

// The page's router: #/ (runs and comparison), #/run/<id>, #/sweep/<id>. A saved report opens
// on the run it was written for.

const main = document.getElementById('main')!;
let current: { el: HTMLElement; stop: () => void } | null = null;

function route(): void {
  current?.stop();
  const hash = location.hash || (window.CONVTS_DATA ? String(window.CONVTS_DATA['#'] ?? '#/') : '#/');
  const [, kind, rest] = /^#\/(run|sweep)\/([^?]+)/.exec(hash) ?? [];
  const id = rest ? decodeURIComponent(rest) : '';
  current = kind === 'run' ? runView(id) : kind === 'sweep' ? sweepView(id) : runsView();
  main.replaceChildren(current.el);
  document.title = id ? `${id} — convts` : 'convts runs';
  const nav = document.getElementById('crumbs')!;
  nav.replaceChildren(
    window.CONVTS_DATA ? h('span', {}, 'convts report') : h('a', { href: '#/' }, 'all runs'),
    id ? h('span', {}, ` / ${kind} ${id}`) : '',
  );
  window.scrollTo(0, 0);
}

window.addEventListener('hashchange', route); // ticking runs rewrites the hash with replaceState, which does not fire this
// A saved report holds one run: its brand link leads back to that run, not to a runs list it lacks.
if (window.CONVTS_DATA) document.querySelector('.brand')?.setAttribute('href', String(window.CONVTS_DATA['#']));
// …and has no server to train in the browser with.
if (window.CONVTS_DATA) document.querySelector('.playground-link')?.remove();
route();
