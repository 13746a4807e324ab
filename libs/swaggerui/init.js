// init.js starts Swagger UI on the documents listed, as a JSON array of
// {url, name}, in the data-specs attribute of #swagger-ui, which the Go
// handler writes. It is a file of its own so the page runs no inline script.
"use strict";

(function () {
  var root = document.getElementById("swagger-ui");
  var specs = JSON.parse(root.getAttribute("data-specs"));
  var config = {
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout",
    // No badge from the public validator service: it would send the
    // document's URL off-site.
    validatorUrl: null,
  };
  if (specs.length === 1) {
    config.url = specs[0].url;
  } else {
    // Several documents: the standalone layout's top bar switches between them.
    config.urls = specs;
    config.presets.push(SwaggerUIStandalonePreset);
    config.layout = "StandaloneLayout";
  }
  window.ui = SwaggerUIBundle(config);
})();
