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
