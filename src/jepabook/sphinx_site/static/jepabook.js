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

// Figures keep their smallest text legible: an image is never shown narrower than makes the
// smallest text the book's figures use (SMALLEST_TEXT_PX at the image's natural size,
// jepabook.core.figures.SMALLEST_TEXT_PT) fall under LEAST_TEXT_PX. Where that is wider than the
// column (a wide figure on a phone) the figure scrolls sideways and says so in its caption
// (class "scrolls-sideways"), so the panels off the screen's edge are not silently cut.
(function () {
  var SMALLEST_TEXT_PX = 17.5, LEAST_TEXT_PX = 9;  // 11.5 pt at 110 dpi is 17.57 px; rounded down
  function fit(img) {
    if (!img.naturalWidth) return;
    var least = Math.ceil(img.naturalWidth * LEAST_TEXT_PX / SMALLEST_TEXT_PX);
    img.style.minWidth = Math.min(least, img.naturalWidth) + "px";
    var box = img.closest("figure") || img.parentElement;
    if (box) box.classList.toggle("scrolls-sideways", box.scrollWidth > box.clientWidth + 1);
  }
  function fitAll() {
    document.querySelectorAll(".cell_output img").forEach(function (img) {
      if (img.complete) fit(img);
      else img.addEventListener("load", function () { fit(img); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fitAll);
  else fitAll();
  window.addEventListener("resize", fitAll);
})();
