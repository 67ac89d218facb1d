// A link to a claim (#claim-<chapter>-<name>) that sits in a collapsed group of a long claims
// table opens that group first, so the row is visible where the browser scrolls to.
(function () {
  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var row = id && document.getElementById(id);
    if (!row) return;
    for (var el = row.parentElement; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") el.open = true;
    }
    row.scrollIntoView();
  }
  window.addEventListener("hashchange", openTarget);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", openTarget);
  else openTarget();
})();

// Wide figures (multi-panel, over 700 px as drawn) get the class "wide-figure": on a phone the
// stylesheet shows them at no less than 600 px inside a box that scrolls sideways, so their tick
// labels stay legible instead of shrinking with the screen.
(function () {
  function mark(img) {
    if (img.naturalWidth > 700) img.classList.add("wide-figure");
  }
  function markAll() {
    document.querySelectorAll(".cell_output img").forEach(function (img) {
      if (img.complete) mark(img);
      else img.addEventListener("load", function () { mark(img); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markAll);
  else markAll();
})();
