// Breadboard service worker: shows web push alerts and focuses the dashboard when one is clicked.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { alert: { symbol: "Breadboard", message: event.data ? event.data.text() : "New alert" } };
  }
  const alert = data.alert || {};
  event.waitUntil(
    self.registration.showNotification(`${alert.symbol || "Breadboard"} alert`, {
      body: alert.message || "New alert",
      tag: data.idempotencyKey || alert.id,
      data: { url: "/alerts" },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil((async () => {
    const all = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = all.find((c) => new URL(c.url).pathname === "/alerts");
    if (open) return open.focus();
    return self.clients.openWindow("/alerts");
  })());
});
