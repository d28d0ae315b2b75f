import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/**
 * The security headers of every response, through Hono's `secureHeaders`: a Content-Security-Policy that runs only
 * this server's own script files (islands use no inline script) and lets no page frame it, `nosniff`, a
 * Referrer-Policy and a Permissions-Policy that turns off what a price dashboard never uses.
 *
 * Inline styles stay allowed: the charts and islands set element styles, which cannot run code.
 */
export function securityHeaders(): MiddlewareHandler {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", "data:"],
      connectSrc: ["'self'"],
      workerSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    xFrameOptions: "DENY",
    xContentTypeOptions: "nosniff",
    referrerPolicy: "strict-origin-when-cross-origin",
    permissionsPolicy: {
      camera: [],
      microphone: [],
      geolocation: [],
      payment: [],
      usb: [],
    },
    // The dashboard opens no cross-origin windows and embeds nothing cross-origin.
    crossOriginEmbedderPolicy: false,
  });
}
