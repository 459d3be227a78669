// Progressive enhancement only: every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  document.documentElement.classList.add("js");
  // Wide tables scroll sideways in their own box on a narrow screen (WCAG 1.4.10): the page
  // itself never does, and words are not broken letter by letter. The box takes keyboard
  // focus (arrow keys scroll it) and is named after the table's caption or heading.
  for (const table of document.querySelectorAll("table.table")) {
    if (table.closest(".table-scroll")) continue;
    const box = document.createElement("div");
    box.className = "table-scroll";
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    const heading = table.caption || document.evaluate(
      "preceding::*[self::h1 or self::h2 or self::h3][1]", table, null,
      XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
    box.setAttribute("aria-label", (heading?.textContent || document.title).trim());
    table.replaceWith(box);
    box.append(table);
  }
  // Long multiple choices (countries, modules) become searchable lists of chips (Tom Select,
  // static/vendor). Without JavaScript they stay the browser's own multiple select.
  if (window.TomSelect) {
    for (const select of document.querySelectorAll("select[multiple]:not([data-native])")) {
      // Tom Select moves the label to its own search box; the hidden select keeps its name.
      const name = select.labels?.[0]?.textContent.trim();
      if (name) select.setAttribute("aria-label", name);
      new TomSelect(select, {
        plugins: ["remove_button"],
        maxOptions: null,
        hidePlaceholder: true,
        placeholder: select.dataset.placeholder || "",
      });
    }
  }
  // A checkbox marked data-check-all="name" ticks or clears every checkbox of that name in
  // its form, and shows a dash when only some are ticked.
  for (const all of document.querySelectorAll("input[data-check-all]")) {
    const boxes = () => all.form.querySelectorAll(`input[type=checkbox][name="${all.dataset.checkAll}"]`);
    const reflect = () => {
      const ticked = [...boxes()].filter((box) => box.checked).length;
      all.checked = ticked > 0 && ticked === boxes().length;
      all.indeterminate = ticked > 0 && ticked < boxes().length;
    };
    all.addEventListener("change", () => {
      for (const box of boxes()) box.checked = all.checked;
    });
    all.form.addEventListener("change", (event) => {
      if (event.target !== all) reflect();
    });
    reflect();
  }
});
