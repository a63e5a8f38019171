// Builds lib/static/linmech-widgets.js: the renderers as one browser script (plotly stays external, loaded from
// plotly.js-dist-min by the page), for static PNG rendering outside JupyterLab (kernel-ext/static-images.ts).
const path = require("path");

module.exports = {
  mode: "production",
  entry: path.join(__dirname, "lib", "src", "static.js"),
  output: { path: path.join(__dirname, "lib", "static"), filename: "linmech-widgets.js" },
  externals: { "plotly.js-dist-min": "Plotly" },
  devtool: false,
  performance: { hints: false },
};
