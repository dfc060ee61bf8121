// Caches the console's shell so it opens instantly and offline. It never touches the relay's
// API or the event stream: those always go to the network. The build replaces __BUILD_ID__, so
// each release gets a fresh cache and old ones are dropped.
const CACHE = 'switchboard-__BUILD_ID__';
const SHELL = ['/', '/index.html', '/boot.js', '/app.js', '/app_bg.wasm', '/lists.html', '/boot-lists.js', '/lists.js', '/lists_bg.wasm',
  '/style/main.css', '/manifest.webmanifest', '/icons/192.png'];

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
    const page = url.pathname.startsWith('/contacts') || url.pathname.startsWith('/broadcasts') ? '/lists.html' : '/index.html';
    event.respondWith(fetch(request).catch(() => caches.match(page)));
    return;
  }
  event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
});
