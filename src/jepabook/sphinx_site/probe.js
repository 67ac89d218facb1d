// Run in a loaded page by jepabook.sphinx_site.browser.check_page; returns what its checks need.
// Every image is made eager and awaited, MathJax's start-up is awaited, collapsed claims groups are
// opened.
async () => {
  const out = {};
  for (const img of document.images) { img.loading = "eager"; }
  await Promise.all([...document.images].map(img => img.decode().catch(() => null)));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));  // layout after jepabook.js

  out.mathjax = !!(window.MathJax && MathJax.version);
  const maths = [...document.querySelectorAll("span.math, div.math")];
  out.math = maths.length;
  out.untypeset = maths.filter(m => !m.querySelector("mjx-container")).map(m => m.textContent.slice(0, 60));
  out.merrors = [...document.querySelectorAll("mjx-merror")].map(e => e.textContent.slice(0, 60));
  const walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest("script, style, pre, code, mjx-container, mjx-assistive-mml, textarea, .highlight")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT });
  out.rawtex = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (const d of ["\\(", "\\[", "$$"]) {
      const i = n.textContent.indexOf(d);
      if (i >= 0) out.rawtex.push(n.textContent.slice(Math.max(0, i - 20), i + 40).replace(/\s+/g, " "));
    }
  }

  document.querySelectorAll("details.claims-group").forEach(d => { d.open = true; });
  document.querySelectorAll(".claims-scroll").forEach(s => { s.scrollLeft = 0; });
  out.viewWidth = document.documentElement.clientWidth;  // the screen, even when the page overflows it
  out.pageWidth = document.documentElement.scrollWidth;

  out.images = [...document.images].map(img => {
    const r = img.getBoundingClientRect();
    const box = (img.closest("figure") || img.parentElement).getBoundingClientRect();
    const visible = Math.max(0, Math.min(r.right, box.right, out.viewWidth) - Math.max(r.left, box.left, 0));
    return {src: img.getAttribute("src"), ok: img.complete && img.naturalWidth > 0, alt: img.getAttribute("alt"),
            content: !!img.closest("main") && !img.closest(".navbar-brand, .logo"),
            figure: !!img.closest(".cell_output"), natural: img.naturalWidth, shown: r.width,
            visible: visible, clipped: visible < r.width - 1, cue: !!img.closest(".scrolls-sideways")};
  });

  out.wide = [];
  if (out.pageWidth > out.viewWidth + 1) {
    for (const el of document.querySelectorAll("main *")) {
      const r = el.getBoundingClientRect();
      if (r.right > out.viewWidth + 1 && !el.closest(".claims-scroll, .cell_output .output, .cell_output figure, .math-wrapper, pre, .highlight")) {
        out.wide.push(el.tagName.toLowerCase() + (typeof el.className === "string" && el.className ? "." + el.className.split(" ")[0] : "")
                      + " " + Math.round(r.right) + "px");
        if (out.wide.length > 5) break;
      }
    }
  }

  const contentWidth = el => {
    const s = getComputedStyle(el);
    return el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
  };
  out.tables = [...document.querySelectorAll("table.claims-table, table.checks-table")].map(t => {
    const heads = [...t.querySelectorAll("thead th")].map(th => th.textContent.trim());
    const cells = [...t.querySelectorAll("tbody td.verdict")];
    const second = t.querySelector("thead th:nth-child(2)");
    const right = Math.max(0, ...cells.map(c => c.getBoundingClientRect().right), second ? second.getBoundingClientRect().right : 0);
    const anchor = t.querySelector("tr[id]") || (t.closest(".claims") || t).querySelector("tr[id]");
    return {cls: t.className, second: heads[1] || "", rows: t.querySelectorAll("tbody tr:not(.claim-detail)").length,
            verdicts: cells.length, right: right, id: anchor ? anchor.id : "",
            width: t.getBoundingClientRect().width, column: contentWidth(t.closest("article, main") || document.body)};
  });

  // a badge's text laid out on more than one line ("directio|n only")
  out.brokenBadges = [...document.querySelectorAll(".verdict-badge")].filter(b => {
    const range = document.createRange();
    range.selectNodeContents(b);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    return tops.size > 1;
  }).map(b => b.textContent.trim());
  return out;
}
