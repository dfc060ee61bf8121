// Caches the console's shell so it opens instantly and offline. It never touches the relay's
// API or the event stream: those always go to the network. The build replaces __BUILD_ID__, so
// each release gets a fresh cache and old ones are dropped; it also lists the pages' chunks
// (__CHUNKS__), which are cached with the shell so every page opens offline.
const CACHE = 'switchboard-__BUILD_ID__';
const SHELL = ['/', '/index.html', '/boot.js', '/app.js', '/app_bg.wasm', '/style/main.css', '/manifest.webmanifest', '/icons/192.png']
  .concat(__CHUNKS__);

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('switchboard-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/webhooks/') || url.pathname === '/metrics' || url.pathname === '/healthz') return;
  if (request.mode === 'navigate') {
    event.respondWith(fetch(request).catch(() => caches.match('/index.html')));
    return;
  }
  event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
});
