// Loaded by index.html before redoc.standalone.js and served at /redoc/redoc-offline.js.
//
// ReDoc 2.x shows the Redocly logo from a CDN in its sidebar footer. This page stays offline:
// an image source on another origin is swapped for an empty data: URL before the browser can
// request it, so the image fails at once and ReDoc's own error handler removes it. (The
// Content-Security-Policy would refuse the request anyway, but with an error in the console.)
(function () {
  "use strict";
  var empty = "data:,";
  function foreign(value) {
    try {
      var url = new URL(String(value), document.baseURI);
      return url.protocol !== "data:" && url.protocol !== "blob:" && url.origin !== location.origin;
    } catch (e) {
      return false;
    }
  }
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) {
      src.set.call(this, foreign(value) ? empty : value);
    }
  });
  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && String(name).toLowerCase() === "src" && foreign(value)) {
      value = empty;
    }
    return setAttribute.call(this, name, value);
  };
})();
