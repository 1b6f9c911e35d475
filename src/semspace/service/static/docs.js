// /api/docs: Swagger UI (files of the installed swagger-ui-bundle-v2 package, served under /api/docs/assets/) on
// this service's schema. A file of its own, not an inline script, so the page's Content-Security-Policy holds.
"use strict";
window.addEventListener("load", () => {
  const token = sessionStorage.getItem("semspace-token"); // the page's token, when this tab has one
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: (req) => {
      if (token && !req.headers.Authorization) req.headers.Authorization = `Bearer ${token}`;
      return req;
    },
  });
});
