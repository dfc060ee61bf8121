// Loads the contacts and broadcasts bundle (the console's second WebAssembly module) and
// registers the service worker. A file of its own, so the Content-Security-Policy can forbid
// inline scripts.
import init from '/lists.js';

await init();
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('service worker not registered', e));
}
