// Starts Swagger UI on /docs from a file, not inline code, so that the page keeps the site's
// strict Content-Security-Policy (api/docs_pages.py).
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  if (root && typeof SwaggerUIBundle === "function") {
    SwaggerUIBundle({ url: root.dataset.spec, dom_id: "#swagger-ui", deepLinking: true });
  }
})();
